"""The summaries stay equal to the sale and refund lines, whatever is sold, refunded or rebuilt."""

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from catalog import services as catalog_services
from catalog.tests.factories import CategoryFactory, ProductFactory
from insights import summaries
from insights.models import DailyCategorySales, DailySales, MonthlyProductSales
from insights.summaries import summaries_rebuild, summaries_verify
from sales import services as sales_services

pytestmark = pytest.mark.django_db


def random_history(rng: random.Random, *, start: datetime, days: int, sales: int):
    categories = [CategoryFactory() for _ in range(3)]
    products = [
        ProductFactory(
            category=rng.choice(categories), price=Decimal(rng.randint(100, 9999)) / 100, initial_stock=10_000
        )
        for _ in range(6)
    ]
    recorded = []
    for _ in range(sales):
        sold_at = start + timedelta(seconds=rng.randrange(days * 86400))
        lines = [{"product": rng.choice(products), "quantity": rng.randint(1, 3)} for _ in range(rng.randint(1, 3))]
        recorded.append(
            sales_services.sale_record(lines=lines, sold_at=sold_at, channel=rng.choice(["web", "pos", "amazon"]))
        )
    for sale in rng.sample(recorded, k=len(recorded) // 5):
        line = rng.choice(list(sale.lines.all()))
        sales_services.sale_refund(
            sale=sale,
            lines=[{"line": line, "quantity": rng.randint(1, line.quantity)}],
            restock=rng.random() < 0.5,
            created_at=sale.sold_at + timedelta(hours=rng.randint(1, 72)),
        )
    return products, categories


@pytest.mark.parametrize("zone", ["America/New_York", "Pacific/Auckland", "Asia/Kolkata", "UTC"])
def test_summaries_written_with_each_sale_equal_the_lines_across_dst(settings, zone):
    settings.STORE_TIME_ZONE = zone
    # around both of the year's DST changes in either hemisphere
    rng = random.Random(zone)
    random_history(rng, start=datetime(2026, 3, 5, tzinfo=UTC), days=40, sales=60)
    random_history(rng, start=datetime(2026, 9, 20, tzinfo=UTC), days=50, sales=60)

    assert summaries_verify(start_date=date(2026, 3, 1), end_date=date(2026, 11, 30)) == []


def test_a_sale_counts_on_the_store_day_under_its_category_and_channel(settings):
    settings.STORE_TIME_ZONE = "America/New_York"
    books = CategoryFactory(name="Books")
    novel = ProductFactory(category=books, price=Decimal("10.00"), initial_stock=10)
    # 23:30 in New York on 1 March
    sale = sales_services.sale_record(
        lines=[{"product": novel, "quantity": 2}], sold_at=datetime(2026, 3, 2, 4, 30, tzinfo=UTC), channel="pos"
    )
    sales_services.sale_refund(
        sale=sale, lines=[{"line": sale.lines.get(), "quantity": 1}], created_at=datetime(2026, 3, 3, 15, tzinfo=UTC)
    )

    row = DailyCategorySales.objects.get(day=date(2026, 3, 1))
    assert (row.category_id, row.category_name, row.channel) == (books.pk, "Books", "pos")
    assert (row.gross_revenue, row.refunds, row.orders, row.units_sold, row.units_refunded) == (
        Decimal("20.00"), Decimal("0.00"), 1, 2, 0,
    )  # fmt: skip
    refund_day = DailyCategorySales.objects.get(day=date(2026, 3, 3))
    assert (refund_day.gross_revenue, refund_day.refunds, refund_day.orders, refund_day.units_refunded) == (
        Decimal("0.00"), Decimal("10.00"), 0, 1,
    )  # fmt: skip
    month = MonthlyProductSales.objects.get(product_id=novel.pk)
    assert (month.month, month.gross_revenue, month.refunds, month.orders) == (
        date(2026, 3, 1), Decimal("20.00"), Decimal("10.00"), 1,
    )  # fmt: skip


def test_a_sale_in_two_categories_is_one_order_of_the_day(settings):
    books, toys = CategoryFactory(), CategoryFactory()
    novel = ProductFactory(category=books, initial_stock=10)
    ball = ProductFactory(category=toys, initial_stock=10)
    sales_services.sale_record(lines=[{"product": novel, "quantity": 1}, {"product": ball, "quantity": 1}])

    assert DailySales.objects.get().orders == 1
    assert sorted(DailyCategorySales.objects.values_list("orders", flat=True)) == [1, 1]


def test_moving_a_product_to_another_category_leaves_its_sales_where_they_were():
    books, toys = CategoryFactory(), CategoryFactory()
    product = ProductFactory(category=books, initial_stock=10)
    sales_services.sale_record(lines=[{"product": product, "quantity": 1}])
    catalog_services.product_update(product=product, category=toys)
    sales_services.sale_record(lines=[{"product": product, "quantity": 1}])

    assert dict(DailyCategorySales.objects.values_list("category_id", "units_sold")) == {books.pk: 1, toys.pk: 1}
    assert summaries_verify() == []


def test_rebuild_is_idempotent_and_repairs_damage(settings):
    settings.STORE_TIME_ZONE = "Pacific/Auckland"
    random_history(random.Random(5), start=datetime(2026, 4, 1, tzinfo=UTC), days=20, sales=40)
    before = sorted(DailyCategorySales.objects.values_list("day", "category_id", "channel", "gross_revenue", "refunds"))
    DailyCategorySales.objects.filter(pk=DailyCategorySales.objects.first().pk).update(gross_revenue=Decimal("1.00"))
    DailySales.objects.all()[:1].get().delete()

    summaries_rebuild(start_date=date(2026, 4, 1), end_date=date(2026, 4, 30))
    summaries_rebuild(start_date=date(2026, 4, 1), end_date=date(2026, 4, 30))

    after = sorted(DailyCategorySales.objects.values_list("day", "category_id", "channel", "gross_revenue", "refunds"))
    assert after == before
    assert summaries_verify() == []


def test_a_changed_store_time_zone_is_set_right_by_a_rebuild(settings):
    random_history(random.Random(8), start=datetime(2026, 6, 1, tzinfo=UTC), days=10, sales=30)
    settings.STORE_TIME_ZONE = "America/New_York"

    assert summaries_verify() != []
    summaries_rebuild()
    assert summaries_verify() == []


def test_rebuild_summaries_command_verifies_and_fails_on_differences():
    ProductFactory(initial_stock=5)
    product = ProductFactory(initial_stock=5)
    sales_services.sale_record(lines=[{"product": product, "quantity": 1}])
    out = StringIO()
    call_command("rebuild_summaries", "--verify", stdout=out)
    assert "equal" in out.getvalue()

    DailySales.objects.update(orders=7)
    with pytest.raises(CommandError, match="1 summary row"):
        call_command("rebuild_summaries", "--verify", stdout=StringIO(), stderr=StringIO())
    call_command("rebuild_summaries", stdout=StringIO())
    call_command("rebuild_summaries", "--verify", stdout=StringIO())


def test_a_rolled_back_sale_leaves_the_summaries_untouched():
    product = ProductFactory(initial_stock=1)
    with pytest.raises(Exception, match="Not enough stock"):
        sales_services.sale_record(lines=[{"product": product, "quantity": 1}, {"product": product, "quantity": 1}])
    assert not DailySales.objects.exists()
    assert not DailyCategorySales.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_rebuild_outside_a_transaction_writes_its_table_groups_side_by_side_equal_to_the_lines(settings):
    settings.STORE_TIME_ZONE = "Asia/Kolkata"
    random_history(random.Random(13), start=datetime(2026, 4, 20, tzinfo=UTC), days=20, sales=40)  # two months
    for model in summaries.WRITE_ORDER:  # damage every table: a row changed, another lost
        changed, lost = model.objects.order_by("newest")[:2]
        model.objects.filter(pk=changed.pk).update(orders=99)
        lost.delete()
    assert summaries._side_by_side() is (connection.vendor == "mysql")  # two connections on MariaDB

    report = summaries_rebuild()

    assert summaries_verify() == []
    assert report.rows == {model.__name__: model.objects.count() for model in summaries.WRITE_ORDER}
