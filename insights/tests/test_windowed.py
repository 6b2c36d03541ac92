"""Metrics queries written as SQL text give what the ORM gives, converted as the ORM converts them."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db.models import Count, Max, Sum

from catalog.tests.factories import ProductFactory
from insights.models import DailySales, HourlySales
from insights.selectors.metrics import Grouping, SalesFilters, lines_aggregate
from insights.selectors.windowed import COUNT, COUNT_DISTINCT, MAX, SUM, WindowedAggregate, windowed_rows
from sales.models import RefundLine, SaleLine

from .builders import refund, sell

pytestmark = pytest.mark.django_db

TEN = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)


@pytest.fixture
def sales():
    product = ProductFactory(price=Decimal("2.50"), initial_stock=100)
    first = sell((product, 2), sold_at=TEN + timedelta(minutes=10))
    sell((product, 1), sold_at=TEN + timedelta(minutes=50))
    sell((product, 3), sold_at=TEN + timedelta(hours=1, minutes=20))
    refund(first, (0, 1), created_at=TEN + timedelta(minutes=40))
    return product


def test_windowed_sums_counts_and_newest_equal_the_orm_aggregates_with_their_types(sales):
    windows = [(TEN, TEN + timedelta(hours=1)), (TEN + timedelta(hours=1), TEN + timedelta(hours=2))]
    rows = windowed_rows(
        SaleLine,
        time_path="sold_at",
        windows=windows,
        aggregates={
            "gross": WindowedAggregate(SUM, "line_total"),
            "orders": WindowedAggregate(COUNT_DISTINCT, "sale_id"),
            "newest": WindowedAggregate(MAX, "sold_at"),
            "lines": WindowedAggregate(COUNT, "id"),
        },
    )

    assert len(rows) == 1
    for index, (start, end) in enumerate(windows):
        orm = SaleLine.objects.filter(sold_at__gte=start, sold_at__lt=end).aggregate(
            gross=Sum("line_total"), orders=Count("sale_id", distinct=True), newest=Max("sold_at"), lines=Count("id")
        )
        assert {name: rows[0][f"w{index}_{name}"] for name in orm} == orm
    assert isinstance(rows[0]["w0_gross"], Decimal)
    assert rows[0]["w0_newest"] == TEN + timedelta(minutes=50)  # aware UTC, as the ORM gives it


def test_windowed_rows_join_a_related_table_and_filter_on_its_columns(sales):
    rows = windowed_rows(
        RefundLine,
        time_path="refund__created_at",
        windows=[(TEN, TEN + timedelta(hours=1))],
        aggregates={"amount": WindowedAggregate(SUM, "amount"), "newest": WindowedAggregate(MAX, "refund__created_at")},
        equal={"sale_line__product_id": sales.pk},
        key="sale_line__product_id",
    )
    assert rows == [{"key": sales.pk, "w0_amount": Decimal("2.50"), "w0_newest": TEN + timedelta(minutes=40)}]


def test_windowed_rows_over_no_rows_give_one_row_of_nothing_without_a_key_and_none_with_one(sales):
    empty = [(TEN - timedelta(days=1), TEN - timedelta(hours=1))]
    aggregates = {"gross": WindowedAggregate(SUM, "gross_revenue"), "rows": WindowedAggregate(COUNT, "orders")}
    assert windowed_rows(HourlySales, time_path="hour", windows=empty, aggregates=aggregates) == [
        {"w0_gross": None, "w0_rows": 0}
    ]
    assert windowed_rows(HourlySales, time_path="hour", windows=empty, aggregates=aggregates, key="hour") == []


def test_date_windows_read_a_date_column_and_key_rows_by_date(sales):
    rows = windowed_rows(
        DailySales,
        time_path="day",
        windows=[(date(2026, 6, 1), date(2026, 6, 2))],
        aggregates={"orders": WindowedAggregate(SUM, "orders")},
        key="day",
    )
    assert [(row["key"], int(row["w0_orders"])) for row in rows] == [(date(2026, 6, 1), 3)]


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata"])
def test_lines_within_one_store_hour_are_keyed_as_grouping_them_by_hour_keys_them(settings, zone, sales):
    settings.STORE_TIME_ZONE = zone
    hour_of_first_sale = datetime(2026, 6, 1, 9, 30, tzinfo=UTC) if zone == "Asia/Kolkata" else TEN
    within_one_hour = (TEN + timedelta(minutes=5), TEN + timedelta(minutes=25))
    across_hours = (TEN - timedelta(hours=2), TEN + timedelta(hours=3))

    alone = lines_aggregate({"w": within_one_hour}, SalesFilters(), Grouping.LOCAL_HOUR).windows["w"]
    grouped = lines_aggregate({"w": across_hours}, SalesFilters(), Grouping.LOCAL_HOUR).windows["w"]

    assert list(alone) == [hour_of_first_sale]
    assert alone[hour_of_first_sale].gross_revenue == Decimal("5.00")
    assert hour_of_first_sale in grouped
    by_date = lines_aggregate({"w": within_one_hour}, SalesFilters(), Grouping.LOCAL_DATE).windows["w"]
    assert list(by_date) == [date(2026, 6, 1)]


def test_several_windows_are_each_aggregated_by_key_even_where_they_overlap(sales):
    other = ProductFactory(price=Decimal("4.00"), initial_stock=10)
    sell((other, 2), sold_at=TEN + timedelta(hours=1, minutes=30))
    first_hour_only = ProductFactory(initial_stock=5)
    sell((first_hour_only, 1), sold_at=TEN + timedelta(minutes=5))
    windows = [(TEN, TEN + timedelta(hours=2)), (TEN + timedelta(hours=1), TEN + timedelta(hours=2))]
    aggregates = {
        "gross": WindowedAggregate(SUM, "line_total"),
        "units": WindowedAggregate(SUM, "quantity"),
        "orders": WindowedAggregate(COUNT_DISTINCT, "sale_id"),
    }

    rows = windowed_rows(
        SaleLine,
        time_path="sold_at",
        windows=windows,
        aggregates=aggregates,
        key="product_id",
        overall={"category_name": WindowedAggregate(MAX, "category_name")},
    )

    by_product = {row["key"]: row for row in rows}
    assert set(by_product) == {sales.pk, other.pk, first_hour_only.pk}
    for product in (sales, other, first_hour_only):
        row = by_product[product.pk]
        for index, (start, end) in enumerate(windows):
            orm = SaleLine.objects.filter(product=product, sold_at__gte=start, sold_at__lt=end).aggregate(
                gross=Sum("line_total"), units=Sum("quantity"), orders=Count("sale_id", distinct=True)
            )
            assert {name: row[f"w{index}_{name}"] for name in aggregates} == orm
        assert row["category_name"] == product.category.name
    # Sold only in the first hour: nothing summed in the second window, and no orders.
    assert by_product[first_hour_only.pk]["w1_gross"] is None
    assert by_product[first_hour_only.pk]["w1_orders"] == 0
    assert isinstance(by_product[sales.pk]["w0_units"], int)  # summed as an integer, not a Decimal


def test_several_windows_without_a_key_give_one_row(sales):
    windows = [(TEN, TEN + timedelta(hours=1)), (TEN - timedelta(days=1), TEN)]
    rows = windowed_rows(
        SaleLine, time_path="sold_at", windows=windows, aggregates={"lines": WindowedAggregate(COUNT, "id")}
    )
    assert rows == [{"w0_lines": 2, "w1_lines": 0}]


def test_an_overall_sum_over_several_windows_is_refused_as_a_row_may_lie_in_two(sales):
    with pytest.raises(ValueError, match="MAX"):
        windowed_rows(
            SaleLine,
            time_path="sold_at",
            windows=[(TEN, TEN + timedelta(hours=2)), (TEN, TEN + timedelta(hours=1))],
            aggregates={"lines": WindowedAggregate(COUNT, "id")},
            overall={"units": WindowedAggregate(SUM, "quantity")},
        )
