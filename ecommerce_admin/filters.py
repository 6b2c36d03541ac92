from datetime import timedelta

import django_filters
from rest_framework.exceptions import ValidationError

from .store_calendar import day_start


class StoreDateRangeFilterSet(django_filters.FilterSet):
    """`start_date`/`end_date` filters: store-local calendar dates, both inclusive, on `date_field`."""

    date_field: str = ""

    start_date = django_filters.DateFilter(method="filter_start_date", label="On or after this store date")
    end_date = django_filters.DateFilter(method="filter_end_date", label="On or before this store date")

    def filter_queryset(self, queryset):
        start, end = self.form.cleaned_data.get("start_date"), self.form.cleaned_data.get("end_date")
        if start and end and start > end:
            raise ValidationError({"start_date": ["start_date must not be after end_date."]})
        return super().filter_queryset(queryset)

    def filter_start_date(self, queryset, name, value):
        return queryset.filter(**{f"{self.date_field}__gte": day_start(value)})

    def filter_end_date(self, queryset, name, value):
        return queryset.filter(**{f"{self.date_field}__lt": day_start(value + timedelta(days=1))})
