"""Tokens for API clients: log in with a username and password to get one; log out to
revoke it. Failed logins are throttled per client address."""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_logged_in
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response

from accounts.models import ApiToken
from api.schema import error
from api.serializers import LoginSerializer, TokenSerializer
from api.throttles import LoginFailureThrottle


class LoginView(GenericAPIView):
    """knox's LoginView, with credentials in the JSON body rather than an authenticator:
    a wrong password must count as a failure to throttle, not pass as anonymous."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [LoginFailureThrottle]
    serializer_class = LoginSerializer

    @extend_schema(
        summary="Get an API token",
        description="Returns a new token (shown once) expiring after the default lifetime "
        "(ROLLCALL_API_TOKEN_DAYS, 90 days). Failed logins are throttled per client "
        "address (429).",
        request=LoginSerializer,
        responses={
            200: TokenSerializer,
            400: error("Missing fields (code `invalid`)."),
            401: error("Wrong username or password (code `not_authenticated`)."),
            429: error("Too many failed logins from this address (code `throttled`)."),
        },
        auth=[],
    )
    def post(self, request):
        body = LoginSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user = authenticate(
            request._request,
            username=body.validated_data["username"],
            password=body.validated_data["password"],
        )
        if user is None or not user.is_active:
            LoginFailureThrottle().record_failure(request)
            raise exceptions.AuthenticationFailed("Wrong username or password.")
        instance, token = ApiToken.objects.issue(
            user=user, name=body.validated_data["name"], read_only=body.validated_data["read_only"]
        )
        user_logged_in.send(sender=user.__class__, request=request._request, user=user)
        data = {
            "token": token,
            "expiry": instance.expiry,
            "name": instance.name,
            "read_only": instance.read_only,
        }
        return Response(TokenSerializer(data).data)

    def get_authenticate_header(self, request):
        return "Bearer"


class LogoutView(GenericAPIView):
    """Revoke the token the request came with (a read-only token may revoke itself)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Revoke this token",
        request=None,
        responses={
            204: OpenApiResponse(description="Revoked."),
            400: error("Not called with a token (code `invalid`)."),
            401: error("Not authenticated."),
        },
    )
    def post(self, request):
        if not isinstance(request.auth, ApiToken):
            raise exceptions.ValidationError(
                {
                    "non_field_errors": [
                        "Log out with the token to revoke (Authorization: Bearer …)."
                    ]
                }
            )
        request.auth.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)
