from datetime import timedelta

import django_filters
from django.db.models import Exists, OuterRef
from rest_framework.exceptions import ValidationError

from ecommerce_admin.store_calendar import day_start

from .models import Channel, Sale, SaleLine, SaleStatus


class SaleFilter(django_filters.FilterSet):
    start_date = django_filters.DateFilter(method="filter_start_date", label="Sold on or after this store date")
    end_date = django_filters.DateFilter(method="filter_end_date", label="Sold on or before this store date")
    channel = django_filters.ChoiceFilter(choices=Channel.choices)
    status = django_filters.ChoiceFilter(choices=SaleStatus.choices)
    product = django_filters.NumberFilter(method="filter_product", label="Has a line of this product")
    category = django_filters.NumberFilter(method="filter_category", label="Has a line sold under this category")

    class Meta:
        model = Sale
        fields = ["start_date", "end_date", "channel", "status", "product", "category"]

    def filter_queryset(self, queryset):
        start, end = self.form.cleaned_data.get("start_date"), self.form.cleaned_data.get("end_date")
        if start and end and start > end:
            raise ValidationError({"start_date": ["start_date must not be after end_date."]})
        return super().filter_queryset(queryset)

    def filter_start_date(self, queryset, name, value):
        return queryset.filter(sold_at__gte=day_start(value))

    def filter_end_date(self, queryset, name, value):
        return queryset.filter(sold_at__lt=day_start(value + timedelta(days=1)))

    def filter_product(self, queryset, name, value):
        return queryset.filter(Exists(SaleLine.objects.filter(sale=OuterRef("pk"), product_id=value)))

    def filter_category(self, queryset, name, value):
        return queryset.filter(Exists(SaleLine.objects.filter(sale=OuterRef("pk"), category_id=value)))
