"""SSRF through the partner sync: the URL is the user's, the fetch is the
server's. Each test starts its own loopback listener playing an internal
service and checks that it never receives a request, directly, through an
alternative spelling of the address, or through a redirect from a trusted
partner."""
import json

import pytest

from apps.candidates import tasks
from apps.candidates.models import Candidate
from tests.support import LoopbackServer, json_route, redirect_route

pytestmark = pytest.mark.security

SYNC = "/api/candidates/sync/"
FEED = {"candidates": [{"first_name": "Ola", "last_name": "Nordmann", "email": "ola@partner.example"}]}


@pytest.fixture
def internal():
    """An 'internal service' on loopback: answers with secrets and a valid-looking feed."""
    server = LoopbackServer({"/feed": json_route(FEED), "/admin": json_route({"secret": "internal"})})
    yield server
    server.close()


def _untouched(server):
    assert server.requests == [], server.requests
    assert not Candidate.objects.exists()


@pytest.mark.bug_i2
def test_sync_to_loopback_is_refused(admin, internal, api, db):
    response = api(admin).post(SYNC, {"url": f"{internal.base}/feed"}, format="json")
    assert response.status_code == 400, response.content
    _untouched(internal)


@pytest.mark.bug_i2
def test_sync_to_localhost_name_is_refused(admin, internal, api, db):
    response = api(admin).post(SYNC, {"url": f"http://localhost:{internal.port}/feed"}, format="json")
    assert response.status_code == 400, response.content
    _untouched(internal)


@pytest.mark.bug_i2
@pytest.mark.parametrize("spelling", ["2130706433", "0x7f000001", "127.1", "0177.0.0.1"])
def test_sync_to_alternative_spellings_of_loopback_is_refused(spelling, admin, internal, api, db):
    response = api(admin).post(SYNC, {"url": f"http://{spelling}:{internal.port}/admin"}, format="json")
    assert response.status_code == 400, response.content
    _untouched(internal)


@pytest.mark.bug_i2
def test_redirect_from_a_trusted_partner_to_loopback_is_not_followed(admin, internal, api, settings, db):
    partner = LoopbackServer({"/feed": redirect_route(f"{internal.base}/feed")})
    try:
        settings.CANDIDATE_SYNC = {**settings.CANDIDATE_SYNC, "TRUSTED_HOSTS": [f"127.0.0.1:{partner.port}"]}
        response = api(admin).post(SYNC, {"url": f"{partner.base}/feed"}, format="json")
        assert response.status_code == 400, response.content
        assert len(partner.requests) == 1
        _untouched(internal)
    finally:
        partner.close()


@pytest.mark.bug_i2
def test_sync_task_refuses_loopback_when_called_directly(company, internal, db):
    with pytest.raises(tasks.SyncError):
        tasks.sync_candidates(company.pk, f"{internal.base}/feed")
    _untouched(internal)


@pytest.mark.bug_i2
def test_local_file_url_is_refused(admin, api, tmp_path, db):
    """file:// would read the server's own disk: a planted feed must not be imported."""
    planted = tmp_path / "feed.json"
    planted.write_text(json.dumps(FEED), encoding="utf-8")
    response = api(admin).post(SYNC, {"url": planted.as_uri()}, format="json")
    assert response.status_code == 400, response.content
    assert "scheme" in response.json()["detail"]
    assert not Candidate.objects.exists()


def test_other_schemes_are_refused(admin, api, db):
    for url in ("gopher://127.0.0.1:6379/_INFO", "ftp://127.0.0.1/", "javascript:alert(1)"):
        response = api(admin).post(SYNC, {"url": url}, format="json")
        assert response.status_code == 400, (url, response.content)
    assert not Candidate.objects.exists()


def test_trusted_partner_feed_is_imported(admin, internal, api, settings, db):
    settings.CANDIDATE_SYNC = {**settings.CANDIDATE_SYNC, "TRUSTED_HOSTS": [f"127.0.0.1:{internal.port}"]}
    response = api(admin).post(SYNC, {"url": f"{internal.base}/feed"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["created"] == 1
    ola = Candidate.objects.get()
    assert (ola.first_name, ola.source) == ("Ola", Candidate.Source.SYNC)
    assert internal.requests[0]["headers"]["User-Agent"] == "TalentFlow-Sync/1.0"


def test_only_admins_may_sync(recruiter, internal, api, db):
    response = api(recruiter).post(SYNC, {"url": f"{internal.base}/feed"}, format="json")
    assert response.status_code == 403
    _untouched(internal)
