"""A user's session from first login to logout: OAuth2 login against a
loopback identity provider, API calls with the access token, token rotation,
impersonation by an admin, logout."""
from urllib.parse import parse_qs, urlsplit

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import RefreshToken

pytestmark = pytest.mark.system


def _login(browser, next_url="/"):
    start = browser.get("/api/auth/oauth/authorize/", {"next": next_url})
    assert start.status_code == 302
    location = urlsplit(start["Location"])
    query = parse_qs(location.query)
    assert query["client_id"] == ["talentflow"] and query["response_type"] == ["code"]
    done = browser.get("/api/auth/oauth/callback/", {"state": query["state"][0], "code": "good-code"})
    assert done.status_code == 200, done.content
    return done.json()


def _client(access):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


@pytest.mark.bug_c2
def test_login_refresh_and_logout(idp, recruiter, make_candidate, company, db):
    make_candidate(company, first_name="Kim")
    browser = APIClient()
    tokens = _login(browser, "/candidates")
    assert tokens["next"] == "/candidates"
    assert [c["first_name"] for c in _client(tokens["access"]).get("/api/candidates/").json()["results"]] == ["Kim"]
    rotated = browser.post("/api/auth/token/refresh/", {"refresh": tokens["refresh"]}, format="json").json()
    assert rotated["refresh"] != tokens["refresh"]
    assert _client(rotated["access"]).get("/api/auth/me/").json()["username"] == "rita"
    assert browser.post("/api/auth/logout/", {"refresh": rotated["refresh"]}, format="json").status_code == 204
    assert browser.post("/api/auth/token/refresh/", {"refresh": rotated["refresh"]}, format="json").status_code == 401
    # the login's state cannot be used for a second session
    assert browser.get("/api/auth/oauth/callback/", {"state": "x", "code": "good-code"}).status_code == 400


def test_each_login_starts_its_own_token_family(idp, recruiter, db):
    first = _login(APIClient())
    second = _login(APIClient())
    families = set(RefreshToken.objects.values_list("family", flat=True))
    assert len(families) == 2
    APIClient().post("/api/auth/logout/", {"refresh": first["refresh"]}, format="json")
    assert APIClient().post("/api/auth/token/refresh/", {"refresh": second["refresh"]}, format="json").status_code == 200


@pytest.mark.bug_f4
def test_admin_impersonation_session(idp, admin, recruiter, company, make_candidate, db):
    idp.email = "alice@acme.example"
    as_admin = _client(_login(APIClient())["access"])
    assert as_admin.get("/api/auth/me/").json()["role"] == "admin"
    response = as_admin.post("/api/auth/impersonate/", {"user_id": recruiter.pk}, format="json")
    assert response.status_code == 200
    as_rita = _client(response.json()["access"])
    me = as_rita.get("/api/auth/me/").json()
    assert (me["username"], me["impersonated_by"]) == ("rita", admin.pk)
    # acting as a recruiter: recruiter rights, not admin rights
    c = make_candidate(company)
    assert as_rita.delete(f"/api/candidates/{c.pk}/").status_code == 403
    assert as_rita.get("/api/auth/users/").status_code == 403
    assert as_rita.post("/api/auth/impersonate/", {"user_id": recruiter.pk}, format="json").status_code == 403
    # the impersonation refresh token keeps the impersonator
    refreshed = APIClient().post("/api/auth/token/refresh/", {"refresh": response.json()["refresh"]}, format="json").json()
    assert _client(refreshed["access"]).get("/api/auth/me/").json()["impersonated_by"] == admin.pk


def test_role_change_by_admin_takes_effect(admin, viewer, api, db):
    client = api(admin)
    assert api(viewer).post("/api/candidates/", {"first_name": "A", "email": "a@acme.example"}, format="json").status_code == 403
    response = client.patch(f"/api/auth/users/{viewer.pk}/role/", {"role": "recruiter"}, format="json")
    assert response.status_code == 200 and response.json()["role"] == "recruiter"
    viewer.refresh_from_db()
    assert api(viewer).post("/api/candidates/", {"first_name": "A", "email": "a@acme.example"}, format="json").status_code == 201
    assert client.patch(f"/api/auth/users/{admin.pk}/role/", {"role": "viewer"}, format="json").status_code == 400
