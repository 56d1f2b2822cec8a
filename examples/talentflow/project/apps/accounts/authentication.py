"""DRF authentication with our JWT access tokens."""
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed

from .models import User
from .oauth import AuthError, decode_token


class JWTAuthentication(BaseAuthentication):
    keyword = b"bearer"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            raise AuthenticationFailed("Authorization header must be 'Bearer <token>'")
        try:
            claims = decode_token(parts[1].decode("latin-1"), "access")
        except AuthError as exc:
            raise AuthenticationFailed(exc.message) from None
        user = User.objects.select_related("company").filter(pk=claims["sub"]).first()
        if user is None or not user.is_active:
            raise AuthenticationFailed("user is inactive or deleted")
        if user.company_id != claims.get("cid"):
            raise AuthenticationFailed("token was issued for another company")
        user.impersonator_id = claims.get("imp")
        return user, claims

    def authenticate_header(self, request):
        return 'Bearer realm="talentflow"'
