from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView
from rest_framework_simplejwt import views as jwt_views
from rest_framework_simplejwt.serializers import TokenBlacklistSerializer

from .schema import ErrorSerializer


class TokenObtainPairView(jwt_views.TokenObtainPairView):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth_token"


class TokenRefreshView(jwt_views.TokenRefreshView):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth_token"


class TokenVerifyView(jwt_views.TokenVerifyView):
    pass


@extend_schema(
    summary="Log out: blacklist a refresh token",
    description=(
        "Blacklists the given refresh token, so neither it nor any token refreshed from it works again."
        " Access tokens already issued stay valid until they expire (JWT_ACCESS_MINUTES)."
    ),
    request=TokenBlacklistSerializer,
    responses={
        200: inline_serializer(name="LoggedOut", fields={}),
        400: OpenApiResponse(description="No refresh token given (field errors)."),
        401: OpenApiResponse(
            ErrorSerializer, description="token_not_valid: not a refresh token, expired or blacklisted"
        ),
    },
)
class LogoutView(jwt_views.TokenBlacklistView):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth_token"


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    is_staff = serializers.BooleanField()
    groups = serializers.ListField(child=serializers.CharField())
    permissions = serializers.ListField(child=serializers.CharField())


class MeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=MeSerializer)
    def get(self, request):
        user = request.user
        return Response(
            {
                "id": user.pk,
                "username": user.get_username(),
                "is_staff": user.is_staff,
                "groups": sorted(user.groups.values_list("name", flat=True)),
                "permissions": sorted(user.get_all_permissions()),
            }
        )
