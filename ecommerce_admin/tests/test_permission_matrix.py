"""Who may do what, over every operation of the OpenAPI schema (new routes fail here until given a row).

Roles: Store manager (everything), Inventory clerk (reads everything, changes stock levels and records
adjustments, but not prices, products, categories or sales), Analyst (read only), a user in no group,
and no one at all. Allowed requests carry valid bodies and must succeed; refused ones are 403 (401
without credentials) and change nothing.
"""

from decimal import Decimal
from http import HTTPStatus

import pytest
import yaml
from django.test import Client
from rest_framework.test import APIClient

from catalog.tests.factories import CategoryFactory, ProductFactory
from insights.tests.ws_support import broadcaster_fixture  # noqa: F401  (the "broadcaster" fixture)
from inventory.models import StockLevel, StockMovement
from sales.models import Refund, Sale
from sales.tests.factories import sell

pytestmark = pytest.mark.django_db

MANAGER, CLERK, ANALYST, NO_GROUP = "Store manager", "Inventory clerk", "Analyst", "no group"
EVERYONE_STAFF = {MANAGER, CLERK, ANALYST}
STOCK_KEEPERS = {MANAGER, CLERK}
MANAGERS = {MANAGER}
ANY_USER = {MANAGER, CLERK, ANALYST, NO_GROUP}

# (method, path) -> the roles allowed; every operation in the schema must be here.
MATRIX = {
    ("get", "/api/v1/auth/me/"): ANY_USER,
    ("get", "/api/v1/audit/"): MANAGERS,
    ("get", "/api/v1/categories/"): EVERYONE_STAFF,
    ("post", "/api/v1/categories/"): MANAGERS,
    ("get", "/api/v1/categories/{id}/"): EVERYONE_STAFF,
    ("put", "/api/v1/categories/{id}/"): MANAGERS,
    ("patch", "/api/v1/categories/{id}/"): MANAGERS,
    ("delete", "/api/v1/categories/{id}/"): MANAGERS,
    ("get", "/api/v1/products/"): EVERYONE_STAFF,
    ("post", "/api/v1/products/"): MANAGERS,
    ("get", "/api/v1/products/{id}/"): EVERYONE_STAFF,
    ("put", "/api/v1/products/{id}/"): MANAGERS,
    ("patch", "/api/v1/products/{id}/"): MANAGERS,
    ("delete", "/api/v1/products/{id}/"): MANAGERS,
    ("get", "/api/v1/inventory/"): EVERYONE_STAFF,
    ("get", "/api/v1/inventory/low-stock/"): EVERYONE_STAFF,
    ("get", "/api/v1/inventory/{product_id}/"): EVERYONE_STAFF,
    ("put", "/api/v1/inventory/{product_id}/"): STOCK_KEEPERS,
    ("patch", "/api/v1/inventory/{product_id}/"): STOCK_KEEPERS,
    ("post", "/api/v1/inventory/{product_id}/adjustments/"): STOCK_KEEPERS,
    ("get", "/api/v1/inventory/changes/"): EVERYONE_STAFF,
    ("get", "/api/v1/inventory/changes/{product_id}/"): EVERYONE_STAFF,
    ("get", "/api/v1/sales/"): EVERYONE_STAFF,
    ("post", "/api/v1/sales/"): MANAGERS,
    ("get", "/api/v1/sales/{id}/"): EVERYONE_STAFF,
    ("post", "/api/v1/sales/{id}/refunds/"): MANAGERS,
    ("get", "/api/v1/sales/analytics/"): EVERYONE_STAFF,
    ("get", "/api/v1/sales/revenue/comparison/"): EVERYONE_STAFF,
    ("get", "/api/v1/sales/by-category/"): EVERYONE_STAFF,
    ("get", "/api/v1/sales/top-products/"): EVERYONE_STAFF,
    ("get", "/api/v1/insights/sales-trends/"): EVERYONE_STAFF,
    ("get", "/api/v1/insights/category-performance/"): EVERYONE_STAFF,
    ("get", "/api/v1/insights/stock-management/"): EVERYONE_STAFF,
    ("get", "/api/v1/insights/dashboard/"): EVERYONE_STAFF,
    ("get", "/api/v1/analytics/snapshot/"): EVERYONE_STAFF,
}
# Open to anyone by design (credentials are what they check), tested in test_auth and test_security.
OPEN = {
    ("post", "/api/v1/auth/token/"),
    ("post", "/api/v1/auth/token/refresh/"),
    ("post", "/api/v1/auth/token/verify/"),
    ("post", "/api/v1/auth/logout/"),
}


def schema_operations() -> set[tuple[str, str]]:
    schema = yaml.safe_load(Client().get("/api/schema/").content)
    return {
        (method, path)
        for path, operations in schema["paths"].items()
        for method in operations
        if method in {"get", "post", "put", "patch", "delete"}
    }


def test_the_matrix_covers_every_operation_of_the_schema():
    assert schema_operations() == set(MATRIX) | OPEN


@pytest.fixture
def world():
    """Records for each operation to act on: a category and a product nobody sold, and a sale."""
    spare_category = CategoryFactory(name="Spare")
    category = CategoryFactory()
    unsold = ProductFactory(category=category, initial_stock=5)
    sold = ProductFactory(category=category, initial_stock=20, price=Decimal("4.00"))
    sale = sell((sold, 3))
    return {"category": spare_category, "unsold": unsold, "sold": sold, "sale": sale, "line": sale.lines.get()}


def request_for(method: str, path: str, world: dict) -> tuple[str, dict | None]:
    """The concrete URL and a valid body for an operation."""
    url = path.replace("{product_id}", str(world["sold"].pk))
    if path.startswith("/api/v1/categories/"):
        url = url.replace("{id}", str(world["category"].pk))
    elif path.startswith("/api/v1/products/"):
        url = url.replace("{id}", str(world["unsold"].pk))
    elif path.startswith("/api/v1/sales/"):
        url = url.replace("{id}", str(world["sale"].pk))
    bodies = {
        ("post", "/api/v1/categories/"): {"name": "New category"},
        ("put", "/api/v1/categories/{id}/"): {"name": "Renamed"},
        ("patch", "/api/v1/categories/{id}/"): {"name": "Renamed"},
        ("post", "/api/v1/products/"): {
            "sku": "NEW-1",
            "name": "New",
            "category": world["category"].pk,
            "price": "3.00",
        },
        ("put", "/api/v1/products/{id}/"): {
            "sku": world["unsold"].sku,
            "name": "Renamed",
            "category": world["category"].pk,
            "price": "5.00",
        },
        ("patch", "/api/v1/products/{id}/"): {"price": "5.00"},
        ("put", "/api/v1/inventory/{product_id}/"): {"low_stock_threshold": 3},
        ("patch", "/api/v1/inventory/{product_id}/"): {"quantity": 25, "note": "count"},
        ("post", "/api/v1/inventory/{product_id}/adjustments/"): {"delta": 2, "reason": "restock"},
        ("post", "/api/v1/sales/"): {"lines": [{"product": world["sold"].pk, "quantity": 1}]},
        ("post", "/api/v1/sales/{id}/refunds/"): {"lines": [{"line": world["line"].pk, "quantity": 1}]},
    }
    return url, bodies.get((method, path))


def footprint() -> tuple:
    """What a refused write must leave unchanged."""
    from catalog.models import Category, Product

    return (
        list(Category.objects.order_by("pk").values_list("pk", "name")),
        list(Product.objects.order_by("pk").values_list("pk", "price", "name")),
        list(StockLevel.objects.order_by("pk").values_list("pk", "quantity", "low_stock_threshold")),
        StockMovement.objects.count(),
        Sale.objects.count(),
        Refund.objects.count(),
    )


@pytest.mark.parametrize("role", [MANAGER, CLERK, ANALYST, NO_GROUP, "anonymous"])
@pytest.mark.parametrize(("method", "path"), sorted(MATRIX))
def test_permission_matrix(make_user, world, role, method, path):
    client = APIClient()
    if role != "anonymous":
        client.force_authenticate(make_user(groups=() if role == NO_GROUP else (role,)))
    url, body = request_for(method, path, world)
    before = footprint()

    response = getattr(client, method)(url, body, format="json") if body else getattr(client, method)(url)

    if role == "anonymous":
        assert response.status_code == HTTPStatus.UNAUTHORIZED
    elif role in MATRIX[method, path]:
        assert 200 <= response.status_code < 300, response.content[:300]
        return
    else:
        assert response.status_code == HTTPStatus.FORBIDDEN, response.content[:300]
    assert response.json()["code"] in ("not_authenticated", "permission_denied")
    assert footprint() == before


@pytest.mark.parametrize(
    ("role", "allowed"), [(MANAGER, True), (CLERK, True), (ANALYST, True), (NO_GROUP, False), ("anonymous", False)]
)
def test_admin_access_by_role(make_user, role, allowed):
    """The back office: staff with a role get in; a staff user in no group sees nothing to change."""
    browser = Client()
    if role != "anonymous":
        browser.force_login(make_user(groups=() if role == NO_GROUP else (role,), is_staff=True))

    product_list = browser.get("/admin/catalog/product/")

    assert product_list.status_code == (HTTPStatus.OK if allowed else HTTPStatus.FOUND if role == "anonymous" else 403)


def test_the_clerk_can_change_stock_but_not_prices_in_the_admin(make_user):
    product = ProductFactory(price=Decimal("9.00"), initial_stock=4)
    browser = Client()
    browser.force_login(make_user(groups=(CLERK,), is_staff=True))

    assert browser.get(f"/admin/inventory/stocklevel/{product.pk}/change/").status_code == HTTPStatus.OK
    product_page = browser.get(f"/admin/catalog/product/{product.pk}/change/")
    assert product_page.status_code == HTTPStatus.OK
    assert b'name="price"' not in product_page.content  # view only
    assert browser.get("/admin/sales/sale/add/").status_code == HTTPStatus.FORBIDDEN


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("role", "close_code"), [(MANAGER, None), (CLERK, None), (ANALYST, None), (NO_GROUP, 4403)])
async def test_websocket_dashboard_by_role(broadcaster, make_user, role, close_code):
    from channels.db import database_sync_to_async
    from rest_framework_simplejwt.tokens import AccessToken

    from insights.tests.ws_support import communicator, connect_with_snapshot

    user = await database_sync_to_async(make_user)(groups=() if role == NO_GROUP else (role,))
    client = communicator(f"/ws/dashboard/?token={AccessToken.for_user(user)}")
    if close_code is None:
        snapshot = await connect_with_snapshot(client)
        assert "today" in snapshot
    else:
        connected, _ = await client.connect()
        assert connected  # accepted so that the close code reaches the client
        assert await client.receive_output(timeout=2) == {"type": "websocket.close", "code": close_code}
    await client.disconnect()
