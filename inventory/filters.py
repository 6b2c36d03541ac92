from datetime import timedelta

import django_filters
from django.db.models import F
from rest_framework.exceptions import ValidationError

from ecommerce_admin.store_calendar import day_start

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


class StockMovementFilter(django_filters.FilterSet):
    product = django_filters.NumberFilter(field_name="product_id")
    reason = django_filters.ChoiceFilter(choices=MovementReason.choices)
    start_date = django_filters.DateFilter(method="filter_start_date", label="On or after this store date")
    end_date = django_filters.DateFilter(method="filter_end_date", label="On or before this store date")

    class Meta:
        model = StockMovement
        fields = ["product", "reason", "start_date", "end_date"]

    def filter_queryset(self, queryset):
        start, end = self.form.cleaned_data.get("start_date"), self.form.cleaned_data.get("end_date")
        if start and end and start > end:
            raise ValidationError({"start_date": ["start_date must not be after end_date."]})
        return super().filter_queryset(queryset)

    def filter_start_date(self, queryset, name, value):
        return queryset.filter(created_at__gte=day_start(value))

    def filter_end_date(self, queryset, name, value):
        return queryset.filter(created_at__lt=day_start(value + timedelta(days=1)))
