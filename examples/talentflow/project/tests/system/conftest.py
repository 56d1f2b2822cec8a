"""A real Celery worker for the workflows that need a result backend (chords)."""
import pytest

from tests.support import CeleryWorker


@pytest.fixture(scope="session")
def celery_worker():
    """One worker process for the session, against the private Redis; stopped by pid."""
    from talentflow.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = False
    worker = CeleryWorker()
    try:
        worker.wait_ready(app)
        yield worker
    finally:
        worker.stop()
        app.conf.task_always_eager = previous


@pytest.fixture
def real_worker(celery_worker):
    """Send tasks to the worker for the duration of one test."""
    from talentflow.celery import app

    app.conf.task_always_eager = False
    yield celery_worker
    app.conf.task_always_eager = True
