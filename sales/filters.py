import django_filters
from django.db.models import Exists, OuterRef

from ecommerce_admin.filters import StoreDateRangeFilterSet

from .models import Channel, Sale, SaleLine, SaleStatus


class SaleFilter(StoreDateRangeFilterSet):
    date_field = "sold_at"

    channel = django_filters.ChoiceFilter(choices=Channel.choices)
    status = django_filters.ChoiceFilter(choices=SaleStatus.choices)
    product = django_filters.NumberFilter(method="filter_product", label="Has a line of this product")
    category = django_filters.NumberFilter(method="filter_category", label="Has a line sold under this category")

    class Meta:
        model = Sale
        fields = ["start_date", "end_date", "channel", "status", "product", "category"]

    def filter_product(self, queryset, name, value):
        return queryset.filter(Exists(SaleLine.objects.filter(sale=OuterRef("pk"), product_id=value)))

    def filter_category(self, queryset, name, value):
        return queryset.filter(Exists(SaleLine.objects.filter(sale=OuterRef("pk"), category_id=value)))
