from datetime import timedelta

import jwt
import pytest
from django.conf import settings
from django.utils import timezone

from apps.accounts.models import User
from apps.accounts.oauth import AuthError, decode_token, mint_access

pytestmark = pytest.mark.unit


def _user():
    return User(pk=41, username="u", company_id=7, role="recruiter")


def test_access_token_round_trip():
    claims = decode_token(mint_access(_user()), "access")
    assert (claims["sub"], claims["cid"], claims["role"], claims["typ"]) == ("41", 7, "recruiter", "access")
    assert "imp" not in claims


def test_access_token_records_impersonator():
    claims = decode_token(mint_access(_user(), impersonator=User(pk=2)), "access")
    assert claims["imp"] == 2


def test_access_token_expires_after_ttl():
    past = timezone.now() - timedelta(seconds=settings.JWT["ACCESS_TTL_SECONDS"] + 5)
    with pytest.raises(AuthError, match="expired"):
        decode_token(mint_access(_user(), now=past), "access")


def test_wrong_token_type_rejected():
    with pytest.raises(AuthError, match="expected a refresh token"):
        decode_token(mint_access(_user()), "refresh")


@pytest.mark.parametrize("field, value", [("aud", "other-api"), ("iss", "evil")])
def test_wrong_audience_or_issuer_rejected(field, value):
    claims = decode_token(mint_access(_user()), "access")
    claims[field] = value
    forged = jwt.encode(claims, settings.JWT["SIGNING_KEY"], algorithm="HS256")
    with pytest.raises(AuthError):
        decode_token(forged, "access")


def test_other_key_rejected():
    claims = decode_token(mint_access(_user()), "access")
    forged = jwt.encode(claims, "not-our-key-at-all-0123456789abcdef", algorithm="HS256")
    with pytest.raises(AuthError, match="invalid"):
        decode_token(forged, "access")


def test_missing_claims_rejected():
    forged = jwt.encode({"sub": "1", "typ": "access"}, settings.JWT["SIGNING_KEY"], algorithm="HS256")
    with pytest.raises(AuthError):
        decode_token(forged, "access")
