"""The audit trail: every change to products, categories, thresholds and permissions, with who and before/after."""

from datetime import timedelta
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.utils import timezone

from catalog.models import Product
from catalog.tests.factories import CategoryFactory, ProductFactory
from inventory.models import StockLevel

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(make_user):
    return make_user(groups=("Store manager",), username="manny")


@pytest.fixture
def manager_client(manager):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(manager)
    return client


def audit(client, **params) -> dict:
    response = client.get("/api/v1/audit/", params)
    assert response.status_code == HTTPStatus.OK, response.content[:300]
    return response.json()


def test_a_price_change_through_the_api_is_recorded_with_who_and_before_after(manager_client, manager):
    product = ProductFactory(price=Decimal("19.99"))

    response = manager_client.patch(f"/api/v1/products/{product.pk}/", {"price": "24.50", "name": "Renamed"})

    assert response.status_code == HTTPStatus.OK
    [entry] = audit(manager_client, model="product", object_id=product.pk, user=manager.pk)["results"]
    assert {k: entry[k] for k in ("id", "model", "object_id", "change_type", "user", "username")} == {
        "id": entry["id"],
        "model": "product",
        "object_id": product.pk,
        "change_type": "changed",
        "user": manager.pk,
        "username": "manny",
    }
    assert sorted(entry["changes"], key=lambda c: c["field"]) == [
        {"field": "name", "old": product.name, "new": "Renamed"},
        {"field": "price", "old": "19.99", "new": "24.50"},
    ]


def test_a_category_created_and_deleted_through_the_api_is_recorded(manager_client, manager):
    created = manager_client.post("/api/v1/categories/", {"name": "Tea"}).json()
    assert manager_client.delete(f"/api/v1/categories/{created['id']}/").status_code == HTTPStatus.NO_CONTENT

    entries = audit(manager_client, model="category", object_id=created["id"])["results"]

    assert [(e["change_type"], e["username"]) for e in entries] == [("deleted", "manny"), ("created", "manny")]
    assert {"field": "name", "old": None, "new": "Tea"} in entries[1]["changes"]
    assert {"field": "name", "old": "Tea", "new": None} in entries[0]["changes"]


def test_a_threshold_change_is_recorded_and_stock_movements_are_left_to_the_ledger(manager_client):
    product = ProductFactory(initial_stock=5, low_stock_threshold=10)

    manager_client.patch(f"/api/v1/inventory/{product.pk}/", {"low_stock_threshold": 3})
    manager_client.post(f"/api/v1/inventory/{product.pk}/adjustments/", {"delta": 4, "reason": "restock"})

    entries = audit(manager_client, model="stocklevel", object_id=product.pk)["results"]
    assert [e["change_type"] for e in entries] == ["changed", "created"]
    assert entries[0]["changes"] == [{"field": "low_stock_threshold", "old": 10, "new": 3}]
    assert StockLevel.objects.get(product=product).quantity == 9


def test_changes_in_the_admin_are_recorded_with_the_admin_user(make_user, manager_client):
    boss = make_user(is_superuser=True, username="boss")
    browser = Client()
    browser.force_login(boss)
    product = ProductFactory(price=Decimal("5.00"))
    form = {
        "sku": product.sku,
        "name": product.name,
        "description": "",
        "category": product.category_id,
        "price": "6.00",
        "cost": "8.00",
        "is_active": "on",
        "stock_level-TOTAL_FORMS": "1",
        "stock_level-INITIAL_FORMS": "1",
        "stock_level-MIN_NUM_FORMS": "0",
        "stock_level-MAX_NUM_FORMS": "0",
        "stock_level-0-product": product.pk,
    }

    response = browser.post(f"/admin/catalog/product/{product.pk}/change/", form)

    assert response.status_code == HTTPStatus.FOUND, response.content[:500]
    [entry] = audit(manager_client, model="product", object_id=product.pk, change_type="changed")["results"][:1]
    assert (entry["username"], entry["changes"]) == ("boss", [{"field": "price", "old": "5.00", "new": "6.00"}])
    history = browser.get(f"/admin/catalog/product/{product.pk}/history/")
    assert history.status_code == HTTPStatus.OK
    assert b"boss" in history.content


def test_a_group_permission_change_in_the_admin_is_recorded(make_user, manager_client):
    boss = make_user(is_superuser=True, username="boss")
    browser = Client()
    browser.force_login(boss)
    group = Group.objects.create(name="Night shift")
    view_sale = Permission.objects.get(codename="view_sale")
    add_sale = Permission.objects.get(codename="add_sale")

    browser.post(f"/admin/auth/group/{group.pk}/change/", {"name": "Night shift", "permissions": [view_sale.pk]})
    browser.post(
        f"/admin/auth/group/{group.pk}/change/", {"name": "Night shift", "permissions": [view_sale.pk, add_sale.pk]}
    )

    entries = audit(manager_client, model="group", object_id=group.pk, user=boss.pk)["results"]
    changes = [change for entry in entries for change in entry["changes"] if change["field"] == "permissions"]
    assert {"field": "permissions", "old": ["sales.view_sale"], "new": ["sales.add_sale", "sales.view_sale"]} in changes
    assert all(entry["username"] == "boss" for entry in entries)
    assert browser.get(f"/admin/auth/group/{group.pk}/history/").status_code == HTTPStatus.OK


def test_a_users_groups_and_permissions_changes_are_recorded_without_the_password(make_user, manager_client):
    clerk = make_user(username="clerk")
    clerk.groups.add(Group.objects.get(name="Inventory clerk"))
    clerk.user_permissions.add(Permission.objects.get(codename="add_sale"))
    clerk.set_password("another-secret-1")
    clerk.save()

    entries = audit(manager_client, model="user", object_id=clerk.pk)["results"]

    changes = [change for entry in entries for change in entry["changes"]]
    assert {"field": "groups", "old": [], "new": ["Inventory clerk"]} in changes
    assert {"field": "user_permissions", "old": [], "new": ["sales.add_sale"]} in changes
    assert all(change["field"] not in ("password", "last_login") for change in changes)


def test_the_audit_is_filterable_and_paginated(manager_client, manager, make_user):
    other = make_user(groups=("Store manager",))
    products = [ProductFactory() for _ in range(3)]
    for product in products:
        manager_client.patch(f"/api/v1/products/{product.pk}/", {"price": "1.00"})
    from rest_framework.test import APIClient

    other_client = APIClient()
    other_client.force_authenticate(other)
    other_client.patch(f"/api/v1/products/{products[0].pk}/", {"price": "2.00"})
    today = timezone.localdate()

    by_manager = audit(manager_client, user=manager.pk)
    first_page = audit(manager_client, model="product", page_size=2)
    second_page = audit(manager_client, model="product", page_size=2, page=2)

    assert by_manager["count"] == 3
    assert audit(manager_client, user=other.pk)["count"] == 1
    assert audit(manager_client, model="product", object_id=products[0].pk)["count"] == 3  # created, 2 changes
    assert first_page["count"] == 3 + 4
    assert first_page["next"] is not None
    assert [e["id"] for e in first_page["results"]] + [e["id"] for e in second_page["results"]] == [
        e["id"] for e in audit(manager_client, model="product", page_size=4)["results"]
    ]
    assert audit(manager_client, start_date=today, end_date=today)["count"] == audit(manager_client)["count"]
    tomorrow = today + timedelta(days=1)
    assert audit(manager_client, start_date=tomorrow)["count"] == 0


@pytest.mark.parametrize(
    "query",
    ["model=sale", "object_id=abc", "user=-1", "start_date=2026-13-01", "start_date=2026-02-02&end_date=2026-02-01"],
)
def test_bad_audit_filters_are_a_400(manager_client, query):
    assert manager_client.get(f"/api/v1/audit/?{query}").status_code == HTTPStatus.BAD_REQUEST


def test_only_holders_of_view_audit_read_the_audit(api, client_as, make_user):
    assert api.get("/api/v1/audit/").status_code == HTTPStatus.UNAUTHORIZED
    for group in ("Analyst", "Inventory clerk"):
        assert client_as(groups=(group,)).get("/api/v1/audit/").status_code == HTTPStatus.FORBIDDEN
    assert client_as(groups=("Store manager",)).get("/api/v1/audit/").status_code == HTTPStatus.OK
    assert client_as("ecommerce_admin.view_audit").get("/api/v1/audit/").status_code == HTTPStatus.OK
    assert client_as(is_superuser=True).get("/api/v1/audit/").status_code == HTTPStatus.OK


def test_the_audit_page_costs_the_same_queries_however_long_the_history(manager_client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def write_a_round() -> None:
        product = ProductFactory()
        manager_client.patch(f"/api/v1/products/{product.pk}/", {"price": "3.00"})
        manager_client.patch(f"/api/v1/inventory/{product.pk}/", {"low_stock_threshold": 2})
        CategoryFactory()

    def queries_for_a_page() -> int:
        with CaptureQueriesContext(connection) as captured:
            audit(manager_client, page_size=500)
        return len(captured)

    write_a_round()
    small = queries_for_a_page()
    for _ in range(4):
        write_a_round()

    assert queries_for_a_page() == small <= 18  # count, page, 2 per model, 3 m2m sets, 2 label maps
    assert Product.objects.count() == 5
