"""OpenAPI pieces shared by every app's views."""

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

ErrorSerializer = inline_serializer(
    name="Error",
    fields={"detail": serializers.CharField(), "code": serializers.CharField()},
)


def conflict(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


class CachedJWTScheme(SimpleJWTScheme):
    """Declare the bearer scheme for our JWT authentication as for simplejwt's own."""

    target_class = "ecommerce_admin.authentication.CachedJWTAuthentication"


# Operations anyone may call: no 403, and their own throttle.
OPEN_PATHS = (
    "/api/v1/auth/token/",
    "/api/v1/auth/token/refresh/",
    "/api/v1/auth/token/verify/",
    "/api/v1/auth/logout/",
)
UNSAFE_METHODS = {"post", "put", "patch", "delete"}
GENERIC_ERRORS = {
    "400": "Invalid request: field errors ({field: [messages]}) or {detail, code} for a body that does not parse",
    "401": "No valid credentials (not_authenticated, token_not_valid, ...)",
    "403": "Authenticated, without the permission this operation needs (permission_denied)",
    "404": "No such record, or a page past the last one (not_found)",
    "413": "Request body over the size limit (request_too_large)",
    "415": "Request body in a media type the API does not read (unsupported_media_type)",
    "429": "Too many requests (throttled); see the Retry-After header",
    "503": "Database unavailable (service_unavailable); retry after Retry-After seconds",
}


def document_error_responses(result: dict, generator, request, public) -> dict:
    """Declare, on every operation, the error responses any request to it may get (a postprocessing hook).

    These come from the framework rather than the view (authentication, permissions, parsing, paging,
    throttling, the database being down), so no view declares them; a client, and the schema-driven
    fuzz test, must still find every status code it can receive in the schema.
    """
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault(
        "Error",
        {
            "type": "object",
            "properties": {"detail": {"type": "string"}, "code": {"type": "string"}},
            "required": ["detail", "code"],
        },
    )
    schemas["ErrorOrFieldErrors"] = {
        "type": "object",
        "description": "{detail, code}, or field name to a list of messages (DRF's shape).",
        "additionalProperties": {},
    }
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            codes = ["400", "401", "404", "503"]
            if path not in OPEN_PATHS:
                codes.append("403")
            if "requestBody" in operation:
                codes += ["413", "415"]
            if method in UNSAFE_METHODS or path in OPEN_PATHS:
                codes.append("429")
            responses = operation.setdefault("responses", {})
            for code in sorted(codes):
                if code in responses:
                    continue
                component = "ErrorOrFieldErrors" if code == "400" else "Error"
                responses[code] = {
                    "description": GENERIC_ERRORS[code],
                    "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{component}"}}},
                }
    return result
