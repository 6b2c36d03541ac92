from decimal import Decimal

import factory

from catalog import services
from catalog.models import Category, Product


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return services.category_create(**kwargs)


class ProductFactory(factory.django.DjangoModelFactory):
    """Products made through the service, so each gets its stock level and opening ledger row."""

    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    name = factory.Sequence(lambda n: f"Product {n}")
    category = factory.SubFactory(CategoryFactory)
    price = Decimal("19.99")
    cost = Decimal("8.00")
    initial_stock = 0
    low_stock_threshold = None

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return services.product_create(**kwargs)
