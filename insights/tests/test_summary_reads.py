"""Which table answers: whole hours, days and months come from the summaries, never from the sale lines."""

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.tests.factories import CategoryFactory, ProductFactory
from insights.models import HourlySales
from insights.selectors import summarised
from insights.selectors.metrics import Grouping, SalesFilters, lines_aggregate, metrics_aggregate
from sales.models import Sale

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
    with CaptureQueriesContext(connection) as queries:
        body, sql = read_tables(analyst, "/api/v1/sales/by-category/?start_date=2026-09-20&end_date=2026-11-23")
    assert "insights_monthlycategorysales" in sql
    assert "insights_dailycategorysales" in sql
    # November to yesterday is its month row less today's: the lines give only the newest sale
    assert not line_reads(queries)
    assert [row["category_name"] for row in body["results"]] == ["Tea"]


def test_stock_velocity_reads_the_day_product_summary(reader, store):
    green, _ = store
    body, sql = read_tables(reader, "/api/v1/insights/stock-management/")
    assert "sales_saleline" not in sql
    # sold 2 a sale on days 0, 3, ..., 27 (10 sales), 1 refunded on days 0, 9, 18, 27
    row = next(row for row in body["results"] if row["product"] == green.pk)
    assert row["units_sold_30d"] == 2 * 10 - 4


def line_reads(queries) -> list[str]:
    """The queries that add up sale or refund lines (not the one-row look-up of the newest)."""
    return [query["sql"] for query in queries if "sales_saleline" in query["sql"] and "SUM(" in query["sql"]]


@pytest.mark.parametrize("group", [Grouping.TOTAL, Grouping.LOCAL_HOUR])
def test_today_to_now_reads_the_summaries_and_only_the_lines_dated_after_now(store, group):
    today = (datetime(2026, 11, 24, tzinfo=UTC), NOW)
    with CaptureQueriesContext(connection) as queries:
        aggregate = metrics_aggregate(windows={"today": today}, group=group)
    assert line_reads(queries)
    # the current hour is its summary row minus the lines of [15:30, 16:00): none before now is read
    assert all("2026-11-24 15:30:00" in sql and "2026-11-24 15:00:00" not in sql for sql in line_reads(queries))
    assert aggregate.total("today").orders == 1
    assert aggregate.newest == NOW - timedelta(hours=1)


def test_top_products_so_far_today_read_the_day_product_summary_and_the_lines_dated_after_now(store):
    green, black = store
    today = (datetime(2026, 11, 24, tzinfo=UTC), NOW)
    with CaptureQueriesContext(connection) as queries:
        ranked = summarised.ranked_products(window=today, filters=SalesFilters(), by="revenue", limit=10)
    assert len(queries) == 1  # one statement ranks every part
    assert "insights_dailyproductsales" in queries[0]["sql"]
    # the day's row minus the lines of [15:30, midnight): none of the lines before now is read
    assert "2026-11-25 00:00:00" in queries[0]["sql"]
    assert "2026-11-24 00:00:00" not in queries[0]["sql"]
    assert [(key, metrics.units_sold) for key, metrics in ranked] == [(green.pk, 2), (black.pk, 1)]


@pytest.mark.parametrize("by", ["revenue", "units"])
@pytest.mark.parametrize(
    "filters",
    [SalesFilters(), SalesFilters(channel="pos"), SalesFilters(category=-1)],
    ids=["all", "one channel (the lines)", "one category"],
)
@pytest.mark.parametrize(
    "window",
    [
        (datetime(2026, 9, 20, 13, tzinfo=UTC), NOW),  # whole months, whole days, hours at both edges
        (datetime(2026, 11, 24, tzinfo=UTC), NOW),  # so far today: the day minus the rest of it
        (datetime(2026, 10, 5, tzinfo=UTC), datetime(2026, 10, 5, tzinfo=UTC)),  # empty
    ],
    ids=["two months and edges", "today so far", "empty"],
)
def test_the_ranking_is_the_products_figures_sorted_and_cut(store, window, filters, by):
    green, black = store
    coffee = CategoryFactory(name="Coffee")
    beans, twin = (ProductFactory(category=coffee, price=Decimal("4.00"), initial_stock=500) for _ in range(2))
    for days_ago in range(0, 60, 4):
        sold_at = NOW - timedelta(days=days_ago, minutes=20)
        sale = sell((beans, 3), (twin, 3), (green, 1), sold_at=sold_at, channel="pos")  # beans and twin tie
        if days_ago % 8 == 0:
            refund(sale, (0, 1), (1, 1), created_at=sold_at + timedelta(minutes=15))
    sell((beans, 1), sold_at=NOW + timedelta(minutes=2), channel="pos")  # dated ahead of now
    if filters.category == -1:
        filters = SalesFilters(category=coffee.pk)

    grouped = metrics_aggregate(windows={"window": window}, filters=filters, group=Grouping.PRODUCT).windows["window"]
    if by == "units":
        expected = sorted(grouped.items(), key=lambda item: (-item[1].units, -item[1].net_revenue, item[0]))
    else:
        expected = sorted(grouped.items(), key=lambda item: (-item[1].net_revenue, -item[1].units, item[0]))

    assert len(expected) >= 2 or window[0] == window[1]  # at least the tie
    for limit in (1, 2, 10):
        assert summarised.ranked_products(window=window, filters=filters, by=by, limit=limit) == expected[:limit]


def test_sales_dated_after_now_are_taken_away_from_the_summary_rows_that_hold_them(store):
    green, black = store
    sell((green, 5), sold_at=NOW + timedelta(minutes=4))  # dated ahead, as a till's clock may be
    sell((black, 1), sold_at=NOW - timedelta(minutes=10))
    today = (datetime(2026, 11, 24, tzinfo=UTC), NOW)

    totals = metrics_aggregate(windows={"today": today})
    hours = metrics_aggregate(windows={"today": today}, group=Grouping.LOCAL_HOUR)
    products = summarised.ranked_products(window=today, filters=SalesFilters(), by="units", limit=10)

    assert (totals.total("today").orders, totals.total("today").units_sold) == (2, 4)
    assert totals.newest == NOW - timedelta(minutes=10)  # not the sale of 15:34
    assert {hour: metrics.orders for hour, metrics in hours.windows["today"].items()} == {
        datetime(2026, 11, 24, 14, tzinfo=UTC): 1,
        datetime(2026, 11, 24, 15, tzinfo=UTC): 1,
    }
    # green sold 2 at 14:30 and nothing else before now; the 5 dated ahead leave no trace
    assert [(key, metrics.units_sold) for key, metrics in products] == [(green.pk, 2), (black.pk, 2)]


def test_this_month_to_date_is_its_month_row_less_the_days_after_today(analyst, store, freeze):
    green, black = store
    freeze(datetime(2026, 11, 24, 23, 57, tzinfo=UTC))
    sell((green, 7), sold_at=datetime(2026, 11, 25, 0, 1, tzinfo=UTC))  # dated ahead, into tomorrow
    url = "/api/v1/sales/{}/?start_date=2026-10-01&end_date=2026-11-24"

    with CaptureQueriesContext(connection) as queries:
        by_category = analyst.get(url.format("by-category")).json()["results"]
        top = analyst.get(url.format("top-products")).json()["results"]

    day_reads = [query["sql"] for query in queries if "insights_dailycategorysales" in query["sql"]]
    assert all("2026-11-01" not in sql for sql in day_reads)  # no day of this month but the rest of it
    assert any("2026-11-25" in sql for sql in day_reads)
    # what the lines sold up to midnight (not the 7 dated after it), product by product
    lines = metrics_aggregate(
        windows={"range": (datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 25, tzinfo=UTC))},
        group=Grouping.PRODUCT,
    ).windows["range"]
    units = {product: metrics.units_sold - metrics.units_refunded for product, metrics in lines.items()}
    assert {row["product"]: row["units"] for row in top} == units
    assert [(row["category_name"], row["units"]) for row in by_category] == [("Tea", sum(units.values()))]
    assert by_category[0]["net_revenue"] == str(sum(metrics.net_revenue for metrics in lines.values()))


def test_a_past_month_edge_is_its_month_row_less_the_rest_when_the_rest_is_shorter(store):
    to_october_20 = (datetime(2026, 9, 1, tzinfo=UTC), datetime(2026, 10, 21, tzinfo=UTC))
    with CaptureQueriesContext(connection) as queries:
        aggregate = metrics_aggregate(windows={"range": to_october_20}, group=Grouping.CATEGORY)

    day_reads = [query["sql"] for query in queries if "insights_dailycategorysales" in query["sql"]]
    assert day_reads
    assert all("2026-10-01" not in sql and "2026-10-21" in sql for sql in day_reads)  # October 21 to 31, taken away
    assert not line_reads(queries)  # the lines give only the newest sale up to October 20
    lines = lines_aggregate({"range": to_october_20}, SalesFilters(), Grouping.CATEGORY)
    assert aggregate.windows == lines.windows
    assert aggregate.newest == lines.newest


def test_a_product_sold_only_after_now_is_not_listed_so_far_today(store):
    latecomer = ProductFactory(price=Decimal("9.00"), initial_stock=5)
    sell((latecomer, 1), sold_at=NOW + timedelta(minutes=1))
    today = (datetime(2026, 11, 24, tzinfo=UTC), NOW)
    products = summarised.ranked_products(window=today, filters=SalesFilters(), by="revenue", limit=10)
    assert latecomer.pk not in [key for key, _ in products]


def test_a_past_partial_hour_is_read_from_its_own_lines_when_they_are_the_smaller_part(store):
    yesterday_so_far = (datetime(2026, 11, 23, tzinfo=UTC), NOW - timedelta(days=1))  # ends at 15:30 yesterday
    with CaptureQueriesContext(connection) as queries:
        metrics_aggregate(windows={"yesterday": yesterday_so_far})
    assert all("2026-11-23 15:00:00" in sql and "2026-11-23 16:00:00" not in sql for sql in line_reads(queries))


@pytest.mark.mysql
@pytest.mark.django_db(transaction=True)
def test_a_sale_committed_between_the_summary_read_and_the_lines_read_counts_on_neither_side(freeze, monkeypatch):
    freeze(NOW)
    product = ProductFactory(price=Decimal("1.00"), initial_stock=50)
    sell((product, 1), sold_at=NOW - timedelta(minutes=10))

    def sell_ahead_from_another_connection():
        try:
            sell((product, 1), sold_at=NOW + timedelta(minutes=1))
        finally:
            connection.close()

    read_summaries = summarised._from_summaries

    def a_sale_commits_after_the_summaries_are_read(*args, **kwargs):
        part = read_summaries(*args, **kwargs)
        other = threading.Thread(target=sell_ahead_from_another_connection)
        other.start()
        other.join()
        return part

    monkeypatch.setattr(summarised, "_from_summaries", a_sale_commits_after_the_summaries_are_read)
    totals = metrics_aggregate(windows={"today": (datetime(2026, 11, 24, tzinfo=UTC), NOW)})

    # Both reads see the store as it was before that sale: it is neither in the hour's row nor taken away.
    assert (totals.total("today").orders, totals.total("today").units_sold) == (1, 1)


def test_the_unfiltered_sale_list_counts_from_the_day_summary_not_every_sale(analyst, store):
    body, sql = read_tables(analyst, "/api/v1/sales/?page_size=5")
    assert body["count"] == Sale.objects.count() == 24
    assert len(body["results"]) == 5
    assert "SUM(`insights_dailysales`.`orders`)" in sql or 'SUM("insights_dailysales"."orders")' in sql
    assert "COUNT(*)" not in sql


def test_a_filtered_sale_list_counts_its_own_rows(analyst, store):
    body, sql = read_tables(analyst, "/api/v1/sales/?channel=web&start_date=2026-11-01&end_date=2026-11-24")
    assert body["count"] == Sale.objects.filter(sold_at__gte=datetime(2026, 11, 1, tzinfo=UTC)).count() == 8
    assert "COUNT(*)" in sql


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
