import csv
import io
import json
from datetime import UTC, datetime
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.renderers import JSONRenderer

from catalog import services as catalog_services
from catalog.tests.factories import CategoryFactory, ProductFactory
from insights.selectors import dashboard_snapshot

from .builders import refund, sell

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)  # 15:00 in New York

ANALYTICS_URLS = [
    "/api/v1/sales/analytics/",
    "/api/v1/sales/revenue/comparison/",
    "/api/v1/sales/by-category/",
    "/api/v1/sales/top-products/",
    "/api/v1/insights/sales-trends/",
    "/api/v1/insights/category-performance/",
    "/api/v1/insights/stock-management/",
    "/api/v1/insights/dashboard/",
    "/api/v1/analytics/snapshot/",
]
ALL_ROUTES = [(url, "sales.view_sale") for url in ANALYTICS_URLS] + [
    ("/api/v1/inventory/low-stock/", "inventory.view_stocklevel")
]


@pytest.fixture
def boundary_store(settings, freeze):
    """Sales on both sides of a New York midnight, a refund the next day, and a product that changes category.

    A: Nov 23 23:59:59 local, 2 x P (Books) = 20.00, 1 unit refunded on Nov 24 (10.00).
    B: Nov 24 00:00:00 local, 1 x P (Books) + 3 x Q (Toys) = 19.99.
    P moves to Toys; C: Nov 24 10:00 local, 1 x P (now Toys) = 10.00.
    """
    settings.STORE_TIME_ZONE = "America/New_York"
    freeze(NOW)
    books, toys = CategoryFactory(name="Books"), CategoryFactory(name="Toys")
    p = ProductFactory(sku="P", name="Pen", category=books, price=Decimal("10.00"), initial_stock=50)
    q = ProductFactory(sku="Q", name="Quill", category=toys, price=Decimal("3.33"), initial_stock=50)
    a = sell((p, 2), sold_at=datetime(2026, 11, 24, 4, 59, 59, tzinfo=UTC))
    sell((p, 1), (q, 3), sold_at=datetime(2026, 11, 24, 5, 0, tzinfo=UTC), channel="pos")
    catalog_services.product_update(product=p, category=toys)
    sell((p, 1), sold_at=datetime(2026, 11, 24, 15, 0, tzinfo=UTC))
    refund(a, (0, 1), created_at=datetime(2026, 11, 24, 12, 0, tzinfo=UTC))
    return {"books": books, "toys": toys, "p": p, "q": q}


# --- auth ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("url", "perm"), ALL_ROUTES)
def test_every_analytics_route_answers_401_403_and_200_by_permission(api, client_as, url, perm):
    assert api.get(url).status_code == HTTPStatus.UNAUTHORIZED
    assert client_as().get(url).status_code == HTTPStatus.FORBIDDEN
    assert client_as("catalog.view_product").get(url).status_code == HTTPStatus.FORBIDDEN
    assert client_as(perm).get(url).status_code == HTTPStatus.OK
    assert client_as(perm).get(url.rstrip("/")).status_code == HTTPStatus.OK
    assert client_as(perm).get(url, {"format": "csv"}).status_code == HTTPStatus.OK


def test_low_stock_needs_the_inventory_permission_not_the_sales_one(client_as):
    assert client_as("sales.view_sale").get("/api/v1/inventory/low-stock/").status_code == HTTPStatus.FORBIDDEN


def test_analyst_role_reads_every_analytics_route(client_as):
    client = client_as(groups=("Analyst",))
    assert [client.get(url).status_code for url, _ in ALL_ROUTES] == [HTTPStatus.OK] * len(ALL_ROUTES)


# --- validation ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "params", "field"),
    [
        ("/api/v1/sales/analytics/", {"interval": "fortnight"}, "interval"),
        ("/api/v1/sales/analytics/", {"start_date": "2026-02-02", "end_date": "2026-02-01"}, "start_date"),
        ("/api/v1/sales/analytics/", {"start_date": "2016-01-01", "end_date": "2026-01-01"}, "start_date"),
        ("/api/v1/sales/analytics/", {"start_date": "2026-13-01"}, "start_date"),
        ("/api/v1/sales/analytics/", {"end_date": "9999-12-31"}, "end_date"),
        ("/api/v1/sales/analytics/", {"channel": "fax"}, "channel"),
        ("/api/v1/sales/analytics/", {"category": "books"}, "category"),
        ("/api/v1/sales/analytics/", {"product": "0"}, "product"),
        ("/api/v1/sales/revenue/comparison/", {"period": "fortnight"}, "period"),
        ("/api/v1/sales/revenue/comparison/", {"compare": "last_decade"}, "compare"),
        ("/api/v1/sales/revenue/comparison/", {"by": "product"}, "by"),
        ("/api/v1/sales/revenue/comparison/", {"start_date": "2026-02-02", "end_date": "2026-02-01"}, "start_date"),
        (
            "/api/v1/sales/revenue/comparison/",
            {"start_date": "2026-02-01", "end_date": "2026-02-02", "compare_start_date": "2025-02-01"},
            "compare_end_date",
        ),
        (
            "/api/v1/sales/revenue/comparison/",
            {
                "start_date": "2026-02-01",
                "end_date": "2026-02-02",
                "compare_start_date": "2025-02-03",
                "compare_end_date": "2025-02-01",
            },
            "compare_start_date",
        ),
        (
            "/api/v1/sales/revenue/comparison/",
            {"compare_start_date": "2025-02-01", "compare_end_date": "2025-02-02"},
            "start_date",
        ),
        ("/api/v1/sales/by-category/", {"start_date": "2026-02-02", "end_date": "2026-02-01"}, "start_date"),
        ("/api/v1/sales/top-products/", {"limit": "0"}, "limit"),
        ("/api/v1/sales/top-products/", {"limit": "101"}, "limit"),
        ("/api/v1/sales/top-products/", {"limit": "ten"}, "limit"),
        ("/api/v1/sales/top-products/", {"by": "margin"}, "by"),
        ("/api/v1/insights/sales-trends/", {"days": "0"}, "days"),
        ("/api/v1/insights/sales-trends/", {"days": "367"}, "days"),
        ("/api/v1/insights/category-performance/", {"days": "367"}, "days"),
        ("/api/v1/insights/category-performance/", {"days": "-1"}, "days"),
    ],
)
def test_invalid_parameters_answer_400_naming_the_parameter(analyst, url, params, field):
    response = analyst.get(url, params)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert list(response.json()) == [field]


def test_a_400_stays_json_when_csv_was_asked_for(analyst):
    response = analyst.get("/api/v1/sales/analytics/", {"interval": "fortnight", "format": "csv"})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response["Content-Type"] == "application/json"
    assert "interval" in response.json()


@pytest.mark.parametrize(("alias", "period"), [("daily", "day"), ("weekly", "week"), ("monthly", "month"),
                                                ("annual", "year"), ("quarter", "quarter")])  # fmt: skip
def test_comparison_accepts_period_aliases(analyst, alias, period):
    response = analyst.get("/api/v1/sales/revenue/comparison/", {"period": alias})
    assert response.status_code == HTTPStatus.OK
    assert response.json()["period"] == period


def test_ten_years_exactly_is_allowed(analyst):
    response = analyst.get("/api/v1/sales/analytics/", {"start_date": "2016-01-01", "end_date": "2025-12-31",
                                                        "interval": "year"})  # fmt: skip
    assert response.status_code == HTTPStatus.OK
    assert len(response.json()["series"]) == 10


# --- exact figures around a New York midnight ----------------------------------------------------------


def test_analytics_cut_days_at_the_store_midnight_and_count_refunds_on_their_day(analyst, boundary_store):
    response = analyst.get("/api/v1/sales/analytics/", {"start_date": "2026-11-23", "end_date": "2026-11-24"})

    assert response.json() == {
        "start_date": "2026-11-23",
        "end_date": "2026-11-24",
        "interval": "day",
        "time_zone": "America/New_York",
        "data_as_of": "2026-11-24T15:00:00Z",
        "totals": {
            "gross_revenue": "49.99",
            "refunds": "10.00",
            "net_revenue": "39.99",
            "orders": 3,
            "units": 6,
            "average_order_value": "13.33",
        },
        "series": [
            {"period_start": "2026-11-23T05:00:00Z", "gross_revenue": "20.00", "refunds": "0.00",
             "net_revenue": "20.00", "orders": 1, "units": 2},
            {"period_start": "2026-11-24T05:00:00Z", "gross_revenue": "29.99", "refunds": "10.00",
             "net_revenue": "19.99", "orders": 2, "units": 4},
        ],
    }  # fmt: skip
    assert response["X-Data-As-Of"] == "2026-11-24T15:00:00Z"


def test_a_sale_counts_under_the_category_it_had_when_sold(analyst, boundary_store):
    response = analyst.get("/api/v1/sales/by-category/", {"start_date": "2026-11-24", "end_date": "2026-11-24"})

    books, toys = boundary_store["books"].pk, boundary_store["toys"].pk
    assert response.json()["results"] == [
        {"category": toys, "category_name": "Toys", "gross_revenue": "19.99", "net_revenue": "19.99", "orders": 2,
         "units": 4, "share_pct": "100.00"},
        {"category": books, "category_name": "Books", "gross_revenue": "10.00", "net_revenue": "0.00", "orders": 1,
         "units": 0, "share_pct": "0.00"},
    ]  # fmt: skip
    books_only = analyst.get("/api/v1/sales/analytics/", {"start_date": "2026-11-24", "category": books}).json()
    assert books_only["totals"]["orders"] == 1
    assert books_only["totals"]["net_revenue"] == "0.00"


def test_filters_by_channel_and_product(analyst, boundary_store):
    pos = analyst.get("/api/v1/sales/analytics/", {"start_date": "2026-11-24", "channel": "pos"}).json()
    assert (pos["totals"]["gross_revenue"], pos["totals"]["orders"]) == ("19.99", 1)
    pen = analyst.get("/api/v1/sales/analytics/", {"start_date": "2026-11-23", "product": boundary_store["p"].pk})
    assert pen.json()["totals"] == {"gross_revenue": "40.00", "refunds": "10.00", "net_revenue": "30.00",
                                    "orders": 3, "units": 3, "average_order_value": "10.00"}  # fmt: skip


def test_comparison_is_like_for_like(analyst, boundary_store):
    response = analyst.get("/api/v1/sales/revenue/comparison/", {"period": "day", "by": "category"}).json()

    # Yesterday up to 15:00 had nothing: sale A was at 23:59:59.
    assert response["current"] == {
        "start": "2026-11-24T05:00:00Z",
        "end": "2026-11-24T20:00:00Z",
        "gross_revenue": "29.99",
        "net_revenue": "19.99",
        "orders": 2,
        "units": 4,
    }
    assert response["previous"] == {
        "start": "2026-11-23T05:00:00Z",
        "end": "2026-11-23T20:00:00Z",
        "gross_revenue": "0.00",
        "net_revenue": "0.00",
        "orders": 0,
        "units": 0,
    }
    assert response["change"] == {"net_revenue": "19.99", "net_revenue_pct": None, "orders": 2, "orders_pct": None,
                                  "units": 4, "units_pct": None}  # fmt: skip
    assert [row["category_name"] for row in response["categories"]] == ["Toys", "Books"]


def test_comparison_of_explicit_ranges_computes_percentages(analyst, boundary_store):
    response = analyst.get(
        "/api/v1/sales/revenue/comparison/",
        {"start_date": "2026-11-24", "end_date": "2026-11-24", "compare_start_date": "2026-11-23",
         "compare_end_date": "2026-11-23"},
    ).json()  # fmt: skip

    assert response["compare"] == "explicit"
    assert response["previous"]["net_revenue"] == "20.00"
    assert response["change"] == {"net_revenue": "-0.01", "net_revenue_pct": "-0.05", "orders": 1,
                                  "orders_pct": "100.00", "units": 2, "units_pct": "100.00"}  # fmt: skip
    assert response["categories"] == []


def test_comparison_of_a_range_against_the_previous_one_of_equal_length(analyst, boundary_store):
    response = analyst.get("/api/v1/sales/revenue/comparison/", {"start_date": "2026-11-24", "end_date": "2026-11-24"})
    assert response.json()["previous"]["start"] == "2026-11-23T05:00:00Z"
    assert response.json()["previous"]["end"] == "2026-11-24T05:00:00Z"
    yearly = analyst.get(
        "/api/v1/sales/revenue/comparison/",
        {"start_date": "2026-11-24", "end_date": "2026-11-24", "compare": "same_weekday_last_year"},
    )
    assert yearly.json()["previous"]["start"] == "2025-11-25T05:00:00Z"  # a Tuesday, like 2026-11-24  # fmt: skip


def test_top_products_by_revenue_and_by_units(analyst, boundary_store):
    p, q = boundary_store["p"].pk, boundary_store["q"].pk
    by_revenue = analyst.get("/api/v1/sales/top-products/", {"start_date": "2026-11-23"}).json()["results"]
    assert by_revenue == [
        {"product": p, "sku": "P", "product_name": "Pen", "units": 3, "net_revenue": "30.00", "orders": 3},
        {"product": q, "sku": "Q", "product_name": "Quill", "units": 3, "net_revenue": "9.99", "orders": 1},
    ]
    by_units = analyst.get("/api/v1/sales/top-products/", {"start_date": "2026-11-23", "by": "units", "limit": 1})
    assert [row["product"] for row in by_units.json()["results"]] == [p]  # 3 units each: revenue breaks the tie


def test_trends_and_category_performance(analyst, boundary_store):
    trends = analyst.get("/api/v1/insights/sales-trends/", {"days": 2}).json()
    assert trends["daily"] == [
        {"date": "2026-11-23", "net_revenue": "20.00", "orders": 1, "units": 2},
        {"date": "2026-11-24", "net_revenue": "19.99", "orders": 2, "units": 4},
    ]
    performance = analyst.get("/api/v1/insights/category-performance/", {"days": 1}).json()
    assert performance["results"][0] == {
        "category": boundary_store["toys"].pk,
        "category_name": "Toys",
        "orders": 2,
        "units": 4,
        "net_revenue": "19.99",
        "average_order_value": "10.00",
        "previous_net_revenue": "0.00",
        "change_pct": None,
    }
    assert performance["previous_end"] == "2026-11-23T20:00:00Z"


def test_data_as_of_is_null_without_sales(analyst):
    assert analyst.get("/api/v1/sales/analytics/").json()["data_as_of"] is None
    assert analyst.get("/api/v1/insights/dashboard/").json()["data_as_of"] is None


# --- hours, weeks, leap days -------------------------------------------------------------------------------


@pytest.mark.parametrize(("day", "hours"), [("2026-03-08", 23), ("2026-11-01", 25), ("2026-11-02", 24)])
def test_hour_series_on_dst_days_have_23_or_25_rows(analyst, settings, day, hours):
    settings.STORE_TIME_ZONE = "America/New_York"
    series = analyst.get("/api/v1/sales/analytics/", {"interval": "hour", "start_date": day, "end_date": day})
    assert len(series.json()["series"]) == hours


def test_the_repeated_fall_back_hour_is_two_rows(analyst, settings, freeze):
    settings.STORE_TIME_ZONE = "America/New_York"
    freeze(datetime(2026, 11, 2, tzinfo=UTC))
    product = ProductFactory(initial_stock=10)
    sell((product, 1), sold_at=datetime(2026, 11, 1, 5, 30, tzinfo=UTC))  # 01:30 EDT
    sell((product, 2), sold_at=datetime(2026, 11, 1, 6, 30, tzinfo=UTC))  # 01:30 EST
    series = analyst.get("/api/v1/sales/analytics/", {"interval": "hour", "start_date": "2026-11-01",
                                                      "end_date": "2026-11-01"}).json()["series"]  # fmt: skip
    assert [(row["period_start"], row["units"]) for row in series[1:3]] == [
        ("2026-11-01T05:00:00Z", 1),
        ("2026-11-01T06:00:00Z", 2),
    ]


@pytest.mark.parametrize(("week_start", "starts"), [("monday", ["2026-11-16", "2026-11-23"]),
                                                    ("sunday", ["2026-11-22"])])  # fmt: skip
def test_weeks_begin_on_the_store_week_start(analyst, settings, week_start, starts):
    settings.STORE_WEEK_START = week_start
    response = analyst.get("/api/v1/sales/analytics/", {"interval": "week", "start_date": "2026-11-22",
                                                        "end_date": "2026-11-28"})  # fmt: skip
    assert [row["period_start"][:10] for row in response.json()["series"]] == starts


def test_leap_february_has_29_days_and_compares_with_the_28th_a_year_before(analyst, settings, freeze):
    settings.STORE_TIME_ZONE = "Pacific/Auckland"
    freeze(datetime(2028, 2, 29, 1, 0, tzinfo=UTC))  # 14:00 on Feb 29 in Auckland
    product = ProductFactory(initial_stock=10, price=Decimal("5.00"))
    sell((product, 1), sold_at=datetime(2027, 2, 27, 23, 0, tzinfo=UTC))  # Feb 28 2027, 12:00 local
    sell((product, 2), sold_at=datetime(2028, 2, 28, 12, 0, tzinfo=UTC))  # Feb 29 2028, 01:00 local

    month = analyst.get("/api/v1/sales/analytics/", {"start_date": "2028-02-01", "end_date": "2028-02-29"})
    assert len(month.json()["series"]) == 29
    assert month.json()["series"][-1]["units"] == 2
    yearly = analyst.get("/api/v1/sales/revenue/comparison/", {"period": "day", "compare": "previous_year"}).json()
    assert yearly["previous"]["start"] == "2027-02-27T11:00:00Z"
    assert (yearly["current"]["units"], yearly["previous"]["units"], yearly["change"]["units_pct"]) == (2, 1, "100.00")


@pytest.mark.parametrize("url", [url for url, _ in ALL_ROUTES])
def test_every_report_renders_the_json_drf_would(client_as, boundary_store, url):
    """The reports render with orjson; the bytes must be JSONRenderer's (DRF's encoder, compact, UTF-8)."""
    boundary_store["p"].name = "Plume \u00e9crite \u2014 \U0001f58b"
    boundary_store["p"].save()
    client = client_as("sales.view_sale", "inventory.view_stocklevel")
    params = {"start_date": "2026-11-01", "end_date": "2026-11-24"} if url.startswith("/api/v1/sales/") else {}
    if url == "/api/v1/sales/analytics/":
        params["interval"] = "hour"
    response = client.get(url, params)
    assert response.status_code == HTTPStatus.OK
    assert response.content == JSONRenderer().render(response.data)


# --- CSV ------------------------------------------------------------------------------------------------


def test_csv_by_accept_header_has_a_header_row_even_when_empty(analyst):
    response = analyst.get("/api/v1/sales/by-category/", HTTP_ACCEPT="text/csv")
    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="sales-by-category.csv"'
    assert response.content.decode() == "category,category_name,gross_revenue,net_revenue,orders,units,share_pct\r\n"


def test_csv_neutralises_spreadsheet_formulas_but_keeps_negative_amounts(analyst, settings, freeze):
    freeze(NOW)
    product = ProductFactory(name='=HYPERLINK("http://x")', initial_stock=5, price=Decimal("4.00"))
    sale = sell((product, 1), sold_at=datetime(2026, 11, 20, tzinfo=UTC))
    refund(sale, (0, 1), created_at=datetime(2026, 11, 21, tzinfo=UTC))
    body = analyst.get("/api/v1/sales/top-products/", {"start_date": "2026-11-21", "format": "csv"}).content.decode()
    [row] = list(csv.DictReader(io.StringIO(body)))
    assert row["product_name"] == '\'=HYPERLINK("http://x")'
    assert (row["net_revenue"], row["units"], row["orders"]) == ("-4.00", "-1", "0")


def test_dashboard_csv_is_one_key_value_row_per_figure(analyst, boundary_store):
    rows = list(csv.reader(io.StringIO(analyst.get("/api/v1/insights/dashboard/", {"format": "csv"}).content.decode())))
    assert rows[0] == ["key", "value"]
    assert ["today.net_revenue", "19.99"] in rows
    assert ["month_to_date.change_pct", ""] in rows


# --- the snapshot the WebSocket pushes -----------------------------------------------------------------------


def test_dashboard_snapshot_is_plain_json(boundary_store):
    snapshot = dashboard_snapshot()
    assert json.loads(json.dumps(snapshot)) == snapshot
    assert snapshot["today"] == {"net_revenue": "19.99", "orders": 2, "units": 4, "average_order_value": "10.00"}
    assert snapshot["same_time_yesterday"] == {"net_revenue": "0.00", "orders": 0, "units": 0,
                                               "average_order_value": "0.00"}  # fmt: skip
    assert len(snapshot["hourly_today"]) == 24
    assert [sale["units"] for sale in snapshot["recent_sales"]] == [1, 4, 2]
    assert snapshot["recent_sales"][2]["net_total"] == "10.00"


def test_dashboard_endpoints_answer_the_snapshot(analyst, boundary_store):
    assert analyst.get("/api/v1/insights/dashboard/").json() == dashboard_snapshot()
    assert analyst.get("/api/v1/analytics/snapshot").json() == dashboard_snapshot()


# --- a bounded number of queries -------------------------------------------------------------------------------

# A window read from the summaries costs one query, plus two on the lines for any part-day edge.
QUERY_BUDGETS = {
    "/api/v1/sales/analytics/?interval=hour": 2,
    "/api/v1/sales/analytics/?interval=month&start_date=2025-01-01": 2,
    "/api/v1/sales/revenue/comparison/?by=category": 7,
    "/api/v1/sales/by-category/": 3,
    "/api/v1/sales/top-products/": 3,
    "/api/v1/insights/sales-trends/?days=366": 2,
    "/api/v1/insights/category-performance/": 4,
    "/api/v1/insights/stock-management/": 4,
    "/api/v1/inventory/low-stock/": 4,
    "/api/v1/insights/dashboard/": 14,
}


def queries_of(client, url) -> int:
    with CaptureQueriesContext(connection) as context:
        assert client.get(url).status_code == HTTPStatus.OK
    return len(context.captured_queries)


def test_query_counts_are_small_and_do_not_grow_with_the_data(reader, freeze, django_assert_max_num_queries):
    freeze(NOW)
    products = [ProductFactory(initial_stock=1000, low_stock_threshold=2000) for _ in range(3)]
    sell((products[0], 1), sold_at=datetime(2026, 11, 20, tzinfo=UTC))
    sell((products[1], 1), sold_at=datetime(2026, 11, 24, 19, tzinfo=UTC))  # today: the top products need names
    for url in QUERY_BUDGETS:
        reader.get(url)  # the user's permissions are cached from here on
    few = {url: queries_of(reader, url) for url in QUERY_BUDGETS}

    for day in range(1, 24):
        sale = sell(*[(product, day % 3 + 1) for product in products], sold_at=datetime(2026, 11, day, tzinfo=UTC))
        refund(sale, (0, 1), created_at=datetime(2026, 11, day, 12, tzinfo=UTC))
    more_products = [ProductFactory(initial_stock=5) for _ in range(5)]
    sell(*[(product, 1) for product in more_products], sold_at=datetime(2026, 11, 24, tzinfo=UTC))

    for url, budget in QUERY_BUDGETS.items():
        with django_assert_max_num_queries(budget):
            reader.get(url)
        assert queries_of(reader, url) == few[url], url
