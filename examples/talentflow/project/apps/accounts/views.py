"""Login, token refresh, logout, current user, user administration, impersonation."""
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from rest_framework import status
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from . import oauth
from .models import RefreshToken, Role, User
from .permissions import CanImpersonate, IsCompanyMember, RolePermission, check_impersonation_target
from .serializers import RoleSerializer, UserSerializer


def _error(exc):
    return Response({"detail": exc.message}, status=exc.status)


@api_view(["GET"])
@authentication_classes([])
@permission_classes([AllowAny])
def authorize(request):
    url, nonce = oauth.start_authorization(request.query_params.get("next", "/"))
    response = HttpResponseRedirect(url)
    response.set_cookie(
        oauth.NONCE_COOKIE, nonce, max_age=600, httponly=True, samesite="Lax",
        secure=request.is_secure(),
    )
    return response


@api_view(["GET"])
@authentication_classes([])
@permission_classes([AllowAny])
def callback(request):
    if "error" in request.query_params:
        return Response({"detail": f"identity provider: {request.query_params['error']}"}, status=400)
    try:
        user, redirect_to = oauth.complete_authorization(
            request.query_params.get("state"),
            request.query_params.get("code"),
            request.COOKIES.get(oauth.NONCE_COOKIE),
        )
    except oauth.AuthError as exc:
        return _error(exc)
    tokens = oauth.issue_tokens(user)
    response = Response({**tokens, "next": redirect_to, "user": UserSerializer(user).data})
    response.delete_cookie(oauth.NONCE_COOKIE)
    return response


@api_view(["POST"])
@authentication_classes([])
@permission_classes([AllowAny])
def refresh(request):
    raw = request.data.get("refresh")
    if not raw or not isinstance(raw, str):
        return Response({"detail": "refresh token required"}, status=400)
    try:
        return Response(oauth.rotate_refresh(raw))
    except oauth.AuthError as exc:
        return _error(exc)


@api_view(["POST"])
@authentication_classes([])
@permission_classes([AllowAny])
def logout(request):
    raw = request.data.get("refresh")
    if not raw or not isinstance(raw, str):
        return Response({"detail": "refresh token required"}, status=400)
    try:
        claims = oauth.decode_token(raw, "refresh")
    except oauth.AuthError as exc:
        return _error(exc)
    row = RefreshToken.objects.filter(jti=claims["jti"]).first()
    if row is not None:
        oauth.revoke_family(row.family)
    return Response(status=status.HTTP_204_NO_CONTENT)


@api_view(["GET"])
@permission_classes([IsCompanyMember])
def me(request):
    data = UserSerializer(request.user).data
    data["impersonated_by"] = request.user.impersonator_id
    return Response(data)


class UserListView(APIView):
    permission_classes = [RolePermission]
    read_role = Role.ADMIN

    def get(self, request):
        users = User.objects.filter(company_id=request.user.company_id).order_by("username")
        return Response(UserSerializer(users, many=True).data)


class UserRoleView(APIView):
    permission_classes = [RolePermission]
    write_role = Role.ADMIN

    def patch(self, request, pk):
        target = get_object_or_404(User, pk=pk, company_id=request.user.company_id)
        serializer = RoleSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if target.pk == request.user.pk:
            return Response({"detail": "you cannot change your own role"}, status=400)
        target.role = serializer.validated_data["role"]
        target.save(update_fields=["role"])
        return Response(UserSerializer(target).data)


class ImpersonateView(APIView):
    permission_classes = [CanImpersonate]

    def post(self, request):
        target = User.objects.filter(pk=request.data.get("user_id")).first()
        if target is None:
            return Response({"detail": "no such user"}, status=404)
        check_impersonation_target(request.user, target)
        tokens = oauth.issue_tokens(target, impersonator=request.user)
        return Response({**tokens, "user": UserSerializer(target).data})
