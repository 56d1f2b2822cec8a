"""Connection handling, query counts, and the migrations."""
import io
from unittest import mock

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.management import call_command
from django.db import close_old_connections, connection
from django.db.migrations.loader import MigrationLoader
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from apps.candidates.views import candidate_queryset
from tests.support import Observer, committed_db, run_threads

pytestmark = pytest.mark.integration


# ------------------------------------------------- A1: persistent connections


def _backend_pid():
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _request_cycle(fn):
    """What Django does around each request: recycle unusable or old connections."""
    close_old_connections()
    try:
        return fn()
    finally:
        close_old_connections()


def _wsgi_get(path, user=None, api=None):
    environ = RequestFactory().get(path).environ
    if user is not None:
        from apps.accounts.oauth import mint_access

        environ["HTTP_AUTHORIZATION"] = f"Bearer {mint_access(user)}"
    statuses = []
    body = b"".join(WSGIHandler()(environ, lambda status, headers: statuses.append(status)))
    return int(statuses[0].split()[0]), body


@pytest.mark.bug_a1
@committed_db()
def test_query_after_server_dropped_the_connection():
    observer = Observer()

    def scenario():
        first = _request_cycle(_backend_pid)
        observer.terminate(first)
        second = _request_cycle(_backend_pid)
        return first, second

    try:
        (worker,) = run_threads(scenario)
    finally:
        observer.close()
    assert worker.error is None, worker.error
    first, second = worker.result
    assert first != second


@pytest.mark.bug_a1
@committed_db()
def test_health_endpoint_recovers_after_connection_loss():
    observer = Observer()

    def scenario():
        assert _wsgi_get("/api/health/")[0] == 200
        observer.terminate(_request_cycle(_backend_pid))
        return _wsgi_get("/api/health/")

    try:
        (worker,) = run_threads(scenario)
    finally:
        observer.close()
    assert worker.error is None, worker.error
    assert worker.result[0] == 200


@pytest.mark.bug_a1
@committed_db()
def test_api_request_recovers_after_connection_loss(company, recruiter, make_candidate):
    make_candidate(company)
    observer = Observer()

    def scenario():
        assert _wsgi_get("/api/candidates/", recruiter)[0] == 200
        observer.terminate(_request_cycle(_backend_pid))
        return _wsgi_get("/api/candidates/", recruiter)

    try:
        (worker,) = run_threads(scenario)
    finally:
        observer.close()
    assert worker.error is None, worker.error
    assert worker.result[0] == 200


@pytest.mark.bug_a1
@committed_db()
def test_connections_are_recycled_after_max_age():
    import django.db.backends.base.base as base

    def scenario():
        first = _request_cycle(_backend_pid)
        real = base.time.monotonic
        with mock.patch.object(base.time, "monotonic", lambda: real() + 24 * 3600):
            close_old_connections()
        return first, _request_cycle(_backend_pid)

    (worker,) = run_threads(scenario)
    assert worker.error is None, worker.error
    first, second = worker.result
    assert first != second


@committed_db()
def test_connection_is_reused_between_requests():
    def scenario():
        return _request_cycle(_backend_pid), _request_cycle(_backend_pid)

    (worker,) = run_threads(scenario)
    first, second = worker.result
    assert first == second


# -------------------------------------------------------------- A2: N+1


def _count_queries(fn):
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries)


def _with_candidates(company, make_candidate, n):
    for i in range(n):
        make_candidate(company, skills={"python": 1 + i % 5, "sql": 3, f"skill-{i}": 2})


@pytest.mark.bug_a2
def test_candidate_list_query_count_does_not_grow(company, recruiter, make_candidate, api, db):
    client = api(recruiter)
    _with_candidates(company, make_candidate, 2)
    small = _count_queries(lambda: client.get("/api/candidates/"))
    _with_candidates(company, make_candidate, 10)
    large = _count_queries(lambda: client.get("/api/candidates/"))
    assert large == small


@pytest.mark.bug_a2
def test_candidate_list_uses_few_queries(company, recruiter, make_candidate, api, django_assert_max_num_queries, db):
    _with_candidates(company, make_candidate, 8)
    client = api(recruiter)
    with django_assert_max_num_queries(6):
        response = client.get("/api/candidates/")
    assert len(response.json()["results"]) == 8
    assert all(len(c["skills"]) == 3 for c in response.json()["results"])


@pytest.mark.bug_a2
def test_search_query_count_does_not_grow(company, recruiter, make_candidate, api, db):
    client = api(recruiter)
    _with_candidates(company, make_candidate, 2)
    small = _count_queries(lambda: client.get("/api/candidates/search/?q=doe"))
    _with_candidates(company, make_candidate, 9)
    large = _count_queries(lambda: client.get("/api/candidates/search/?q=doe"))
    assert large == small


@pytest.mark.bug_a2
def test_job_matches_query_count_does_not_grow(company, recruiter, make_candidate, make_job, api, db):
    job = make_job(company, requirements=[("python", 0.5, 3), ("sql", 0.5, 3)])
    client = api(recruiter)
    _with_candidates(company, make_candidate, 2)
    small = _count_queries(lambda: client.get(f"/api/jobs/{job.pk}/matches/"))
    _with_candidates(company, make_candidate, 9)
    large = _count_queries(lambda: client.get(f"/api/jobs/{job.pk}/matches/"))
    assert large == small


@pytest.mark.bug_a2
def test_candidate_queryset_loads_skills_with_proficiency_in_bulk(company, make_candidate, db):
    _with_candidates(company, make_candidate, 6)

    def walk():
        for c in candidate_queryset(company.pk):
            [(link.skill.slug, link.proficiency) for link in c.candidate_skills.all()]

    assert _count_queries(walk) == 2


# --------------------------------------------------------- S7: migrations


@pytest.mark.bug_s7
def test_migration_graph_is_consistent():
    loader = MigrationLoader(None, ignore_no_migrations=True)
    loader.graph.validate_consistency()
    leaf = loader.graph.leaf_nodes("candidates")
    assert leaf == [("candidates", "0005_candidate_sourced_for")]


@pytest.mark.bug_s7
def test_models_match_migrations(db):
    out = io.StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


@pytest.mark.bug_s7
def test_sqlmigrate_candidates_0005(db):
    out = io.StringIO()
    call_command("sqlmigrate", "candidates", "0005", stdout=out)
    sql = out.getvalue()
    assert "sourced_for_id" in sql and "jobs_job" in sql


@pytest.mark.bug_s7
def test_migration_plan_orders_jobs_before_candidate_link():
    loader = MigrationLoader(None, ignore_no_migrations=True)
    plan = loader.graph.forwards_plan(("candidates", "0005_candidate_sourced_for"))
    assert plan.index(("jobs", "0001_initial")) < plan.index(("candidates", "0005_candidate_sourced_for"))
    assert plan.index(("candidates", "0004_backfill_email_normalized")) < plan.index(("candidates", "0005_candidate_sourced_for"))


@pytest.mark.bug_s7
def test_database_is_fully_migrated(db):
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    assert executor.migration_plan(executor.loader.graph.leaf_nodes()) == []


def test_backfill_migration_normalises_emails(db):
    import importlib

    from django.apps import apps as global_apps

    from apps.accounts.models import Company
    from apps.candidates.models import Candidate

    module = importlib.import_module("apps.candidates.migrations.0004_backfill_email_normalized")
    company = Company.objects.create(name="X", slug="x")
    c = Candidate.objects.create(company=company, first_name="A", email=" Mixed@Case.Example ")
    Candidate.objects.filter(pk=c.pk).update(email_normalized="")
    module.backfill(global_apps, None)
    c.refresh_from_db()
    assert c.email_normalized == "mixed@case.example"
