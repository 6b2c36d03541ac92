from http import HTTPStatus

import pytest

from catalog.models import Category, Product
from catalog.tests.factories import CategoryFactory, ProductFactory
from inventory.models import StockLevel, StockMovement

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client, make_user):
    client.force_login(make_user(is_superuser=True))
    return client


def stock_inline(initial: int, product=None) -> dict:
    """The management form of the stock inline that the inventory app adds to the product page."""
    data = {"stock_level-TOTAL_FORMS": str(initial), "stock_level-INITIAL_FORMS": str(initial),
            "stock_level-MIN_NUM_FORMS": "0", "stock_level-MAX_NUM_FORMS": "0"}  # fmt: skip
    if product is not None:
        data["stock_level-0-product"] = str(product.pk)
    return data


@pytest.mark.parametrize("url", ["/admin/catalog/product/", "/admin/catalog/category/"])
def test_admin_changelists_and_search_render(staff, url):
    ProductFactory(name="Teapot")
    assert staff.get(url).status_code == HTTPStatus.OK
    assert staff.get(url, {"q": "Teapot"}).status_code == HTTPStatus.OK


def test_admin_product_add_goes_through_the_service_and_opens_stock(staff):
    category = CategoryFactory()
    response = staff.post(
        "/admin/catalog/product/add/",
        {"sku": "ADM-1", "name": "Kettle", "description": "", "category": category.pk, "price": "30.00",
         "cost": "", "is_active": "on", "initial_stock": "7", "low_stock_threshold": "2", **stock_inline(0)},
    )  # fmt: skip

    assert response.status_code == HTTPStatus.FOUND, response.content
    product = Product.objects.get(sku="ADM-1")
    assert StockLevel.objects.get(product=product).quantity == 7
    assert StockMovement.objects.get(product=product).reason == "initial"


def test_admin_product_change_and_add_pages_render(staff):
    product = ProductFactory()
    assert staff.get("/admin/catalog/product/add/").status_code == HTTPStatus.OK
    assert staff.get(f"/admin/catalog/product/{product.pk}/change/").status_code == HTTPStatus.OK


def test_admin_product_change_saves(staff):
    product = ProductFactory()
    response = staff.post(
        f"/admin/catalog/product/{product.pk}/change/",
        {"sku": product.sku, "name": "Renamed", "description": "", "category": product.category_id,
         "price": "1.00", "cost": "", "is_active": "on", **stock_inline(1, product)},
    )  # fmt: skip
    assert response.status_code == HTTPStatus.FOUND
    assert Product.objects.get(pk=product.pk).name == "Renamed"


def test_admin_archive_action(staff):
    product = ProductFactory()
    staff.post("/admin/catalog/product/", {"action": "archive", "_selected_action": [product.pk]})
    assert Product.objects.get(pk=product.pk).is_active is False


def test_admin_category_add_and_autocomplete(staff):
    response = staff.post("/admin/catalog/category/add/", {"name": "Tea", "slug": "tea"})
    assert response.status_code == HTTPStatus.FOUND
    assert Category.objects.filter(slug="tea").exists()
    autocomplete = staff.get(
        "/admin/autocomplete/",
        {"app_label": "catalog", "model_name": "product", "field_name": "category", "term": "Te"},
    )
    assert autocomplete.status_code == HTTPStatus.OK
    assert autocomplete.json()["results"][0]["text"] == "Tea"
