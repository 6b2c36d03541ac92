from decimal import Decimal

from django.conf import settings
from rest_framework import serializers

from .models import Category, Product

MAX_STOCK = 1_000_000_000


class CategorySerializer(serializers.ModelSerializer):
    product_count = serializers.IntegerField(read_only=True)
    slug = serializers.SlugField(max_length=140, required=False)

    class Meta:
        model = Category
        fields = ["id", "name", "slug", "product_count", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]


class ProductSerializer(serializers.ModelSerializer):
    category_name = serializers.CharField(source="category.name", read_only=True)
    price = serializers.DecimalField(max_digits=12, decimal_places=2)
    cost = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=Decimal("0"), required=False, allow_null=True
    )
    stock = serializers.IntegerField(read_only=True)
    low_stock_threshold = serializers.IntegerField(min_value=0, max_value=MAX_STOCK, required=False)
    initial_stock = serializers.IntegerField(min_value=0, max_value=MAX_STOCK, required=False, write_only=True)

    class Meta:
        model = Product
        fields = [
            "id",
            "sku",
            "name",
            "description",
            "category",
            "category_name",
            "price",
            "cost",
            "is_active",
            "stock",
            "low_stock_threshold",
            "initial_stock",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]

    def validate_price(self, value: Decimal) -> Decimal:
        if value <= 0:
            raise serializers.ValidationError("Ensure this value is greater than 0.")
        return value

    def validate_initial_stock(self, value: int) -> int:
        if self.instance is not None:
            raise serializers.ValidationError("Only a new product takes initial_stock; adjust stock in the inventory.")
        return value

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if "low_stock_threshold" not in data or data["low_stock_threshold"] is None:
            data["low_stock_threshold"] = settings.DEFAULT_LOW_STOCK_THRESHOLD
        return data


def product_representation(row: dict) -> dict:
    """Render a row of `selectors.product_rows` exactly as ProductSerializer renders a product."""
    cost = row["cost"]
    threshold = row["low_stock_threshold"]
    return {
        **row,
        "price": f"{row['price']:.2f}",
        "cost": None if cost is None else f"{cost:.2f}",
        "low_stock_threshold": settings.DEFAULT_LOW_STOCK_THRESHOLD if threshold is None else threshold,
    }
