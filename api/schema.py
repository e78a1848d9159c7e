"""OpenAPI details drf-spectacular cannot guess: the bearer token scheme, shared responses."""

from __future__ import annotations

from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerExtension,
)
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


class StrictConfigPatchScheme(OpenApiSerializerExtension):
    """A PATCH with a field that does not exist (or cannot be set) is refused, so the
    schema says no other properties are allowed."""

    target_class = "api.serializers.SyncConfigPatchSerializer"

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        schema["additionalProperties"] = False
        return schema


# DRF refuses NUL characters in every text field (ProhibitNullCharactersValidator).
NO_NUL = "^[^\\u0000]*$"


def text_without_nul(result, generator, request, public):
    """POSTPROCESSING_HOOKS: request bodies' free text says it cannot hold NUL."""
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if not name.endswith("Request"):
            continue
        for prop in component.get("properties", {}).values():
            _forbid_nul(prop)
            _forbid_nul(prop.get("items", {}))
    return result


def _forbid_nul(prop: dict) -> None:
    if prop.get("type") == "string" and not {"format", "pattern", "enum"} & set(prop):
        prop["pattern"] = NO_NUL
