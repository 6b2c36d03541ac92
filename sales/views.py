from http import HTTPStatus

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from ecommerce_admin.permissions import permission_required
from ecommerce_admin.schema import conflict

from . import selectors, services
from .filters import SaleFilter
from .serializers import RefundCreateSerializer, RefundSerializer, SaleCreateSerializer, SaleSerializer, sale_data

IDEMPOTENCY_KEY_MAX_LENGTH = 255
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="A retry with the same key and body answers the first sale without selling twice.",
)


@extend_schema_view(
    create=extend_schema(
        request=SaleCreateSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            201: SaleSerializer,
            409: conflict(
                "insufficient_stock (with product, requested, available), product_inactive, idempotency_key_reused"
            ),
        },
    ),
)
class SaleViewSet(mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Sales are financial records: recorded and refunded, never edited or deleted."""

    serializer_class = SaleSerializer
    filterset_class = SaleFilter
    ordering_fields = ["sold_at", "total", "id"]
    ordering = ["-sold_at", "-id"]
    search_fields = ["number", "customer_email"]
    lookup_value_regex = "[0-9]{1,18}"  # fits a 64-bit id on any database

    def get_queryset(self):
        return selectors.sale_list()

    # Reads render with sale_data, as the 201 does: SaleSerializer over a page of 50 sales and their
    # lines cost twice the rest of the request.
    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        lines = selectors.lines_of_sales(page)
        return self.get_paginated_response([sale_data(sale, lines=lines[sale.pk]) for sale in page])

    def retrieve(self, request, *args, **kwargs):
        return Response(sale_data(self.get_object()))

    def create(self, request, *args, **kwargs):
        payload = SaleCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        sale = services.sale_record(
            actor=request.user, idempotency_key=self._idempotency_key(request), **payload.validated_data
        )
        headers = {"Idempotent-Replayed": "true"} if sale.replayed else {}
        return Response(sale_data(sale), status=HTTPStatus.CREATED, headers=headers)

    @extend_schema(
        request=RefundCreateSerializer,
        responses={201: RefundSerializer, 409: conflict("refund_exceeds_sold (with line, requested, refundable)")},
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="refunds",
        permission_classes=[permission_required("sales.view_sale", "sales.add_refund")],
    )
    def refunds(self, request, pk=None):
        payload = RefundCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        refund = services.sale_refund(sale=self.get_object(), actor=request.user, **payload.validated_data)
        return Response(RefundSerializer(selectors.refund_list().get(pk=refund.pk)).data, status=HTTPStatus.CREATED)

    @staticmethod
    def _idempotency_key(request) -> str | None:
        key = request.headers.get("Idempotency-Key", "").strip()
        if len(key) > IDEMPOTENCY_KEY_MAX_LENGTH:
            raise serializers.ValidationError(
                {"Idempotency-Key": [f"Ensure this header has no more than {IDEMPOTENCY_KEY_MAX_LENGTH} characters."]}
            )
        return key or None
