from http import HTTPStatus

import pytest

from catalog.tests.factories import ProductFactory
from inventory.models import StockLevel, StockMovement

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client, make_user):
    client.force_login(make_user(is_superuser=True))
    return client


def quantity(product) -> int:
    return StockLevel.objects.get(product=product).quantity


@pytest.mark.parametrize(
    "url", ["/admin/inventory/stocklevel/", "/admin/inventory/stockmovement/", "/admin/catalog/product/"]
)
def test_inventory_changelists_search_and_filter(staff, url):
    ProductFactory(name="Teapot", initial_stock=3)
    assert staff.get(url).status_code == HTTPStatus.OK
    assert staff.get(url, {"q": "Teapot"}).status_code == HTTPStatus.OK


def test_ledger_admin_is_read_only(staff):
    product = ProductFactory(initial_stock=3)
    movement = StockMovement.objects.get(product=product)
    assert staff.get("/admin/inventory/stockmovement/?reason__exact=initial").status_code == HTTPStatus.OK
    assert staff.get("/admin/inventory/stockmovement/add/").status_code == HTTPStatus.FORBIDDEN
    change = staff.post(f"/admin/inventory/stockmovement/{movement.pk}/change/", {"delta": 99})
    assert change.status_code == HTTPStatus.FORBIDDEN
    assert staff.post(f"/admin/inventory/stockmovement/{movement.pk}/delete/", {"post": "yes"}).status_code == 403
    assert StockMovement.objects.get(pk=movement.pk).delta == 3


def test_product_page_shows_its_stock_inline(staff):
    product = ProductFactory(initial_stock=42)
    page = staff.get(f"/admin/catalog/product/{product.pk}/change/").content.decode()
    assert "42" in page
    assert "stock" in page.lower()


def test_restock_action_asks_for_a_quantity_then_goes_through_the_ledger(staff):
    first, second = ProductFactory(initial_stock=1), ProductFactory(initial_stock=0)
    selection = {"action": "restock", "_selected_action": [first.pk, second.pk]}

    form_page = staff.post("/admin/catalog/product/", selection)
    assert form_page.status_code == HTTPStatus.OK
    assert b'name="quantity"' in form_page.content

    done = staff.post("/admin/catalog/product/", {**selection, "apply": "1", "quantity": "6", "note": "PO-1"})
    assert done.status_code == HTTPStatus.FOUND
    assert (quantity(first), quantity(second)) == (7, 6)
    assert StockMovement.objects.filter(reason="restock", note="PO-1").count() == 2


def test_restock_action_rejects_a_bad_quantity(staff):
    product = ProductFactory(initial_stock=1)
    response = staff.post(
        "/admin/inventory/stocklevel/",
        {"action": "restock", "_selected_action": [product.pk], "apply": "1", "quantity": "-3"},
    )
    assert response.status_code == HTTPStatus.OK
    assert quantity(product) == 1


def test_stock_level_change_form_adjusts_through_the_service(staff):
    product = ProductFactory(initial_stock=10, low_stock_threshold=2)
    response = staff.post(
        f"/admin/inventory/stocklevel/{product.pk}/change/",
        {"low_stock_threshold": "4", "adjust_by": "-3", "reason": "damage", "note": "dropped"},
    )
    assert response.status_code == HTTPStatus.FOUND
    level = StockLevel.objects.get(product=product)
    assert (level.quantity, level.low_stock_threshold) == (7, 4)
    assert StockMovement.objects.filter(reason="damage", delta=-3, note="dropped").count() == 1


def test_stock_level_change_form_refuses_going_below_zero(staff):
    product = ProductFactory(initial_stock=2)
    response = staff.post(
        f"/admin/inventory/stocklevel/{product.pk}/change/",
        {"low_stock_threshold": "4", "adjust_by": "-3", "reason": "damage", "note": ""},
    )
    assert response.status_code == HTTPStatus.FOUND
    assert quantity(product) == 2
    assert StockLevel.objects.get(product=product).low_stock_threshold == 10
