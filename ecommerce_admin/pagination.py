from collections.abc import Callable
from functools import cached_property

from django.core.paginator import Paginator
from django.db.models import Model, QuerySet
from rest_framework import pagination

_table_counts: dict[type[Model], Callable[[], int]] = {}


def register_table_count(model: type[Model], count: Callable[[], int]) -> None:
    """Count every row of `model` with `count()`: an exact figure kept elsewhere, cheaper than COUNT(*).

    A list's `count` is a COUNT(*) over the whole table when no filter applies, which InnoDB answers
    by reading an index end to end: 0.19 s for 680,000 sales, 1 to 2 s at 10M sale lines. A higher
    layer that keeps the number anyway registers it here (`insights` for sales, from its summaries).
    """
    _table_counts[model] = count


class TableCountPaginator(Paginator):
    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if isinstance(queryset, QuerySet) and not queryset.query.where and queryset.model in _table_counts:
            return _table_counts[queryset.model]()
        return super().count


class PageNumberPagination(pagination.PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500
    django_paginator_class = TableCountPaginator
