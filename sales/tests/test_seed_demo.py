from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import F, Q, Sum

from catalog.models import Category, Product
from inventory.models import StockLevel, StockMovement
from inventory.selectors import ledger_violations
from sales import seeding
from sales.models import Refund, Sale, SaleLine

pytestmark = pytest.mark.django_db(transaction=True)


def seed(**options):
    out = StringIO()
    call_command("seed_demo", no_progress=True, stdout=out, **options)
    return out.getvalue()


def test_seed_demo_writes_a_consistent_store():
    seed(products=40, categories=5, days=60, sales=3000, seed=7)

    assert (Category.objects.count(), Product.objects.count(), StockLevel.objects.count()) == (5, 40, 40)
    assert SaleLine.objects.count() == 3000
    assert ledger_violations() == []
    # summed in Python with Decimal: SQLite would sum the amounts as floats
    lines_total, refunds_total = defaultdict(Decimal), defaultdict(Decimal)
    for sale_id, line_total in SaleLine.objects.values_list("sale_id", "line_total"):
        lines_total[sale_id] += line_total
    for sale_id, amount in Refund.objects.values_list("sale_id", "amount"):
        refunds_total[sale_id] += amount
    for sale_id, total, refunded_total in Sale.objects.values_list("id", "total", "refunded_total"):
        assert (total, refunded_total) == (lines_total[sale_id], refunds_total[sale_id])
    assert not Sale.objects.filter(refunds__isnull=True).exclude(refunded_total=0, status="completed").exists()
    line_refunds = SaleLine.objects.annotate(refunded=Sum("refund_lines__quantity"))
    assert not line_refunds.exclude(Q(refunded__isnull=True, refunded_quantity=0) | Q(refunded_quantity=F("refunded")))
    assert StockMovement.objects.filter(reason="sale").count() == 3000
    assert Refund.objects.exists()


def test_seed_demo_has_a_realistic_shape():
    seed(products=60, categories=6, days=28, sales=6000, seed=3)

    channels = set(Sale.objects.values_list("channel", flat=True))
    assert {"web", "pos", "amazon"} <= channels
    by_product = list(SaleLine.objects.values("product").annotate(units=Sum("quantity")).order_by("-units"))
    # long tail: the best seller sells several times the median product
    assert by_product[0]["units"] > 3 * by_product[len(by_product) // 2]["units"]
    # A few products low or out of stock, as on any day of a real store; not most of the catalog.
    low = StockLevel.objects.filter(quantity__lte=F("low_stock_threshold")).count()
    assert 0 < low <= StockLevel.objects.count() // 4


def test_seed_demo_is_deterministic_for_a_seed():
    def fingerprint():
        return list(SaleLine.objects.order_by("id").values_list("sku", "quantity", "unit_price", "channel")[:200])

    seed(products=20, categories=3, days=10, sales=500, seed=11)
    first = fingerprint()
    seed(products=20, categories=3, days=10, sales=500, seed=11, reset=True)
    assert fingerprint() == first


def test_seed_demo_refuses_to_add_to_an_existing_store_without_reset():
    seed(products=5, categories=1, days=2, sales=10)
    with pytest.raises(CommandError, match="--reset"):
        seed(products=5, categories=1, days=2, sales=10)
    assert "not seeding" in seed(products=5, categories=1, days=2, sales=10, if_empty=True)
    assert SaleLine.objects.count() == 10


def test_seed_demo_rejects_nonsense_sizes():
    with pytest.raises(CommandError):
        seed(products=0)
    with pytest.raises(CommandError):
        seed(products=2, categories=5)


@pytest.mark.skipif(connection.vendor != "mysql", reason="the LOAD DATA loader exists on MySQL/MariaDB only")
def test_the_bulk_loader_keeps_awkward_text_nulls_and_times_as_they_were():
    awkward = ["tab\there", "line\nbreak", "back\\slash", "\\N", "", 'quote "q"', "carriage\rreturn"]
    at = datetime(2026, 3, 1, 12, 30, 45, 123456)
    columns = ["id", "number", "channel", "status", "sold_at", "total", "refunded_total", "created_at",
               "customer_email", "note", "request_fingerprint", "created_by_id"]  # fmt: skip
    rows = [(9000 + i, f"S-{i}", "web", "completed", at, Decimal("12.30"), 0, at, "", note, "", None)
            for i, note in enumerate(awkward)]  # fmt: skip
    loader = seeding._MySQLLoader()
    loader.write([(Sale, columns, rows)])
    loader.close()

    sales = Sale.objects.filter(id__gte=9000).order_by("id")
    assert [sale.note for sale in sales] == awkward
    assert {(sale.created_by_id, sale.sold_at, sale.total) for sale in sales} == {
        (None, at.replace(tzinfo=UTC), Decimal("12.30"))
    }


@pytest.mark.skipif(connection.vendor != "mysql", reason="the LOAD DATA loader exists on MySQL/MariaDB only")
def test_the_bulk_loader_writes_a_batch_whole_or_not_at_all():
    at = datetime(2026, 3, 1, 12, 30)
    _, movement_columns = seeding.TABLES["movement"]
    loader = seeding._MySQLLoader()
    loader.write(
        [
            (Sale, ["id", "number"], [(9000, "S-1")]),  # refused: the sale's other columns have no default
            (StockMovement, movement_columns, [(9000, 1, 5, 5, "restock", "", None, None, at)]),
        ]
    )
    with pytest.raises(RuntimeError, match="Loading sales_sale"):
        loader.close()

    assert not Sale.objects.exists()
    assert not StockMovement.objects.exists()
