from functools import cache

from django.db.models import Count, F, QuerySet

from .models import Category, Product


def category_list() -> QuerySet[Category]:
    return Category.objects.annotate(product_count=Count("products"))


def product_list() -> QuerySet[Product]:
    """Products with their stock (the product JSON's category name comes from `with_category_names`)."""
    return _products_with_stock().all()


# The hottest reads clone a queryset built once per process: resolving its annotations and field
# list costs more than the query itself. A queryset is only a description until evaluated, and
# every use below clones it first, so sharing it between requests and threads is safe.
@cache
def _products_with_stock() -> QuerySet[Product]:
    # stock_level is the reverse one-to-one that `inventory` owns; reading it here needs no import.
    return Product.objects.annotate(
        stock=F("stock_level__quantity"),
        low_stock_threshold=F("stock_level__low_stock_threshold"),
    )


@cache
def _product_rows() -> QuerySet:
    return _products_with_stock().annotate(category_name=F("category__name")).values(*PRODUCT_FIELDS, "category_name")


PRODUCT_FIELDS = (
    "id", "sku", "name", "description", "category", "price", "cost", "is_active", "stock", "low_stock_threshold",
    "created_at", "updated_at",
)  # fmt: skip


def product_values(products: QuerySet[Product]) -> QuerySet:
    """The product JSON's fields as plain dicts: hot reads skip model instances and serializer objects."""
    return products.values(*PRODUCT_FIELDS)


def with_category_names(rows: list[dict]) -> list[dict]:
    """Add each row's category name, read in one query.

    A second query on purpose: joining the categories into a paged product query makes MariaDB
    drive the join from the small category table and sort every product for each page.
    """
    names = dict(Category.objects.filter(pk__in={row["category"] for row in rows}).values_list("pk", "name"))
    for row in rows:
        row["category_name"] = names[row["category"]]
    return rows


def product_row(*, product_id: int) -> dict:
    """One product's JSON fields (raises Product.DoesNotExist)."""
    return _product_rows().get(pk=product_id)
