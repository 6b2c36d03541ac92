from collections.abc import Iterable
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone
from rest_framework import serializers

from . import services
from .models import Channel, Refund, RefundLine, Sale, SaleLine

MAX_ID = 2**63 - 1  # a BigAutoField


class SaleLineInputSerializer(serializers.Serializer):
    # Resolved in bulk by the service (one query for all lines), which names an unknown product.
    product = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    quantity = serializers.IntegerField(min_value=1, max_value=services.MAX_LINE_QUANTITY)
    unit_price = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=Decimal("0"), required=False, allow_null=True
    )


class SaleCreateSerializer(serializers.Serializer):
    lines = SaleLineInputSerializer(many=True, allow_empty=False, max_length=services.MAX_LINES)
    channel = serializers.ChoiceField(choices=Channel.choices, default=Channel.WEB)
    sold_at = serializers.DateTimeField(required=False, allow_null=True)
    customer_email = serializers.EmailField(required=False, allow_blank=True, default="", max_length=254)
    note = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")

    def validate_sold_at(self, value):
        if value is not None and value > timezone.now() + timedelta(minutes=5):
            raise serializers.ValidationError(services.SOLD_IN_THE_FUTURE)
        return value


class SaleLineSerializer(serializers.ModelSerializer):
    category = serializers.IntegerField(source="category_id", allow_null=True)

    class Meta:
        model = SaleLine
        fields = [
            "id",
            "product",
            "sku",
            "product_name",
            "category",
            "category_name",
            "quantity",
            "unit_price",
            "line_total",
            "refunded_quantity",
        ]
        read_only_fields = fields


class SaleSerializer(serializers.ModelSerializer):
    lines = SaleLineSerializer(many=True, read_only=True)
    # Blank when not given: a plain string in the schema, not format "email", which "" would break.
    customer_email = serializers.CharField(read_only=True)
    net_total = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True)

    class Meta:
        model = Sale
        fields = [
            "id",
            "number",
            "channel",
            "status",
            "sold_at",
            "customer_email",
            "note",
            "total",
            "refunded_total",
            "net_total",
            "lines",
            "created_by",
            "created_at",
        ]
        read_only_fields = fields


# The formatting SaleSerializer's fields apply, for `sale_data`: stateless, so shared.
_MONEY = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True)
_TIMESTAMP = serializers.DateTimeField(read_only=True)


def sale_data(sale: Sale, *, lines: Iterable[SaleLine] | None = None) -> dict[str, Any]:
    """Render a sale exactly as SaleSerializer does, from the objects in memory.

    Every read of sales through the API, and the answer to recording one: building a
    ModelSerializer's fields cost more than writing the sale did, and twice the rest of a page of
    50. The lines are `lines` if given (a page's, read at once by `selectors.lines_of_sales`), else
    `sale.lines.all()`: what the service left in the prefetch cache for a new sale, one query for
    any other. tests/test_api.py holds both renderings equal.
    """
    money, timestamp = _MONEY.to_representation, _TIMESTAMP.to_representation
    return {
        "id": sale.pk,
        "number": str(sale.number),
        "channel": str(sale.channel),
        "status": str(sale.status),
        "sold_at": timestamp(sale.sold_at),
        "customer_email": str(sale.customer_email),
        "note": str(sale.note),
        "total": money(sale.total),
        "refunded_total": money(sale.refunded_total),
        "net_total": money(sale.net_total),
        "lines": [
            {
                "id": line.pk,
                "product": line.product_id,
                "sku": str(line.sku),
                "product_name": str(line.product_name),
                "category": None if line.category_id is None else int(line.category_id),
                "category_name": str(line.category_name),
                "quantity": int(line.quantity),
                "unit_price": money(line.unit_price),
                "line_total": money(line.line_total),
                "refunded_quantity": int(line.refunded_quantity),
            }
            for line in (sale.lines.all() if lines is None else lines)
        ],
        "created_by": sale.created_by_id,
        "created_at": timestamp(sale.created_at),
    }


class RefundLineInputSerializer(serializers.Serializer):
    line = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    quantity = serializers.IntegerField(min_value=1, max_value=services.MAX_LINE_QUANTITY)


class RefundCreateSerializer(serializers.Serializer):
    lines = RefundLineInputSerializer(many=True, allow_empty=False, max_length=services.MAX_LINES)
    restock = serializers.BooleanField(default=True)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


class RefundLineSerializer(serializers.ModelSerializer):
    line = serializers.IntegerField(source="sale_line_id")

    class Meta:
        model = RefundLine
        fields = ["id", "line", "quantity", "amount"]
        read_only_fields = fields


class RefundSerializer(serializers.ModelSerializer):
    lines = RefundLineSerializer(many=True, read_only=True)

    class Meta:
        model = Refund
        fields = ["id", "sale", "amount", "restocked", "reason", "lines", "created_at"]
        read_only_fields = fields
