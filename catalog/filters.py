import django_filters
from django.db.models import F

from .models import Product


class ProductFilter(django_filters.FilterSet):
    min_price = django_filters.NumberFilter(field_name="price", lookup_expr="gte")
    max_price = django_filters.NumberFilter(field_name="price", lookup_expr="lte")
    low_stock = django_filters.BooleanFilter(method="filter_low_stock", label="Stock at or below its threshold")

    class Meta:
        model = Product
        fields = ["category", "is_active"]

    def filter_low_stock(self, queryset, name, value):
        low = {"stock_level__quantity__lte": F("stock_level__low_stock_threshold")}
        return queryset.filter(**low) if value else queryset.exclude(**low)
