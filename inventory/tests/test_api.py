import json
from datetime import timedelta
from http import HTTPStatus

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.tests.factories import CategoryFactory, ProductFactory
from inventory import selectors, services
from inventory.models import MovementReason, StockLevel, StockMovement
from inventory.serializers import StockMovementSerializer

pytestmark = pytest.mark.django_db

MOVEMENT_FIELDS = {
    "id",
    "product",
    "delta",
    "quantity_after",
    "reason",
    "note",
    "actor",
    "sale",
    "refund",
    "created_at",
}


def quantity(product) -> int:
    return StockLevel.objects.get(product=product).quantity


def test_inventory_routes_auth_matrix(api, client_as):
    product = ProductFactory(initial_stock=10)
    routes = [
        ("get", "/api/v1/inventory/", None, ("inventory.view_stocklevel",), HTTPStatus.OK),
        ("get", f"/api/v1/inventory/{product.pk}/", None, ("inventory.view_stocklevel",), HTTPStatus.OK),
        ("patch", f"/api/v1/inventory/{product.pk}/", {"quantity": 9},
         ("inventory.view_stocklevel", "inventory.change_stocklevel"), HTTPStatus.OK),
        ("put", f"/api/v1/inventory/{product.pk}/", {"quantity": 8},
         ("inventory.view_stocklevel", "inventory.change_stocklevel"), HTTPStatus.OK),
        ("post", f"/api/v1/inventory/{product.pk}/adjustments/", {"delta": 1, "reason": "restock"},
         ("inventory.view_stocklevel", "inventory.add_stockmovement"), HTTPStatus.CREATED),
        ("get", "/api/v1/inventory/changes/", None, ("inventory.view_stockmovement",), HTTPStatus.OK),
        ("get", f"/api/v1/inventory/changes/{product.pk}/", None, ("inventory.view_stockmovement",), HTTPStatus.OK),
    ]  # fmt: skip
    for method, url, body, perms, allowed in routes:
        assert getattr(api, method)(url, body).status_code == HTTPStatus.UNAUTHORIZED, url
        assert getattr(client_as(), method)(url, body).status_code == HTTPStatus.FORBIDDEN, url
        assert getattr(client_as(*perms), method)(url, body).status_code == allowed, url


def test_inventory_clerk_may_adjust_stock_but_not_prices_or_sales(client_as):
    product = ProductFactory(initial_stock=10)
    clerk = client_as(groups=("Inventory clerk",))

    adjust = clerk.post(f"/api/v1/inventory/{product.pk}/adjustments/", {"delta": -1, "reason": "damage"})
    assert adjust.status_code == HTTPStatus.CREATED
    assert clerk.patch(f"/api/v1/products/{product.pk}/", {"price": "1.00"}).status_code == HTTPStatus.FORBIDDEN
    sale = clerk.post("/api/v1/sales/", {"lines": [{"product": product.pk, "quantity": 1}]})
    assert sale.status_code == HTTPStatus.FORBIDDEN


def test_stock_level_shape_and_filters(client_as):
    books = CategoryFactory()
    low = ProductFactory(sku="LOW", name="Scarce", category=books, initial_stock=2, low_stock_threshold=5)
    ProductFactory(sku="OK", name="Plenty", initial_stock=50, low_stock_threshold=5)
    client = client_as("inventory.view_stocklevel")

    rows = client.get("/api/v1/inventory/?low=true").json()["results"]
    assert len(rows) == 1
    assert set(rows[0]) == {"product", "sku", "product_name", "quantity", "low_stock_threshold", "is_low", "updated_at"}
    assert (rows[0]["product"], rows[0]["sku"], rows[0]["quantity"], rows[0]["is_low"]) == (low.pk, "LOW", 2, True)
    assert [r["sku"] for r in client.get(f"/api/v1/inventory/?category={books.pk}").json()["results"]] == ["LOW"]
    assert [r["sku"] for r in client.get("/api/v1/inventory/?search=plen").json()["results"]] == ["OK"]
    assert [r["sku"] for r in client.get("/api/v1/inventory/?low=false").json()["results"]] == ["OK"]


def test_stock_at_a_past_instant_comes_from_the_ledger(client_as):
    product = ProductFactory(initial_stock=10)
    created = StockMovement.objects.get(product=product).created_at
    services.stock_adjust(product=product, delta=-4, reason=MovementReason.DAMAGE)
    client = client_as("inventory.view_stocklevel")

    def at(instant):
        response = client.get(f"/api/v1/inventory/{product.pk}/", {"at": instant.isoformat()})
        assert response.status_code == HTTPStatus.OK, response.json()
        return response.json()["quantity"]

    assert at(created - timedelta(seconds=1)) == 0
    assert at(created) == 10
    assert at(timezone.now() + timedelta(seconds=1)) == 6
    assert client.get(f"/api/v1/inventory/{product.pk}/").json()["quantity"] == 6
    bad = client.get(f"/api/v1/inventory/{product.pk}/", {"at": "last tuesday"})
    assert bad.status_code == HTTPStatus.BAD_REQUEST
    assert "at" in bad.json()


def test_setting_quantity_records_an_adjustment(client_as):
    product = ProductFactory(initial_stock=10)
    client = client_as("inventory.view_stocklevel", "inventory.change_stocklevel")

    response = client.patch(
        f"/api/v1/inventory/{product.pk}/", {"quantity": 7, "note": "count", "low_stock_threshold": 3}
    )

    assert response.status_code == HTTPStatus.OK
    assert (response.json()["quantity"], response.json()["low_stock_threshold"]) == (7, 3)
    movement = StockMovement.objects.filter(product=product).first()
    assert (movement.delta, movement.quantity_after, movement.reason, movement.note) == (-3, 7, "adjustment", "count")


def test_compare_and_set_refuses_a_stale_quantity(client_as):
    product = ProductFactory(initial_stock=10)
    client = client_as("inventory.view_stocklevel", "inventory.change_stocklevel")
    services.stock_adjust(product=product, delta=-1, reason=MovementReason.DAMAGE)

    stale = client.patch(f"/api/v1/inventory/{product.pk}/", {"quantity": 20, "expected_quantity": 10})
    fresh = client.patch(f"/api/v1/inventory/{product.pk}/", {"quantity": 20, "expected_quantity": 9})

    assert stale.status_code == HTTPStatus.CONFLICT
    assert stale.json()["code"] == "stale_quantity"
    assert fresh.status_code == HTTPStatus.OK
    assert quantity(product) == 20


@pytest.mark.parametrize(
    ("body", "field"),
    [({"quantity": -1}, "quantity"), ({"quantity": "lots"}, "quantity"), ({"low_stock_threshold": -1},
     "low_stock_threshold"), ({"expected_quantity": 3}, "expected_quantity"), ({"quantity": 10**12}, "quantity")],
)  # fmt: skip
def test_stock_update_rejects_bad_input(client_as, body, field):
    product = ProductFactory(initial_stock=10)
    response = client_as("inventory.view_stocklevel", "inventory.change_stocklevel").patch(
        f"/api/v1/inventory/{product.pk}/", body
    )
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert field in response.json()
    assert quantity(product) == 10


def test_adjustment_returns_the_movement(client_as, make_user):
    product = ProductFactory(initial_stock=10)
    response = client_as("inventory.view_stocklevel", "inventory.add_stockmovement").post(
        f"/api/v1/inventory/{product.pk}/adjustments", {"delta": 5, "reason": "restock", "note": "PO-7"}
    )
    assert response.status_code == HTTPStatus.CREATED
    body = response.json()
    assert set(body) == MOVEMENT_FIELDS
    assert (body["product"], body["delta"], body["quantity_after"], body["reason"], body["note"]) == (
        product.pk, 5, 15, "restock", "PO-7",
    )  # fmt: skip
    assert (body["sale"], body["refund"]) == (None, None)


def test_adjustment_below_zero_is_409(client_as):
    product = ProductFactory(initial_stock=2)
    response = client_as("inventory.view_stocklevel", "inventory.add_stockmovement").post(
        f"/api/v1/inventory/{product.pk}/adjustments/", {"delta": -3, "reason": "damage"}
    )
    assert response.status_code == HTTPStatus.CONFLICT
    assert (response.json()["code"], response.json()["available"], response.json()["requested"]) == (
        "insufficient_stock", 2, 3,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("body", "field"),
    [({"delta": 0, "reason": "restock"}, "delta"), ({"delta": 1, "reason": "sale"}, "reason"),
     ({"delta": 1, "reason": "initial"}, "reason"), ({"delta": 1.5, "reason": "restock"}, "delta"),
     ({"reason": "restock"}, "delta")],
)  # fmt: skip
def test_adjustment_rejects_bad_input(client_as, body, field):
    product = ProductFactory(initial_stock=2)
    response = client_as("inventory.view_stocklevel", "inventory.add_stockmovement").post(
        f"/api/v1/inventory/{product.pk}/adjustments/", body
    )
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert field in response.json()


def test_unknown_product_stock_is_404(client_as):
    client = client_as("inventory.view_stocklevel", "inventory.view_stockmovement")
    assert client.get("/api/v1/inventory/999999/").status_code == HTTPStatus.NOT_FOUND
    assert client.get("/api/v1/inventory/changes/999999/").status_code == HTTPStatus.NOT_FOUND


def test_ledger_lists_newest_first_with_filters(client_as):
    product, other = ProductFactory(initial_stock=10), ProductFactory(initial_stock=1)
    services.stock_adjust(product=product, delta=-2, reason=MovementReason.DAMAGE)
    services.stock_adjust(product=product, delta=5, reason=MovementReason.RESTOCK)
    client = client_as("inventory.view_stockmovement")

    rows = client.get(f"/api/v1/inventory/changes/{product.pk}/").json()["results"]
    assert [(r["delta"], r["quantity_after"], r["reason"]) for r in rows] == [
        (5, 13, "restock"), (-2, 8, "damage"), (10, 10, "initial"),
    ]  # fmt: skip
    assert [
        r["delta"] for r in client.get(f"/api/v1/inventory/changes/{product.pk}/?reason=damage").json()["results"]
    ] == [-2]
    assert len(client.get(f"/api/v1/inventory/changes/?product={other.pk}").json()["results"]) == 1
    today = timezone.now().date().isoformat()
    assert len(client.get(f"/api/v1/inventory/changes/?start_date={today}&end_date={today}").json()["results"]) == 4
    assert client.get("/api/v1/inventory/changes/?reason=bogus").status_code == HTTPStatus.BAD_REQUEST


def test_ledger_pages_answer_what_the_movement_serializer_renders(client_as, make_user):
    """Both ledger routes render with movement_data; StockMovementSerializer (the schema's) stays the definition.

    sales/tests/test_api.py checks the same for the rows of a sale and of its refund."""
    product = ProductFactory(initial_stock=10)
    clerk = make_user()
    note = "dropped — «fragile»"
    services.stock_adjust(product=product, delta=-2, reason=MovementReason.DAMAGE, actor=clerk, note=note)
    services.stock_adjust(product=product, delta=5, reason=MovementReason.RESTOCK)
    client = client_as("inventory.view_stockmovement")
    expected = json.loads(json.dumps(StockMovementSerializer(selectors.movement_list(), many=True).data))

    assert client.get("/api/v1/inventory/changes/").json()["results"] == expected
    assert client.get(f"/api/v1/inventory/changes/{product.pk}/").json()["results"] == expected
    assert [row["reason"] for row in expected] == ["restock", "damage", "initial"]
    assert expected[1]["actor"] == clerk.pk
    assert expected[1]["note"] == note


@pytest.mark.parametrize("method", ["put", "patch", "delete", "post"])
def test_ledger_cannot_be_written_through_the_api(client_as, method):
    product = ProductFactory(initial_stock=10)
    movement = StockMovement.objects.get(product=product)
    client = client_as(
        "inventory.view_stockmovement", "inventory.change_stockmovement", "inventory.delete_stockmovement",
        "inventory.add_stockmovement",
    )  # fmt: skip
    status = getattr(client, method)(f"/api/v1/inventory/changes/{movement.pk}/", {}).status_code
    assert status in (HTTPStatus.METHOD_NOT_ALLOWED, HTTPStatus.NOT_FOUND)
    assert StockMovement.objects.filter(pk=movement.pk).exists()


def test_a_stock_change_shows_on_the_next_product_page_and_product(client_as, django_capture_on_commit_callbacks):
    product = ProductFactory(initial_stock=5)
    client = client_as("catalog.view_product")
    assert client.get("/api/v1/products/").json()["results"][0]["stock"] == 5
    assert client.get(f"/api/v1/products/{product.pk}/").json()["stock"] == 5
    with django_capture_on_commit_callbacks(execute=True):  # stock changes are announced on commit
        services.stock_adjust(product=product, delta=3, reason=MovementReason.RESTOCK)
    assert client.get("/api/v1/products/").json()["results"][0]["stock"] == 8
    assert client.get(f"/api/v1/products/{product.pk}/").json()["stock"] == 8


def test_the_whole_ledger_is_counted_from_the_stock_levels_not_row_by_row(client_as):
    product, other = ProductFactory(initial_stock=10), ProductFactory(initial_stock=0)
    services.stock_adjust(product=product, delta=-2, reason=MovementReason.DAMAGE)
    services.stock_adjust(product=other, delta=4, reason=MovementReason.RESTOCK)
    client = client_as("inventory.view_stockmovement")

    with CaptureQueriesContext(connection) as queries:
        body = client.get("/api/v1/inventory/changes/?page_size=2").json()
    assert body["count"] == StockMovement.objects.count() == 3
    assert len(body["results"]) == 2
    assert not any("COUNT(*)" in query["sql"] for query in queries)
    assert dict(StockLevel.objects.values_list("product_id", "movements")) == {product.pk: 2, other.pk: 1}

    with CaptureQueriesContext(connection) as queries:
        assert client.get(f"/api/v1/inventory/changes/?product={product.pk}").json()["count"] == 2
    assert any("COUNT(*)" in query["sql"] for query in queries)
