from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.utils import timezone

from catalog import services as catalog_services
from catalog.tests.factories import CategoryFactory, ProductFactory
from inventory.models import StockLevel, StockMovement
from inventory.services import InsufficientStock
from sales import services
from sales.models import Refund, Sale, SaleLine, SaleStatus
from sales.signals import sale_recorded
from sales.tests.factories import sell

pytestmark = pytest.mark.django_db


def stock(product) -> int:
    return StockLevel.objects.get(product=product).quantity


def test_sale_record_takes_every_line_from_stock_and_writes_the_ledger(make_user):
    cashier = make_user()
    mug = ProductFactory(price=Decimal("7.50"), cost=Decimal("3.00"), initial_stock=10)
    tea = ProductFactory(price=Decimal("4.25"), initial_stock=5)

    sale = services.sale_record(
        lines=[
            {"product": mug, "quantity": 2},
            {"product": tea, "quantity": 3, "unit_price": Decimal("4.00")},
        ],
        channel="pos",
        actor=cashier,
    )

    assert (sale.total, sale.refunded_total, sale.status, sale.channel) == (Decimal("27.00"), 0, "completed", "pos")
    assert sale.created_by == cashier
    assert (stock(mug), stock(tea)) == (8, 2)
    lines = list(sale.lines.order_by("id"))
    assert [(line.quantity, line.unit_price, line.line_total) for line in lines] == [
        (2, Decimal("7.50"), Decimal("15.00")),
        (3, Decimal("4.00"), Decimal("12.00")),
    ]
    movements = StockMovement.objects.filter(reason="sale").order_by("id")
    assert [(m.product_id, m.delta, m.quantity_after, m.sale_line_id) for m in movements] == [
        (mug.pk, -2, 8, lines[0].pk),
        (tea.pk, -3, 2, lines[1].pk),
    ]


def test_sale_record_with_one_short_line_writes_nothing_at_all():
    plenty, scarce = ProductFactory(initial_stock=50), ProductFactory(initial_stock=1)
    movements_before = StockMovement.objects.count()

    with pytest.raises(InsufficientStock) as error:
        sell((plenty, 5), (scarce, 2))

    assert (error.value.extra["product"], error.value.extra["requested"], error.value.extra["available"]) == (
        scarce.pk,
        2,
        1,
    )
    assert (stock(plenty), stock(scarce)) == (50, 1)
    assert Sale.objects.count() == SaleLine.objects.count() == 0
    assert StockMovement.objects.count() == movements_before


def test_sale_record_sums_repeated_lines_of_one_product_before_checking_stock():
    product = ProductFactory(initial_stock=5)
    with pytest.raises(InsufficientStock) as error:
        sell((product, 3), (product, 3))
    assert error.value.extra["requested"] == 6
    assert stock(product) == 5


def test_sale_lines_keep_the_product_as_it_was_when_sold():
    books = CategoryFactory(name="Books")
    product = ProductFactory(
        sku="B-1", name="Old name", category=books, price=Decimal("10.00"), cost=Decimal("4.00"), initial_stock=5
    )
    sale = sell((product, 1))

    catalog_services.product_update(
        product=product, sku="B-2", name="New name", category=CategoryFactory(name="Toys"), price=Decimal("99.00"),
        cost=Decimal("50.00"),
    )  # fmt: skip

    line = SaleLine.objects.get(sale=sale)
    assert (line.sku, line.product_name, line.category_id, line.category_name) == ("B-1", "Old name", books.pk, "Books")
    assert (line.unit_price, line.unit_cost) == (Decimal("10.00"), Decimal("4.00"))


def test_sale_record_refuses_an_archived_product():
    product = ProductFactory(initial_stock=5, is_active=False)
    with pytest.raises(services.ProductInactive):
        sell((product, 1))
    assert stock(product) == 5


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"lines": []}, "lines"),
        ({"lines": [{"product": 999999, "quantity": 1}]}, "lines"),
        ({"lines": "product-quantity-zero"}, "lines"),
        ({"channel": "telepathy"}, "channel"),
        ({"sold_at": "future"}, "sold_at"),
    ],
)
def test_sale_record_validates_its_input(kwargs, field):
    product = ProductFactory(initial_stock=5)
    if kwargs.get("lines") == "product-quantity-zero":
        kwargs["lines"] = [{"product": product, "quantity": 0}]
    if kwargs.get("sold_at") == "future":
        kwargs["sold_at"] = timezone.now() + timedelta(minutes=6)
    kwargs.setdefault("lines", [{"product": product, "quantity": 1}])

    with pytest.raises(ValidationError) as error:
        services.sale_record(**kwargs)

    assert field in error.value.message_dict
    assert Sale.objects.count() == 0
    assert stock(product) == 5


def test_sale_record_accepts_a_sale_up_to_five_minutes_ahead_and_in_the_past():
    product = ProductFactory(initial_stock=5)
    sell((product, 1), sold_at=timezone.now() + timedelta(minutes=4))
    sell((product, 1), sold_at=timezone.now() - timedelta(days=400))
    assert Sale.objects.count() == 2


def test_sale_record_with_the_same_idempotency_key_sells_once():
    product = ProductFactory(initial_stock=5)
    first = sell((product, 2), idempotency_key="key-1")
    again = sell((product, 2), idempotency_key="key-1")

    assert again.pk == first.pk
    assert (first.replayed, again.replayed) == (False, True)
    assert stock(product) == 3


def test_sale_record_with_a_reused_key_and_another_body_is_refused():
    product = ProductFactory(initial_stock=5)
    sell((product, 2), idempotency_key="key-1")
    with pytest.raises(services.IdempotencyKeyReused):
        sell((product, 3), idempotency_key="key-1")
    assert stock(product) == 3


def numbers_drawn(monkeypatch, *numbers: str) -> None:
    """Make the next sale numbers drawn these, in order."""
    drawn = iter(numbers)
    monkeypatch.setattr(services, "_sale_number", lambda now: next(drawn))


def test_a_sale_number_drawn_twice_is_drawn_again_and_the_sale_recorded_once(monkeypatch):
    product = ProductFactory(initial_stock=5)
    numbers_drawn(monkeypatch, "S261124-0000CAFE", "S261124-0000CAFE", "S261124-0000BEEF")
    first = sell((product, 1))

    second = sell((product, 2))

    assert (first.number, second.number) == ("S261124-0000CAFE", "S261124-0000BEEF")
    assert stock(product) == 2
    assert StockMovement.objects.filter(sale_line__sale=second).count() == 1


def test_a_sale_number_taken_at_every_draw_fails_the_sale_and_writes_nothing(monkeypatch):
    product = ProductFactory(initial_stock=5)
    numbers_drawn(monkeypatch, *["S261124-0000CAFE"] * (1 + services.NUMBER_ATTEMPTS))
    sell((product, 1))

    with pytest.raises(IntegrityError):
        sell((product, 2))
    assert stock(product) == 4
    assert Sale.objects.count() == 1


def test_sale_recorded_signal_is_sent_inside_the_transaction_with_the_sale():
    product = ProductFactory(initial_stock=5)
    received = []

    def listen(sender, sale, lines, actor, **kwargs):
        received.append((sale.number, [line.quantity for line in lines]))

    sale_recorded.connect(listen)
    try:
        sale = sell((product, 2))
        sell((product, 2), idempotency_key="k")
        sell((product, 2), idempotency_key="k")
    finally:
        sale_recorded.disconnect(listen)
    assert received[0] == (sale.number, [2])
    assert len(received) == 2


def test_sale_refund_returns_restocked_units_through_the_ledger():
    product = ProductFactory(initial_stock=10, price=Decimal("5.00"))
    sale = sell((product, 4))
    line = sale.lines.get()

    refund = services.sale_refund(sale=sale, lines=[{"line": line, "quantity": 3}], reason="broken")

    sale.refresh_from_db()
    line.refresh_from_db()
    assert (refund.amount, refund.restocked, refund.reason) == (Decimal("15.00"), True, "broken")
    assert (sale.refunded_total, sale.status, sale.net_total) == (
        Decimal("15.00"),
        "partially_refunded",
        Decimal("5.00"),
    )
    assert line.refunded_quantity == 3
    assert stock(product) == 9
    movement = StockMovement.objects.get(reason="refund")
    assert (movement.delta, movement.quantity_after, movement.refund_id) == (3, 9, refund.pk)


def test_sale_refund_without_restock_leaves_stock_alone():
    product = ProductFactory(initial_stock=10)
    sale = sell((product, 4))
    services.sale_refund(sale=sale, lines=[{"line": sale.lines.get(), "quantity": 4}], restock=False)

    sale.refresh_from_db()
    assert sale.status == SaleStatus.REFUNDED
    assert stock(product) == 6
    assert not StockMovement.objects.filter(reason="refund").exists()


def test_sale_refund_never_exceeds_what_was_sold_and_not_yet_refunded():
    product = ProductFactory(initial_stock=10)
    sale = sell((product, 4))
    line = sale.lines.get()
    services.sale_refund(sale=sale, lines=[{"line": line, "quantity": 3}])

    with pytest.raises(services.RefundExceedsSold) as error:
        services.sale_refund(sale=sale, lines=[{"line": line, "quantity": 2}])

    assert error.value.extra == {"line": line.pk, "requested": 2, "refundable": 1}
    assert Refund.objects.count() == 1
    assert stock(product) == 9


def test_sale_refund_rejects_a_line_of_another_sale():
    product = ProductFactory(initial_stock=10)
    sale, other = sell((product, 1)), sell((product, 1))
    with pytest.raises(ValidationError) as error:
        services.sale_refund(sale=sale, lines=[{"line": other.lines.get(), "quantity": 1}])
    assert "lines" in error.value.message_dict
