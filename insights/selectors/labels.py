"""Display names for the ids analytics group by: the catalog's current names, snapshots as fallback."""

from collections.abc import Hashable, Iterable, Mapping
from typing import NamedTuple

from django.db import connection

from catalog.models import Category, Product


def category_names(ids: Iterable[Hashable], *, fallback: Mapping[Hashable, str]) -> dict[Hashable, str]:
    """Each category's current name, or the name its sale lines recorded when it no longer exists."""
    wanted = {key for key in ids if key is not None}
    current = dict(Category.objects.filter(pk__in=wanted).values_list("pk", "name")) if wanted else {}
    return {key: current.get(key, fallback.get(key, "")) for key in set(ids)}


class ProductLabel(NamedTuple):
    sku: str
    name: str
    category_name: str


def product_labels(ids: Iterable[int]) -> dict[int, ProductLabel]:
    """Each product's sku, name and category name; products that were sold can never be deleted.

    As SQL: the dashboard snapshot reads labels twice (its best sellers, its low stock), and
    building the same read with the ORM cost more CPU than MariaDB took to answer it (the stock
    rows: 1.4 ms with `select_related` + `in_bulk`, 0.3 ms so).
    """
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    quote = connection.ops.quote_name
    sql = (
        f"SELECT p.id, p.sku, p.name, c.name FROM {quote(Product._meta.db_table)} p "
        f"INNER JOIN {quote(Category._meta.db_table)} c ON c.id = p.category_id "
        f"WHERE p.id IN ({', '.join(['%s'] * len(wanted))})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, wanted)
        return {product_id: ProductLabel(*label) for product_id, *label in cursor.fetchall()}
