"""The beat schedule as Celery computes it, against Django's clock."""
from datetime import datetime, timedelta, timezone

import pytest
from django.conf import settings
from django.utils import timezone as dj_timezone

from talentflow.celery import PERIODIC_TASKS, app, schedule_preview

pytestmark = pytest.mark.unit

UTC = timezone.utc


@pytest.mark.bug_b1
def test_daily_report_next_run_is_six_utc():
    at = datetime(2026, 3, 2, 5, 0, tzinfo=UTC)
    assert schedule_preview("daily-activity-report", at, at)["next_run"] == datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


@pytest.mark.bug_b1
def test_weekly_report_runs_monday_morning_utc():
    at = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)  # a Wednesday
    assert schedule_preview("weekly-hiring-report", at, at)["next_run"] == datetime(2026, 3, 9, 7, 30, tzinfo=UTC)


@pytest.mark.bug_b1
def test_daily_report_is_due_just_after_six_utc():
    last = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)
    assert schedule_preview("daily-activity-report", last, datetime(2026, 3, 2, 6, 0, 30, tzinfo=UTC))["due"] is True
    assert schedule_preview("daily-activity-report", last, datetime(2026, 3, 2, 5, 59, tzinfo=UTC))["due"] is False


@pytest.mark.bug_b1
def test_celery_clock_agrees_with_django():
    celery_now = app.now()
    django_now = dj_timezone.now()
    assert celery_now.utcoffset() == django_now.utcoffset() == timedelta(0)
    assert abs(celery_now - django_now) < timedelta(seconds=5)
    assert str(app.timezone) == settings.TIME_ZONE


def test_every_periodic_task_is_registered():
    app.loader.import_default_modules()
    for name, (task, _) in PERIODIC_TASKS.items():
        assert task in app.tasks, f"{name}: task {task} is not registered"


def test_dedup_runs_nightly():
    at = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
    assert schedule_preview("candidate-deduplication", at, at)["next_run"] == datetime(2026, 3, 3, 2, 15, tzinfo=UTC)
