from http import HTTPStatus

from django.db import transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, mixins, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from catalog.models import Product
from ecommerce_admin.permissions import permission_required
from ecommerce_admin.schema import conflict

from . import selectors, services
from .filters import StockLevelFilter, StockMovementFilter
from .models import MovementReason
from .serializers import (
    AdjustmentSerializer,
    AtQuerySerializer,
    StockLevelAtSerializer,
    StockLevelSerializer,
    StockLevelUpdateSerializer,
    StockMovementSerializer,
    movement_data,
)


@extend_schema_view(
    retrieve=extend_schema(
        parameters=[OpenApiParameter("at", str, description="An ISO 8601 instant: the quantity then, from the ledger")],
        responses=StockLevelAtSerializer,
    ),
    update=extend_schema(
        request=StockLevelUpdateSerializer,
        responses={200: StockLevelSerializer, 409: conflict("stale_quantity")},
    ),
    partial_update=extend_schema(
        request=StockLevelUpdateSerializer,
        responses={200: StockLevelSerializer, 409: conflict("stale_quantity")},
    ),
)
class StockLevelViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin, viewsets.GenericViewSet
):
    """Stock levels by product id; every change goes through the inventory services and the ledger."""

    serializer_class = StockLevelSerializer
    filterset_class = StockLevelFilter
    search_fields = ["product__name", "product__sku"]
    ordering_fields = ["quantity", "product", "updated_at"]
    ordering = ["product"]
    lookup_url_kwarg = "product_id"
    lookup_value_regex = "[0-9]{1,18}"  # fits a 64-bit id on any database

    def get_queryset(self):
        return selectors.stock_level_list()

    def retrieve(self, request, *args, **kwargs):
        level = self.get_object()
        query = AtQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        if "at" not in query.validated_data:
            return Response(StockLevelSerializer(level).data)
        at = query.validated_data["at"]
        level.quantity = selectors.stock_quantity_at(product_id=level.product_id, at=at)
        level.at = at
        return Response(StockLevelAtSerializer(level).data)

    def update(self, request, *args, **kwargs):
        level = self.get_object()
        payload = StockLevelUpdateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        changes = payload.validated_data
        with transaction.atomic():
            if "quantity" in changes:
                services.stock_set(
                    product=level.product,
                    quantity=changes["quantity"],
                    expected_quantity=changes.get("expected_quantity"),
                    actor=request.user,
                    note=changes["note"],
                )
            if "low_stock_threshold" in changes:
                services.stock_threshold_set(product=level.product, low_stock_threshold=changes["low_stock_threshold"])
        return Response(StockLevelSerializer(self.get_queryset().get(pk=level.pk)).data)

    @extend_schema(
        request=AdjustmentSerializer,
        responses={
            201: StockMovementSerializer,
            409: conflict("insufficient_stock (with product, requested, available)"),
        },
    )
    @action(
        detail=True,
        methods=["post"],
        permission_classes=[permission_required("inventory.view_stocklevel", "inventory.add_stockmovement")],
    )
    def adjustments(self, request, product_id=None):
        level = self.get_object()
        payload = AdjustmentSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        movement = services.stock_adjust(
            product=level.product,
            delta=payload.validated_data["delta"],
            reason=MovementReason(payload.validated_data["reason"]),
            actor=request.user,
            note=payload.validated_data["note"],
        )
        return Response(
            StockMovementSerializer(selectors.movement_list().get(pk=movement.pk)).data, status=HTTPStatus.CREATED
        )


class LedgerPageMixin:
    """Ledger pages render with movement_data: StockMovementSerializer over 50 rows cost most of the request."""

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response([movement_data(movement) for movement in page])


class StockMovementViewSet(LedgerPageMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """The stock ledger, newest first: append-only, so there is nothing here to change or delete."""

    serializer_class = StockMovementSerializer
    filterset_class = StockMovementFilter
    ordering_fields = ["created_at", "id"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self):
        return selectors.movement_list()


@extend_schema_view(get=extend_schema(operation_id="inventory_product_changes_list"))
class ProductLedgerView(LedgerPageMixin, generics.ListAPIView):
    """One product's ledger, newest first."""

    serializer_class = StockMovementSerializer
    filterset_class = StockMovementFilter
    ordering_fields = ["created_at", "id"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return selectors.movement_list().none()
        product = get_object_or_404(Product, pk=self.kwargs["product_id"])
        return selectors.movement_list().filter(product=product)
