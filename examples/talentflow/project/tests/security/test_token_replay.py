"""Token attacks: replaying a rotated refresh token, forging or retyping JWTs,
using tokens after logout or deactivation."""
from datetime import timedelta

import jwt
import pytest
from django.conf import settings
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import RefreshToken
from apps.accounts.oauth import issue_tokens, mint_access

pytestmark = pytest.mark.security

REFRESH = "/api/auth/token/refresh/"
ME = "/api/auth/me/"


def _bearer(token):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def _refresh(raw):
    return APIClient().post(REFRESH, {"refresh": raw}, format="json")


def test_replayed_refresh_token_after_grace_revokes_the_family(recruiter, db):
    stolen = issue_tokens(recruiter)["refresh"]
    legit = _refresh(stolen).json()["refresh"]
    RefreshToken.objects.filter(used_at__isnull=False).update(used_at=timezone.now() - timedelta(minutes=5))
    replay = _refresh(stolen)
    assert replay.status_code == 401
    assert "reuse" in replay.json()["detail"]
    # the legitimate holder's successor is revoked too: the thief gains nothing
    assert _refresh(legit).status_code == 401
    assert RefreshToken.objects.filter(revoked_at__isnull=True).count() == 0


def test_refresh_within_grace_returns_the_same_successor(recruiter, db):
    raw = issue_tokens(recruiter)["refresh"]
    first = _refresh(raw).json()
    second = _refresh(raw)
    assert second.status_code == 200
    assert second.json()["refresh"] == first["refresh"]


def test_refresh_after_logout_is_refused(recruiter, db):
    raw = issue_tokens(recruiter)["refresh"]
    assert APIClient().post("/api/auth/logout/", {"refresh": raw}, format="json").status_code == 204
    assert _refresh(raw).status_code == 401


def test_refresh_token_is_not_an_access_token(recruiter, db):
    raw = issue_tokens(recruiter)["refresh"]
    assert _bearer(raw).get(ME).status_code == 401


def test_access_token_is_not_a_refresh_token(recruiter, db):
    access = issue_tokens(recruiter)["access"]
    assert _refresh(access).status_code == 401


def test_unsigned_token_is_refused(recruiter, db):
    claims = jwt.decode(mint_access(recruiter), options={"verify_signature": False})
    claims["role"] = "admin"
    forged = jwt.encode(claims, key=None, algorithm="none")
    assert _bearer(forged).get(ME).status_code == 401


def test_token_signed_with_another_key_is_refused(recruiter, db):
    claims = jwt.decode(mint_access(recruiter), options={"verify_signature": False})
    forged = jwt.encode(claims, "guessed-key-guessed-key-guessed-key-0001", algorithm="HS256")
    assert _bearer(forged).get(ME).status_code == 401


def test_expired_access_token_is_refused(recruiter, db):
    old = mint_access(recruiter, now=timezone.now() - timedelta(seconds=settings.JWT["ACCESS_TTL_SECONDS"] + 60))
    assert _bearer(old).get(ME).status_code == 401


def test_deactivated_user_loses_access_and_refresh(recruiter, db):
    tokens = issue_tokens(recruiter)
    recruiter.is_active = False
    recruiter.save(update_fields=["is_active"])
    assert _bearer(tokens["access"]).get(ME).status_code == 401
    assert _refresh(tokens["refresh"]).status_code == 401


def test_token_moved_to_another_company_is_refused(recruiter, other_company, db):
    access = mint_access(recruiter)
    recruiter.company = other_company
    recruiter.save(update_fields=["company"])
    assert _bearer(access).get(ME).status_code == 401
