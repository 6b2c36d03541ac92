from datetime import timedelta
from decimal import Decimal

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
