"""The analytics query cache: values, invalidation, and its Redis connections."""
import pytest
import redis
from django.conf import settings

from apps.analytics import caching
from apps.analytics import tasks as analytics
from tests.support import run_threads

pytestmark = pytest.mark.integration

POOL_SIZE = 3


@pytest.fixture
def small_pool(settings):
    caching.close_pool()
    settings.ANALYTICS_CACHE = {**settings.ANALYTICS_CACHE, "MAX_CONNECTIONS": POOL_SIZE}
    yield
    caching.close_pool()


def _cache_clients(redis_admin):
    """Connections open on the analytics cache's Redis database, not counting our own."""
    # Parsed the way redis-py parses it: `redis://host:port/3` and
    # `unix:///path/redis.sock?db=3` both name database 3.
    url = settings.ANALYTICS_CACHE["URL"]
    db = str(redis.ConnectionPool.from_url(url).connection_kwargs.get("db", 0))
    on_db = [c for c in redis_admin.client_list() if c.get("db") == db]
    assert on_db, f"no client of Redis database {db} ({url}), not even this test's own"
    return len(on_db) - 1


def _boom():
    raise ValueError("report query failed")


# ------------------------------------------------------------------ B3


@pytest.mark.bug_b3
def test_cache_still_works_after_many_failed_computations(small_pool):
    for i in range(POOL_SIZE + 2):
        with pytest.raises(ValueError):
            caching.cached_query(f"failing-{i}", _boom)
    assert caching.cached_query("healthy", lambda: {"ok": 1}) == {"ok": 1}


@pytest.mark.bug_b3
def test_unserialisable_result_does_not_leak(small_pool):
    for i in range(POOL_SIZE + 1):
        with pytest.raises(TypeError):
            caching.cached_query(f"bad-{i}", lambda: {"when": object()})
    assert caching.cached_query("fine", lambda: [1, 2]) == [1, 2]


@pytest.mark.bug_b3
def test_summary_endpoint_survives_failing_reports(small_pool, company, recruiter, api, db):
    for i in range(POOL_SIZE + 1):
        with pytest.raises(ValueError):
            caching.cached_query(f"report:{company.pk}:broken-{i}", _boom)
    response = api(recruiter).get("/api/analytics/summary/")
    assert response.status_code == 200
    assert response.json() == {"candidates": 0, "open_jobs": 0, "applications": 0}


@pytest.mark.bug_b3
def test_every_pooled_connection_is_available_after_errors(small_pool):
    for i in range(2):
        with pytest.raises(ValueError):
            caching.cached_query(f"failing-{i}", _boom)
    pool = caching.get_pool()
    held = [pool.get_connection() for _ in range(POOL_SIZE)]
    for conn in held:
        pool.release(conn)
    assert len(held) == POOL_SIZE


def test_cached_value_is_reused(small_pool):
    calls = []
    assert caching.cached_query("k", lambda: calls.append(1) or 41) == 41
    assert caching.cached_query("k", lambda: calls.append(1) or 42) == 41
    assert calls == [1]


def test_invalidate_forces_recompute(small_pool):
    caching.cached_query("k", lambda: 1)
    assert caching.invalidate("k") == 1
    assert caching.cached_query("k", lambda: 2) == 2


def test_values_expire(small_pool, redis_admin):
    caching.cached_query("ttl", lambda: 1, ttl=120)
    assert 0 < redis_admin.ttl("analytics:ttl") <= 120


# ------------------------------------------------------------------ F3


@pytest.mark.bug_f3
def test_distinct_queries_share_the_pool(small_pool, redis_admin):
    for i in range(25):
        caching.cached_query(f"q-{i}", lambda i=i: i)
    assert _cache_clients(redis_admin) <= POOL_SIZE


@pytest.mark.bug_f3
def test_repeated_hits_share_the_pool(small_pool, redis_admin):
    caching.cached_query("hot", lambda: "v")
    for _ in range(25):
        assert caching.cached_query("hot", _boom) == "v"
    assert _cache_clients(redis_admin) <= POOL_SIZE


@pytest.mark.bug_f3
def test_report_reads_share_the_pool(small_pool, redis_admin, company, recruiter, api, db):
    client = api(recruiter)
    for kind in ("pipeline", "hiring", "activity"):
        analytics.generate_report(company.pk, kind)
    for _ in range(6):
        for kind in ("pipeline", "hiring", "activity"):
            assert client.get(f"/api/analytics/reports/{kind}/").status_code == 200
        assert client.get("/api/analytics/summary/").status_code == 200
    assert _cache_clients(redis_admin) <= POOL_SIZE


@pytest.mark.bug_f3
def test_parallel_queries_stay_within_the_pool(small_pool, redis_admin):
    def work(n):
        return lambda: [caching.cached_query(f"t{n}-{i}", lambda: i) for i in range(10)]

    workers = run_threads(*(work(n) for n in range(POOL_SIZE)), db=False)
    assert all(w.error is None for w in workers), [w.error for w in workers]
    assert _cache_clients(redis_admin) <= POOL_SIZE
