from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from catalog import services
from catalog.models import Category, Product
from catalog.tests.factories import CategoryFactory, ProductFactory
from inventory.models import MovementReason, StockLevel, StockMovement

pytestmark = pytest.mark.django_db


def test_product_create_opens_stock_and_records_initial_stock_in_the_ledger():
    product = ProductFactory(initial_stock=25, low_stock_threshold=4)

    level = StockLevel.objects.get(product=product)
    assert (level.quantity, level.low_stock_threshold) == (25, 4)
    [movement] = StockMovement.objects.filter(product=product)
    assert (movement.delta, movement.quantity_after, movement.reason) == (25, 25, MovementReason.INITIAL)


def test_product_create_without_initial_stock_writes_no_ledger_row_and_uses_default_threshold(settings):
    settings.DEFAULT_LOW_STOCK_THRESHOLD = 7
    product = ProductFactory(initial_stock=0)

    assert StockLevel.objects.get(product=product).low_stock_threshold == 7
    assert not StockMovement.objects.filter(product=product).exists()


def test_product_create_rejects_duplicate_sku_and_writes_nothing():
    ProductFactory(sku="DUP-1")
    with pytest.raises(ValidationError) as error:
        ProductFactory(sku="DUP-1", initial_stock=5)

    assert "sku" in error.value.message_dict
    assert Product.objects.filter(sku="DUP-1").count() == 1
    assert StockMovement.objects.count() == 0


def test_product_create_rejects_non_positive_price():
    with pytest.raises(ValidationError) as error:
        ProductFactory(price=Decimal("0"))
    assert "price" in error.value.message_dict


def test_product_update_changes_fields_and_threshold():
    product = ProductFactory(low_stock_threshold=3)
    services.product_update(product=product, name="Renamed", price=Decimal("5.50"), low_stock_threshold=9)

    product.refresh_from_db()
    assert (product.name, product.price) == ("Renamed", Decimal("5.50"))
    assert StockLevel.objects.get(product=product).low_stock_threshold == 9


def test_product_delete_removes_a_never_sold_product_with_its_stock():
    product = ProductFactory(initial_stock=3)
    services.product_delete(product=product)

    assert not Product.objects.filter(pk=product.pk).exists()
    assert not StockLevel.objects.filter(product_id=product.pk).exists()


def test_category_create_derives_the_slug_from_the_name():
    category = services.category_create(name="Home & Kitchen")
    assert category.slug == "home-kitchen"


def test_category_delete_refuses_a_category_in_use():
    product = ProductFactory()
    with pytest.raises(services.CategoryInUse):
        services.category_delete(category=product.category)
    assert Category.objects.filter(pk=product.category_id).exists()


def test_category_delete_removes_an_empty_category():
    category = CategoryFactory()
    services.category_delete(category=category)
    assert not Category.objects.filter(pk=category.pk).exists()
