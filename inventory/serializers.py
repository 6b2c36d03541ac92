from typing import Any

from rest_framework import serializers

from catalog.serializers import MAX_STOCK

from .models import MANUAL_REASONS, StockLevel, StockMovement


class StockLevelSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(read_only=True)
    product_name = serializers.CharField(read_only=True)
    is_low = serializers.BooleanField(read_only=True)

    class Meta:
        model = StockLevel
        fields = ["product", "sku", "product_name", "quantity", "low_stock_threshold", "is_low", "updated_at"]
        read_only_fields = fields


class StockLevelAtSerializer(StockLevelSerializer):
    at = serializers.DateTimeField(read_only=True)

    class Meta(StockLevelSerializer.Meta):
        fields = [*StockLevelSerializer.Meta.fields, "at"]
        read_only_fields = fields


class StockLevelUpdateSerializer(serializers.Serializer):
    quantity = serializers.IntegerField(min_value=0, max_value=MAX_STOCK, required=False)
    low_stock_threshold = serializers.IntegerField(min_value=0, max_value=MAX_STOCK, required=False)
    expected_quantity = serializers.IntegerField(min_value=0, max_value=MAX_STOCK, required=False)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")

    def validate(self, attrs):
        if "expected_quantity" in attrs and "quantity" not in attrs:
            raise serializers.ValidationError({"expected_quantity": ["expected_quantity goes with quantity."]})
        return attrs


class AdjustmentSerializer(serializers.Serializer):
    delta = serializers.IntegerField(min_value=-MAX_STOCK, max_value=MAX_STOCK)
    reason = serializers.ChoiceField(choices=[(reason.value, reason.label) for reason in MANUAL_REASONS])
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")

    def validate_delta(self, value: int) -> int:
        if value == 0:
            raise serializers.ValidationError("delta must not be zero.")
        return value


class StockMovementSerializer(serializers.ModelSerializer):
    sale = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = StockMovement
        fields = ["id", "product", "delta", "quantity_after", "reason", "note", "actor", "sale", "refund", "created_at"]
        read_only_fields = fields


_TIMESTAMP = serializers.DateTimeField(read_only=True)  # stateless, so shared


def movement_data(movement: StockMovement) -> dict[str, Any]:
    """Render a ledger row exactly as StockMovementSerializer does, for the ledger's pages.

    The serializer built and walked its fields for each of a page's 50 rows: more CPU than the
    rest of the request. `movement.sale` is the annotation of `selectors.movement_list()`.
    tests/test_api.py holds both renderings equal.
    """
    return {
        "id": movement.pk,
        "product": movement.product_id,
        "delta": int(movement.delta),
        "quantity_after": int(movement.quantity_after),
        "reason": str(movement.reason),
        "note": str(movement.note),
        "actor": movement.actor_id,
        "sale": movement.sale,
        "refund": movement.refund_id,
        "created_at": _TIMESTAMP.to_representation(movement.created_at),
    }


class AtQuerySerializer(serializers.Serializer):
    at = serializers.DateTimeField(required=False)
