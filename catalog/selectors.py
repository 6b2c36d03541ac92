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
