from django.db.models import Count, F, QuerySet

from .models import Category, Product


def category_list() -> QuerySet[Category]:
    return Category.objects.annotate(product_count=Count("products"))


def product_list() -> QuerySet[Product]:
    """Products with their category name and stock, ready for the product JSON in one query."""
    # stock_level is the reverse one-to-one that `inventory` owns; reading it here needs no import.
    return Product.objects.select_related("category").annotate(
        stock=F("stock_level__quantity"),
        low_stock_threshold=F("stock_level__low_stock_threshold"),
    )


PRODUCT_FIELDS = (
    "id", "sku", "name", "description", "category", "category_name", "price", "cost", "is_active", "stock",
    "low_stock_threshold", "created_at", "updated_at",
)  # fmt: skip


def product_rows(products: QuerySet[Product]) -> QuerySet:
    """The product JSON's fields as plain dicts: hot reads skip model instances and serializer objects."""
    return products.annotate(category_name=F("category__name")).values(*PRODUCT_FIELDS)
