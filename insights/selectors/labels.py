"""Display names for the ids analytics group by: the catalog's current names, snapshots as fallback."""

from collections.abc import Hashable, Iterable, Mapping

from catalog.models import Category, Product


def category_names(ids: Iterable[Hashable], *, fallback: Mapping[Hashable, str]) -> dict[Hashable, str]:
    """Each category's current name, or the name its sale lines recorded when it no longer exists."""
    wanted = {key for key in ids if key is not None}
    current = dict(Category.objects.filter(pk__in=wanted).values_list("pk", "name")) if wanted else {}
    return {key: current.get(key, fallback.get(key, "")) for key in set(ids)}


def product_labels(ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    """Each product's (sku, name); products that were sold can never be deleted."""
    wanted = set(ids)
    if not wanted:
        return {}
    return {pk: (sku, name) for pk, sku, name in Product.objects.filter(pk__in=wanted).values_list("pk", "sku", "name")}
