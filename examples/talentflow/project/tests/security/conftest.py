"""A loopback identity provider for the OAuth login tests."""
import json
from urllib.parse import parse_qs

import pytest

from tests.support import LoopbackServer


class IdentityProvider:
    """Token and userinfo endpoints on 127.0.0.1; records every request."""

    def __init__(self, email="rita@acme.example", verified=True):
        self.email = email
        self.verified = verified
        self.codes = {"good-code": "provider-token-1"}
        self.server = LoopbackServer({"/token": self._token, "/userinfo": self._userinfo})

    def _token(self, path, headers, body):
        form = parse_qs(body.decode())
        token = self.codes.get(form.get("code", [""])[0])
        if token is None:
            return 400, {"Content-Type": "application/json"}, b'{"error": "invalid_grant"}'
        return 200, {"Content-Type": "application/json"}, json.dumps({"access_token": token}).encode()

    def _userinfo(self, path, headers, body):
        if headers.get("Authorization") not in {f"Bearer {t}" for t in self.codes.values()}:
            return 401, {"Content-Type": "application/json"}, b'{"error": "invalid_token"}'
        payload = {"email": self.email, "email_verified": self.verified}
        return 200, {"Content-Type": "application/json"}, json.dumps(payload).encode()

    def calls(self, path):
        return [r for r in self.server.requests if r["path"].split("?")[0] == path]


@pytest.fixture
def idp(settings):
    provider = IdentityProvider()
    settings.OAUTH_PROVIDER = {
        **settings.OAUTH_PROVIDER,
        "TOKEN_URL": f"{provider.server.base}/token",
        "USERINFO_URL": f"{provider.server.base}/userinfo",
        "AUTHORIZE_URL": f"{provider.server.base}/authorize",
    }
    yield provider
    provider.server.close()
