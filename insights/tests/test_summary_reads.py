"""Which table answers: whole hours, days and months come from the summaries, never from the sale lines."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.tests.factories import CategoryFactory, ProductFactory
from insights.models import HourlySales
from insights.selectors.metrics import Grouping, metrics_aggregate

from .builders import refund, sell

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 24, 15, 30, tzinfo=UTC)


@pytest.fixture
def store(freeze):
    freeze(NOW)
    tea = CategoryFactory(name="Tea")
    green = ProductFactory(category=tea, price=Decimal("4.00"), initial_stock=500)
    black = ProductFactory(category=tea, price=Decimal("3.00"), initial_stock=500)
    for days_ago in range(0, 70, 3):
        sale = sell((green, 2), (black, 1), sold_at=NOW - timedelta(days=days_ago, hours=1))
        if days_ago % 9 == 0:
            refund(sale, (0, 1), created_at=sale.sold_at + timedelta(hours=2))
    return green, black


def read_tables(client, url: str) -> tuple[dict, str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return response.json(), " ".join(query["sql"] for query in queries)


def test_an_hour_series_of_past_days_reads_only_the_hourly_summary(analyst, store):
    body, sql = read_tables(analyst, "/api/v1/sales/analytics/?interval=hour&start_date=2026-10-01&end_date=2026-11-23")
    assert "insights_hourlysales" in sql
    assert "sales_saleline" not in sql
    assert "sales_refundline" not in sql
    assert len(body["series"]) == 54 * 24
    assert sum(Decimal(row["net_revenue"]) for row in body["series"]) == Decimal(body["totals"]["net_revenue"])


def test_top_products_read_whole_months_then_whole_days_from_the_summaries(analyst, store):
    _, sql = read_tables(analyst, "/api/v1/sales/top-products/?start_date=2026-09-20&end_date=2026-11-23")
    assert "insights_monthlyproductsales" in sql
    assert "insights_dailyproductsales" in sql
    assert "sales_saleline" not in sql


def test_figures_by_category_read_whole_months_then_whole_days_from_the_summaries(analyst, store):
    body, sql = read_tables(analyst, "/api/v1/sales/by-category/?start_date=2026-09-20&end_date=2026-11-23")
    assert "insights_monthlycategorysales" in sql
    assert "insights_dailycategorysales" in sql
    assert "sales_saleline" not in sql
    assert [row["category_name"] for row in body["results"]] == ["Tea"]


def test_stock_velocity_reads_the_day_product_summary(reader, store):
    green, _ = store
    body, sql = read_tables(reader, "/api/v1/insights/stock-management/")
    assert "sales_saleline" not in sql
    # sold 2 a sale on days 0, 3, ..., 27 (10 sales), 1 refunded on days 0, 9, 18, 27
    row = next(row for row in body["results"] if row["product"] == green.pk)
    assert row["units_sold_30d"] == 2 * 10 - 4


@pytest.mark.parametrize("group", [Grouping.TOTAL, Grouping.LOCAL_HOUR])
def test_today_to_now_reads_whole_hours_from_the_summary_and_only_the_current_hour_from_the_lines(store, group):
    today = (datetime(2026, 11, 24, tzinfo=UTC), NOW)
    with CaptureQueriesContext(connection) as queries:
        aggregate = metrics_aggregate(windows={"today": today}, group=group)
    line_reads = [query["sql"] for query in queries if "sales_saleline" in query["sql"]]
    assert line_reads
    assert all("2026-11-24 15:00:00" in sql and "2026-11-24 00:00:00" not in sql for sql in line_reads)
    assert aggregate.total("today").orders == 1


def test_a_half_hour_zone_keys_hours_by_the_instant_the_local_hour_starts(settings):
    settings.STORE_TIME_ZONE = "Asia/Kolkata"  # UTC+05:30
    product = ProductFactory(price=Decimal("1.00"), initial_stock=5)
    sell((product, 1), sold_at=datetime(2026, 6, 1, 10, 15, tzinfo=UTC))  # 15:45 in Kolkata
    assert list(HourlySales.objects.values_list("hour", flat=True)) == [datetime(2026, 6, 1, 9, 30, tzinfo=UTC)]


def test_the_two_one_oclock_hours_of_a_fall_back_night_are_two_rows(settings):
    settings.STORE_TIME_ZONE = "America/New_York"
    product = ProductFactory(price=Decimal("1.00"), initial_stock=5)
    sell((product, 1), sold_at=datetime(2026, 11, 1, 5, 40, tzinfo=UTC))  # 01:40 EDT
    sell((product, 1), sold_at=datetime(2026, 11, 1, 6, 40, tzinfo=UTC))  # 01:40 EST
    assert list(HourlySales.objects.order_by("hour").values_list("hour", "orders")) == [
        (datetime(2026, 11, 1, 5, 0, tzinfo=UTC), 1),
        (datetime(2026, 11, 1, 6, 0, tzinfo=UTC), 1),
    ]
