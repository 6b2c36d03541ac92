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
