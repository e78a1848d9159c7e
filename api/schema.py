"""OpenAPI details drf-spectacular cannot guess: the bearer token scheme, shared responses."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse

from api.serializers import ErrorSerializer


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.auth.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token: `manage.py create_api_token USER`, or "
            "POST /api/v1/auth/login/. Tokens expire; a read-only token cannot change anything.",
        }


def error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


# The errors every endpoint can answer.
COMMON_ERRORS = {
    401: error("Not authenticated (code `not_authenticated`)."),
    403: error("Visible, but not allowed (code `permission_denied`)."),
    404: error("No such object, or out of the caller's reach (code `not_found`)."),
    429: error("Throttled (code `throttled`; see Retry-After)."),
}
READ_ERRORS = {k: v for k, v in COMMON_ERRORS.items() if k != 403}
# A CSV view's errors are JSON all the same.
CSV_ERRORS = {
    (code, "application/json"): response
    for code, response in {400: error("A bad filter (code `invalid`)."), **READ_ERRORS}.items()
}
CSV_RESPONSE = {
    (200, "text/csv"): OpenApiResponse(
        OpenApiTypes.STR,
        description="A formula-safe CSV file (cells starting with = + - @, tab or CR are "
        "prefixed with an apostrophe), streamed.",
    )
}
