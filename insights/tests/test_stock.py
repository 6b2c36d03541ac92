from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http import HTTPStatus

import pytest

from catalog.tests.factories import ProductFactory
from ecommerce_admin.store_calendar import day_start

from .builders import refund, sell

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)  # 15:00 in New York, on 2026-11-24


@pytest.fixture
def new_york(settings, freeze):
    settings.STORE_TIME_ZONE = "America/New_York"
    return freeze(NOW)


def rows(client, url="/api/v1/insights/stock-management/", **params):
    response = client.get(url, params)
    assert response.status_code == HTTPStatus.OK, response.content
    return response.json()


def test_velocity_cover_and_stockout_follow_the_contract_rounding(reader, new_york):
    product = ProductFactory(sku="ONE", initial_stock=11, low_stock_threshold=3)
    sell((product, 1), sold_at=NOW - timedelta(days=3))

    [row] = rows(reader)["results"]
    # 1 unit in 30 days: 0.0333 -> "0.03"; 10 / 0.03 = 333.33 -> "333.3"; today + 333 days.
    assert row == {
        "product": product.pk,
        "sku": "ONE",
        "product_name": product.name,
        "category_name": product.category.name,
        "quantity": 10,
        "low_stock_threshold": 3,
        "units_sold_30d": 1,
        "daily_velocity": "0.03",
        "days_of_cover": "333.3",
        "projected_stockout_date": "2027-10-23",
        "status": "ok",
    }


def test_units_sold_30d_subtract_refunds_made_in_the_window(reader, new_york):
    product = ProductFactory(initial_stock=100)
    old = sell((product, 4), sold_at=NOW - timedelta(days=40))
    sell((product, 45), sold_at=NOW - timedelta(days=1))
    refund(old, (0, 3), created_at=NOW - timedelta(days=2))

    [row] = rows(reader)["results"]
    assert (row["units_sold_30d"], row["daily_velocity"], row["days_of_cover"]) == (42, "1.40", "38.6")
    assert row["projected_stockout_date"] == "2027-01-01"


def test_more_refunded_than_sold_in_the_window_has_no_cover(reader, new_york):
    product = ProductFactory(initial_stock=10)
    old = sell((product, 2), sold_at=NOW - timedelta(days=40))
    refund(old, (0, 1), created_at=NOW - timedelta(days=2), restock=False)

    [row] = rows(reader)["results"]
    assert (row["units_sold_30d"], row["daily_velocity"], row["days_of_cover"], row["projected_stockout_date"]) == (
        -1,
        "-0.03",
        None,
        None,
    )


def test_the_30_days_begin_at_the_store_midnight_29_days_ago(reader, new_york):
    product = ProductFactory(initial_stock=10)
    first_day = day_start(datetime(2026, 10, 26).date())
    sell((product, 1), sold_at=first_day)
    sell((product, 2), sold_at=first_day - timedelta(microseconds=1))

    assert rows(reader)["results"][0]["units_sold_30d"] == 1


def test_stock_is_ordered_by_urgency(reader, new_york):
    idle_low = ProductFactory(initial_stock=1, low_stock_threshold=5)
    slow = ProductFactory(initial_stock=31)  # 30 left, 1 sold: 30 / 0.03 = 1000 days (the rounded velocity)
    fast = ProductFactory(initial_stock=60)  # 30 left, 30 sold: 30 days
    fast_twin = ProductFactory(initial_stock=60)  # same cover, same quantity: product id decides
    empty = ProductFactory(initial_stock=2)
    idle = ProductFactory(initial_stock=0)
    sell((slow, 1), (fast, 30), (fast_twin, 30), (empty, 2), sold_at=NOW - timedelta(days=1))

    results = rows(reader)["results"]
    assert [row["product"] for row in results] == [empty.pk, idle.pk, fast.pk, fast_twin.pk, slow.pk, idle_low.pk]
    assert [row["status"] for row in results] == ["out_of_stock", "out_of_stock", "ok", "ok", "ok", "low"]
    assert [row["days_of_cover"] for row in results] == ["0.0", None, "30.0", "30.0", "1000.0", None]


def test_low_stock_lists_only_products_at_or_below_their_threshold(reader, new_york):
    at = ProductFactory(initial_stock=5, low_stock_threshold=5)
    ProductFactory(initial_stock=6, low_stock_threshold=5)
    under = ProductFactory(initial_stock=1, low_stock_threshold=5)
    sell((at, 1), sold_at=NOW - timedelta(hours=1))

    response = rows(reader, "/api/v1/inventory/low-stock/")
    # `at` has a cover (4 / 0.03 = 133.3 days); `under` sold nothing: no cover, so it comes last.
    assert [row["product"] for row in response["results"]] == [at.pk, under.pk]
    assert response["data_as_of"] == "2026-11-24T19:00:00Z"


def test_a_stockout_beyond_the_calendar_is_null(reader, new_york):
    product = ProductFactory(initial_stock=1_000_000_000)
    sell((product, 1), sold_at=NOW - timedelta(days=1))

    [row] = rows(reader)["results"]
    assert row["days_of_cover"] == "33333333300.0"
    assert row["projected_stockout_date"] is None


def test_stock_lists_are_paginated(reader, new_york):
    for _ in range(3):
        ProductFactory(initial_stock=1, price=Decimal("1.00"))

    page = rows(reader, page_size=2)
    assert (page["count"], len(page["results"]), page["previous"]) == (3, 2, None)
    assert "page=2" in page["next"]
    assert len(rows(reader, page_size=2, page=2)["results"]) == 1
    assert reader.get("/api/v1/insights/stock-management/", {"page": 9}).status_code == HTTPStatus.NOT_FOUND


@pytest.mark.parametrize("url", ["/api/v1/insights/stock-management/", "/api/v1/inventory/low-stock/"])
def test_pages_read_in_the_database_follow_one_another_in_the_urgency_order(reader, new_york, url):
    products = [ProductFactory(initial_stock=stock, low_stock_threshold=10) for stock in (9, 3, 0, 25, 7, 5, 12)]
    sell((products[0], 2), (products[1], 1), (products[4], 3), sold_at=NOW - timedelta(days=2))

    whole = rows(reader, url, page_size=100)
    pages = [rows(reader, url, page_size=2, page=number) for number in (1, 2, 3)]

    assert [page["count"] for page in pages] == [whole["count"]] * 3
    assert whole["count"] == (7 if "stock-management" in url else 5)  # 25 and 12 are above the threshold
    assert [row for page in pages for row in page["results"]] == whole["results"][:6]
    assert rows(reader, url, page_size=2, page=(whole["count"] + 1) // 2)["next"] is None
