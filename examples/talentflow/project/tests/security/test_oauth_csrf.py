"""CSRF against the OAuth callback: a login must complete only in the browser
that started it, with a state that was issued, is fresh and is used once.

The attacks: a forged state, the attacker's own state planted in the victim's
browser (login CSRF), a replayed callback URL, a stale state. A refused
callback issues no tokens and never contacts the identity provider.
"""
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import OAuthState, RefreshToken
from apps.accounts.oauth import NONCE_COOKIE

pytestmark = pytest.mark.security

AUTHORIZE = "/api/auth/oauth/authorize/"
CALLBACK = "/api/auth/oauth/callback/"


def _start(client, next_url="/dashboard"):
    response = client.get(AUTHORIZE, {"next": next_url})
    assert response.status_code == 302
    state = parse_qs(urlsplit(response["Location"]).query)["state"][0]
    return state


def _no_login_happened(idp):
    assert RefreshToken.objects.count() == 0
    assert idp.calls("/token") == [] and idp.calls("/userinfo") == []


def test_login_completes_in_the_browser_that_started_it(idp, recruiter, db):
    browser = APIClient()
    state = _start(browser)
    response = browser.get(CALLBACK, {"state": state, "code": "good-code"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["user"]["username"] == "rita" and body["next"] == "/dashboard"
    me = APIClient()
    me.credentials(HTTP_AUTHORIZATION=f"Bearer {body['access']}")
    assert me.get("/api/auth/me/").json()["username"] == "rita"
    assert len(idp.calls("/token")) == 1


@pytest.mark.bug_c2
def test_forged_state_is_refused(idp, recruiter, db):
    browser = APIClient()
    _start(browser)
    response = browser.get(CALLBACK, {"state": "forged-by-attacker", "code": "good-code"})
    assert response.status_code == 400, response.content
    _no_login_happened(idp)


@pytest.mark.bug_c2
def test_login_csrf_with_the_attackers_state_is_refused(idp, recruiter, db):
    """The attacker starts a login in their browser and sends the callback URL to the victim."""
    attacker = APIClient()
    state = _start(attacker)
    victim = APIClient()
    victim.cookies[NONCE_COOKIE] = "victims-own-login-nonce"
    response = victim.get(CALLBACK, {"state": state, "code": "good-code"})
    assert response.status_code == 400, response.content
    _no_login_happened(idp)


@pytest.mark.bug_c2
def test_callback_without_the_browser_cookie_is_refused(idp, recruiter, db):
    state = _start(APIClient())
    response = APIClient().get(CALLBACK, {"state": state, "code": "good-code"})
    assert response.status_code == 400, response.content
    _no_login_happened(idp)


@pytest.mark.bug_c2
def test_replayed_callback_is_refused(idp, recruiter, db):
    browser = APIClient()
    state = _start(browser)
    nonce = browser.cookies[NONCE_COOKIE].value
    first = browser.get(CALLBACK, {"state": state, "code": "good-code"})
    assert first.status_code == 200
    replay = APIClient()
    replay.cookies[NONCE_COOKIE] = nonce
    second = replay.get(CALLBACK, {"state": state, "code": "good-code"})
    assert second.status_code == 400, second.content
    assert RefreshToken.objects.count() == 1
    assert len(idp.calls("/token")) == 1


@pytest.mark.bug_c2
def test_stale_state_is_refused(idp, recruiter, db):
    browser = APIClient()
    state = _start(browser)
    OAuthState.objects.filter(state=state).update(created_at=timezone.now() - timedelta(hours=1))
    response = browser.get(CALLBACK, {"state": state, "code": "good-code"})
    assert response.status_code == 400, response.content
    _no_login_happened(idp)


@pytest.mark.bug_c2
def test_missing_state_is_refused(idp, recruiter, db):
    browser = APIClient()
    _start(browser)
    response = browser.get(CALLBACK, {"code": "good-code"})
    assert response.status_code == 400, response.content
    _no_login_happened(idp)


def test_open_redirect_in_next_is_neutralised(idp, recruiter, db):
    browser = APIClient()
    state = _start(browser, next_url="//evil.example/phish")
    response = browser.get(CALLBACK, {"state": state, "code": "good-code"})
    assert response.status_code == 200
    assert response.json()["next"] == "/"


def test_unverified_email_does_not_log_in(idp, recruiter, db):
    idp.verified = False
    browser = APIClient()
    state = _start(browser)
    response = browser.get(CALLBACK, {"state": state, "code": "good-code"})
    assert response.status_code == 401
    assert RefreshToken.objects.count() == 0


def test_code_rejected_by_the_provider_does_not_log_in(idp, recruiter, db):
    browser = APIClient()
    state = _start(browser)
    response = browser.get(CALLBACK, {"state": state, "code": "stolen-code"})
    assert response.status_code == 401
    assert RefreshToken.objects.count() == 0


def test_nonce_cookie_is_http_only(idp, db):
    browser = APIClient()
    _start(browser)
    cookie = browser.cookies[NONCE_COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
