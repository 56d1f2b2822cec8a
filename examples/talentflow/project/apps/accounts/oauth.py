"""OAuth2 authorization-code login and our JWT access / rotating refresh tokens.

Login: ``start_authorization`` creates a single-use ``state`` bound to the
browser (a random nonce kept in an HttpOnly cookie) and redirects to the
identity provider; ``complete_authorization`` checks the state, exchanges the
code at the provider and resolves the user.

Tokens: a short-lived signed access token and a refresh token. Each refresh
replaces the refresh token by a successor of the same family; presenting a
used refresh token again (after a short grace period for concurrent tabs)
revokes the whole family.
"""
import hashlib
import json
import secrets
import uuid
from datetime import timedelta
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode
from urllib.request import Request

import jwt
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from apps.common.helpers.text import normalize_email
from apps.common.hooks import checkpoint
from apps.common.http import opener

from .models import OAuthState, RefreshToken, User

NONCE_COOKIE = "tf_oauth_nonce"


class AuthError(Exception):
    """Authentication failed; ``status`` is the HTTP status to answer with."""

    def __init__(self, message, status=401):
        super().__init__(message)
        self.message = message
        self.status = status


# --------------------------------------------------------------------- tokens


def _conf():
    return settings.JWT


def _encode(claims):
    conf = _conf()
    return jwt.encode(claims, conf["SIGNING_KEY"], algorithm=conf["ALGORITHM"])


def decode_token(raw, expected_type):
    """Verify signature, expiry, issuer, audience and token type."""
    conf = _conf()
    try:
        claims = jwt.decode(
            raw,
            conf["SIGNING_KEY"],
            algorithms=[conf["ALGORITHM"]],
            audience=conf["AUDIENCE"],
            issuer=conf["ISSUER"],
            options={"require": ["exp", "iat", "sub", "typ", "jti"]},
        )
    except jwt.ExpiredSignatureError:
        raise AuthError("token expired") from None
    except jwt.InvalidTokenError as exc:
        raise AuthError(f"invalid token: {exc}") from None
    if claims.get("typ") != expected_type:
        raise AuthError(f"expected a {expected_type} token, got {claims.get('typ')!r}")
    return claims


def mint_access(user, impersonator=None, now=None):
    now = now or timezone.now()
    conf = _conf()
    claims = {
        "iss": conf["ISSUER"],
        "aud": conf["AUDIENCE"],
        "sub": str(user.pk),
        "cid": user.company_id,
        "role": user.role,
        "typ": "access",
        "jti": uuid.uuid4().hex,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=conf["ACCESS_TTL_SECONDS"])).timestamp()),
    }
    if impersonator is not None:
        claims["imp"] = impersonator.pk
    return _encode(claims)


def mint_refresh(row):
    """The refresh token of a stored row (deterministic: same row, same token)."""
    conf = _conf()
    return _encode(
        {
            "iss": conf["ISSUER"],
            "aud": conf["AUDIENCE"],
            "sub": str(row.user_id),
            "typ": "refresh",
            "jti": str(row.jti),
            "fam": str(row.family),
            "iat": int(row.created_at.timestamp()),
            "exp": int(row.expires_at.timestamp()),
        }
    )


def _pair(user, row, impersonator=None):
    return {
        "access": mint_access(user, impersonator=impersonator),
        "refresh": mint_refresh(row),
        "token_type": "Bearer",
        "expires_in": _conf()["ACCESS_TTL_SECONDS"],
    }


def issue_tokens(user, impersonator=None):
    """A new token family for ``user`` (login or impersonation)."""
    now = timezone.now()
    row = RefreshToken.objects.create(
        user=user,
        impersonator=impersonator,
        created_at=now,
        expires_at=now + timedelta(seconds=_conf()["REFRESH_TTL_SECONDS"]),
    )
    return _pair(user, row, impersonator=impersonator)


def revoke_family(family, now=None):
    return RefreshToken.objects.filter(family=family, revoked_at__isnull=True).update(
        revoked_at=now or timezone.now()
    )


def rotate_refresh(raw):
    """Exchange a refresh token for a new access token and its successor."""
    claims = decode_token(raw, "refresh")
    now = timezone.now()
    grace = timedelta(seconds=_conf()["REFRESH_REUSE_GRACE_SECONDS"])
    reuse_detected = False
    try:
        with transaction.atomic():
            token = (
                RefreshToken.objects.select_related("user", "impersonator")
                .filter(jti=claims["jti"])
                .first()
            )
            if token is None:
                raise AuthError("unknown refresh token")
            checkpoint("accounts.refresh.after_read", jti=token.jti)
            if token.revoked_at is not None:
                raise AuthError("refresh token revoked")
            if token.expires_at <= now:
                raise AuthError("refresh token expired")
            if not token.user.is_active:
                raise AuthError("user is inactive")
            if token.used_at is not None:
                successor = token.replaced_by
                if (
                    successor is not None
                    and successor.active
                    and now - token.used_at <= grace
                ):
                    return _pair(token.user, successor, impersonator=token.impersonator)
                revoke_family(token.family, now)
                reuse_detected = True
            else:
                token.used_at = now
                token.save(update_fields=["used_at"])
                successor = RefreshToken.objects.create(
                    user=token.user,
                    impersonator=token.impersonator,
                    family=token.family,
                    created_at=now,
                    expires_at=now + timedelta(seconds=_conf()["REFRESH_TTL_SECONDS"]),
                )
                token.replaced_by = successor
                token.save(update_fields=["replaced_by"])
                return _pair(token.user, successor, impersonator=token.impersonator)
    except IntegrityError:
        raise AuthError("refresh token already rotated") from None
    if reuse_detected:
        raise AuthError("refresh token reuse detected; all sessions of this login revoked")
    raise AssertionError("unreachable")


# ---------------------------------------------------------------- OAuth login


def _provider():
    return settings.OAUTH_PROVIDER


def _hash_nonce(nonce):
    return hashlib.sha256(nonce.encode()).hexdigest()


def start_authorization(redirect_to="/"):
    """Create a state for this browser; returns ``(authorize_url, nonce)``."""
    state = secrets.token_urlsafe(32)
    nonce = secrets.token_urlsafe(32)
    OAuthState.objects.create(
        state=state,
        browser_hash=_hash_nonce(nonce),
        redirect_to=redirect_to if redirect_to.startswith("/") and not redirect_to.startswith("//") else "/",
        created_at=timezone.now(),
    )
    conf = _provider()
    query = urlencode(
        {
            "response_type": "code",
            "client_id": conf["CLIENT_ID"],
            "redirect_uri": conf["REDIRECT_URI"],
            "scope": conf["SCOPE"],
            "state": state,
        }
    )
    return f"{conf['AUTHORIZE_URL']}?{query}", nonce


def consume_state(state, nonce):
    """Check that ``state`` was issued to this browser, is fresh and unused; mark it used."""
    if not state:
        raise AuthError("missing state parameter", status=400)
    if not nonce:
        raise AuthError("login was not started in this browser", status=400)
    now = timezone.now()
    with transaction.atomic():
        row = OAuthState.objects.select_for_update().filter(state=state).first()
        if row is None:
            raise AuthError("unknown state", status=400)
        if row.used_at is not None:
            raise AuthError("state already used", status=400)
        if row.created_at + timedelta(seconds=_provider()["STATE_TTL_SECONDS"]) < now:
            raise AuthError("state expired", status=400)
        if not constant_time_compare(row.browser_hash, _hash_nonce(nonce)):
            raise AuthError("state was issued to another browser", status=400)
        row.used_at = now
        row.save(update_fields=["used_at"])
    return row


def _http_json(request):
    try:
        with opener(follow_redirects=False).open(request, timeout=_provider()["TIMEOUT_SECONDS"]) as response:
            return json.loads(response.read().decode("utf-8"))
    except HTTPError as exc:
        # OAuth errors (invalid_grant, invalid_token) come as 400/401 with a JSON body.
        if exc.code in (400, 401):
            try:
                body = json.loads(exc.read().decode("utf-8"))
            except (OSError, ValueError):
                body = None
            if isinstance(body, dict):
                return body
        raise AuthError(f"identity provider error: HTTP {exc.code}", status=502) from None
    except (URLError, OSError, ValueError) as exc:
        raise AuthError(f"identity provider error: {exc}", status=502) from None


def exchange_code(code):
    """Trade the authorization code for the provider's access token."""
    conf = _provider()
    body = urlencode(
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": conf["REDIRECT_URI"],
            "client_id": conf["CLIENT_ID"],
            "client_secret": conf["CLIENT_SECRET"],
        }
    ).encode()
    data = _http_json(
        Request(
            conf["TOKEN_URL"],
            data=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            method="POST",
        )
    )
    if "access_token" not in data:
        raise AuthError(f"identity provider refused the code: {data.get('error', 'unknown')}")
    return data["access_token"]


def fetch_userinfo(provider_token):
    conf = _provider()
    return _http_json(
        Request(conf["USERINFO_URL"], headers={"Authorization": f"Bearer {provider_token}"})
    )


def complete_authorization(state, code, nonce):
    """Finish the login: returns ``(user, redirect_to)``."""
    redirect_to = OAuthState.objects.filter(state=state).values_list("redirect_to", flat=True).first() or "/"
    if not code:
        raise AuthError("missing code parameter", status=400)
    info = fetch_userinfo(exchange_code(code))
    email = normalize_email(info.get("email"))
    if not email or not info.get("email_verified", False):
        raise AuthError("identity provider did not return a verified e-mail")
    user = User.objects.filter(email__iexact=email).select_related("company").first()
    if user is None or not user.is_active:
        raise AuthError("no active TalentFlow account for this e-mail", status=403)
    return user, redirect_to
