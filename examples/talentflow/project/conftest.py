"""Fixtures shared by the whole suite: companies, users by role, API clients,
factories, Redis hygiene. Helpers for races, fresh imports, loopback servers
and the Celery worker live in ``tests/support.py``."""
import os

import pytest
import redis
from django.conf import settings

CATEGORIES = ("unit", "integration", "system", "security")


def pytest_collection_modifyitems(config, items):
    """Every test carries exactly the category marker of its directory."""
    problems = []
    for item in items:
        parts = item.nodeid.split("/")
        directory = parts[1] if len(parts) > 2 and parts[0] == "tests" else None
        marks = {m.name for m in item.iter_markers() if m.name in CATEGORIES}
        if directory not in CATEGORIES or marks != {directory}:
            problems.append(f"{item.nodeid}: category markers {sorted(marks)} (directory {directory})")
    if problems:
        raise pytest.UsageError("tests with a wrong category marker:\n" + "\n".join(problems))


_redis_clients = {}


def _redis(db):
    if db not in _redis_clients:
        from talentflow.settings.base import redis_db_url  # TCP or unix socket

        _redis_clients[db] = redis.Redis.from_url(redis_db_url(db))
    return _redis_clients[db]


@pytest.fixture(autouse=True)
def _clean_caches():
    """Each test starts with empty caches (Django cache and analytics cache)."""
    _redis(0).flushdb()
    _redis(3).flushdb()
    yield


@pytest.fixture
def redis_admin():
    return _redis(3)


# ---------------------------------------------------------------- database


@pytest.fixture(scope="session")
def django_db_setup(
    request, django_test_environment, django_db_blocker, django_db_use_migrations,
    django_db_keepdb, django_db_createdb, django_db_modify_db_settings,
):
    """pytest-django's setup, for the default database whatever the markers
    (``committed`` tests need it too), without serialising its contents (no
    test uses serialized rollback)."""
    from django.test.utils import setup_databases, teardown_databases

    if not django_db_use_migrations:
        from pytest_django.fixtures import _disable_migrations

        _disable_migrations()
    # As pytest-django: --reuse-db keeps the database afterwards, and with
    # --create-db it is made afresh first.
    with django_db_blocker.unblock():
        config = setup_databases(
            verbosity=request.config.option.verbose, interactive=False,
            aliases={"default"}, serialized_aliases=set(),
            keepdb=django_db_keepdb and not django_db_createdb,
        )
    yield
    if not django_db_keepdb:
        with django_db_blocker.unblock():
            teardown_databases(config, verbosity=request.config.option.verbose)


_KEEP_TABLES = {"django_migrations", "django_content_type", "auth_permission"}


@pytest.fixture
def committed(django_db_setup, django_db_blocker):
    """Database access without a wrapping transaction, so other threads see the
    test's rows; every table is emptied afterwards (one TRUNCATE, no post-migrate
    handlers: much cheaper than pytest-django's transactional flush)."""
    from django.db import connection

    django_db_blocker.unblock()
    try:
        yield
    finally:
        tables = [
            t for t in connection.introspection.django_table_names(only_existing=True) if t not in _KEEP_TABLES
        ]
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE " + ", ".join(connection.ops.quote_name(t) for t in tables) + " RESTART IDENTITY CASCADE")
        django_db_blocker.restore()


@pytest.fixture(autouse=True)
def _committed_marker(request):
    if request.node.get_closest_marker("committed"):
        request.getfixturevalue("committed")


@pytest.fixture
def dbx(request):
    """``db`` (rolled back) or ``committed`` (for tests marked ``committed``)."""
    if request.node.get_closest_marker("committed"):
        return request.getfixturevalue("committed")
    return request.getfixturevalue("db")


# ------------------------------------------------------------------ people


@pytest.fixture
def company(dbx):
    from apps.accounts.models import Company

    return Company.objects.create(name="Acme Talent", slug="acme", timezone="America/New_York")


@pytest.fixture
def other_company(dbx):
    from apps.accounts.models import Company

    return Company.objects.create(name="Globex", slug="globex", timezone="Europe/Berlin")


@pytest.fixture
def make_user(dbx):
    from apps.accounts.models import User

    def make(company, role="recruiter", username=None, **extra):
        username = username or f"{role}-{company.slug}-{User.objects.count() + 1}"
        return User.objects.create_user(
            username=username, email=f"{username}@{company.slug}.example", password="pw-unused-123",
            company=company, role=role, **extra,
        )

    return make


@pytest.fixture
def admin(company, make_user):
    return make_user(company, "admin", "alice")


@pytest.fixture
def recruiter(company, make_user):
    return make_user(company, "recruiter", "rita")


@pytest.fixture
def interviewer(company, make_user):
    return make_user(company, "interviewer", "ivan", timezone="America/New_York")


@pytest.fixture
def viewer(company, make_user):
    return make_user(company, "viewer", "vera")


@pytest.fixture
def api():
    """``api(user)``: a DRF client authenticated with an access token for ``user``."""
    from rest_framework.test import APIClient

    from apps.accounts.oauth import mint_access

    def make(user=None, impersonator=None):
        client = APIClient()
        if user is not None:
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {mint_access(user, impersonator=impersonator)}")
        return client

    return make


# --------------------------------------------------------------- factories


@pytest.fixture
def make_candidate(dbx):
    from apps.candidates.models import Candidate
    from apps.candidates.tasks import set_skills

    counter = {"n": 0}

    def make(company, first_name=None, last_name="Doe", email=None, skills=None, **extra):
        counter["n"] += 1
        n = counter["n"]
        candidate = Candidate.objects.create(
            company=company,
            first_name=first_name or f"Cand{n}",
            last_name=last_name,
            email=email or f"cand{n}@{company.slug}.example",
            **extra,
        )
        if skills:
            set_skills(candidate, skills)
        return candidate

    return make


@pytest.fixture
def make_job(dbx):
    from apps.candidates.models import Skill
    from apps.candidates.utils import skill_slug
    from apps.jobs.models import Job, JobSkill

    def make(company, title="Backend Engineer", requirements=(), **extra):
        job = Job.objects.create(company=company, title=title, **extra)
        for name, weight, level in requirements:
            slug = skill_slug(name)
            skill, _ = Skill.objects.get_or_create(slug=slug, defaults={"name": name})
            JobSkill.objects.create(job=job, skill=skill, weight=weight, required_level=level)
        return job

    return make


@pytest.fixture
def idp(settings):
    """A loopback OAuth identity provider (token and userinfo endpoints) the settings point at."""
    from tests.support import IdentityProvider

    provider = IdentityProvider()
    settings.OAUTH_PROVIDER = {
        **settings.OAUTH_PROVIDER,
        "TOKEN_URL": f"{provider.server.base}/token",
        "USERINFO_URL": f"{provider.server.base}/userinfo",
        "AUTHORIZE_URL": f"{provider.server.base}/authorize",
    }
    yield provider
    provider.server.close()
