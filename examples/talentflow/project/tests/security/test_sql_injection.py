"""SQL injection through the search ``ordering`` parameter.

The payloads are what an attacker would really send: a blind boolean oracle
on another table, a comment that cuts the query, a stacked statement, a
time-based probe, raw column names. The API must refuse every one of them
(400 naming the parameter) and answer the public orderings as documented.
"""
import pytest
from django.db import connection

from apps.candidates.models import Candidate

pytestmark = pytest.mark.security

SEARCH = "/api/candidates/search/"


@pytest.fixture
def seeded(company, other_company, make_candidate, recruiter, make_user):
    make_candidate(company, first_name="Ada", last_name="Lovelace", email="ada@acme.example", years_experience=9)
    make_candidate(company, first_name="Alan", last_name="Turing", email="alan@acme.example", years_experience=4)
    make_candidate(company, first_name="Grace", last_name="Hopper", email="grace@acme.example", years_experience=20)
    make_candidate(other_company, first_name="Secret", last_name="Rival", email="secret@globex.example")
    make_user(other_company, "admin", "globex-admin")
    return recruiter


def _search(api, user, ordering, **extra):
    return api(user).get(SEARCH, {"ordering": ordering, **extra})


@pytest.mark.bug_i1
def test_blind_boolean_oracle_on_user_table_is_refused(seeded, api, db):
    """The ORDER BY flips on a secret: with injection the result order leaks it bit by bit."""
    oracle = (
        "(CASE WHEN (SELECT substr(password,1,3) FROM accounts_user WHERE username='rita')='md5' "
        "THEN c.last_name ELSE c.first_name END)"
    )
    response = _search(api, seeded, oracle)
    assert response.status_code == 400, response.content
    assert "ordering" in response.json()


@pytest.mark.bug_i1
def test_comment_truncating_the_query_is_refused(seeded, api, db):
    response = _search(api, seeded, "c.id --")
    assert response.status_code == 400, response.content
    assert "unknown ordering" in response.json()["ordering"]


@pytest.mark.bug_i1
def test_stacked_statement_is_refused_and_nothing_changes(seeded, api, db):
    response = _search(api, seeded, "c.id; UPDATE candidates_candidate SET first_name = 'pwned'; --")
    assert response.status_code == 400, response.content
    assert not Candidate.objects.filter(first_name="pwned").exists()
    assert Candidate.objects.count() == 4


@pytest.mark.bug_i1
def test_subquery_reading_another_company_is_refused(seeded, api, db):
    payload = "(SELECT count(*) FROM candidates_candidate WHERE email LIKE '%globex%')"
    response = _search(api, seeded, payload)
    assert response.status_code == 400, response.content
    assert b"Rival" not in response.content


@pytest.mark.bug_i1
def test_time_based_probe_is_refused(seeded, api, db):
    response = _search(api, seeded, "(SELECT 1 FROM pg_sleep(0))")
    assert response.status_code == 400, response.content


@pytest.mark.bug_i1
def test_raw_column_names_are_not_orderings(seeded, api, db):
    for raw in ("c.email", "c.id DESC", "1", "random()"):
        response = _search(api, seeded, raw)
        assert response.status_code == 400, (raw, response.content)


@pytest.mark.bug_i1
def test_injection_payload_is_not_executed(seeded, api, db):
    """A payload that would raise a database error if executed must be rejected before SQL runs."""
    response = _search(api, seeded, "(SELECT 1/0)")
    assert response.status_code == 400, response.content
    with connection.cursor() as cursor:  # the test transaction is still usable
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)


def test_public_orderings_work(seeded, api, db):
    names = lambda r: [c["last_name"] for c in r.json()["results"]]  # noqa: E731
    assert names(_search(api, seeded, "name")) == ["Hopper", "Lovelace", "Turing"]
    assert names(_search(api, seeded, "-name")) == ["Turing", "Lovelace", "Hopper"]
    assert names(_search(api, seeded, "-experience")) == ["Hopper", "Lovelace", "Turing"]


def test_search_term_is_a_parameter_not_sql(seeded, api, db):
    response = api(seeded).get(SEARCH, {"q": "' OR '1'='1"})
    assert response.status_code == 200
    assert response.json()["count"] == 0


def test_search_never_crosses_companies(seeded, api, db):
    response = api(seeded).get(SEARCH, {"q": "secret"})
    assert response.status_code == 200
    assert response.json()["results"] == []
