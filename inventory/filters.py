import django_filters
from django.db.models import F

from ecommerce_admin.filters import StoreDateRangeFilterSet

from .models import MovementReason, StockLevel, StockMovement


class StockLevelFilter(django_filters.FilterSet):
    low = django_filters.BooleanFilter(method="filter_low", label="Stock at or below its threshold")
    category = django_filters.NumberFilter(field_name="product__category_id")

    class Meta:
        model = StockLevel
        fields = ["low", "category"]

    def filter_low(self, queryset, name, value):
        low = {"quantity__lte": F("low_stock_threshold")}
        return queryset.filter(**low) if value else queryset.exclude(**low)


class StockMovementFilter(StoreDateRangeFilterSet):
    date_field = "created_at"

    product = django_filters.NumberFilter(field_name="product_id")
    reason = django_filters.ChoiceFilter(choices=MovementReason.choices)

    class Meta:
        model = StockMovement
        fields = ["product", "reason", "start_date", "end_date"]
