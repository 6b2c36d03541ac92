from unittest import mock

import pytest
from django.db import IntegrityError, connection, transaction

from catalog.tests.factories import ProductFactory
from inventory import services
from inventory.models import MovementReason, StockLevel, StockMovement
from inventory.services import InsufficientStock, StaleQuantity, StockChange

pytestmark = pytest.mark.django_db


def quantity(product) -> int:
    return StockLevel.objects.get(product=product).quantity


def test_stock_adjust_changes_stock_and_writes_one_ledger_row(make_user):
    clerk = make_user()
    product = ProductFactory(initial_stock=5)

    movement = services.stock_adjust(product=product, delta=7, reason=MovementReason.RESTOCK, actor=clerk, note="PO 9")

    assert quantity(product) == 12
    assert (movement.delta, movement.quantity_after, movement.reason, movement.note) == (7, 12, "restock", "PO 9")
    assert movement.actor == clerk
    assert StockMovement.objects.filter(product=product).count() == 2


def test_stock_adjust_refuses_to_go_below_zero_and_writes_nothing():
    product = ProductFactory(initial_stock=3)

    with pytest.raises(InsufficientStock) as error:
        services.stock_adjust(product=product, delta=-4, reason=MovementReason.DAMAGE)

    assert error.value.as_payload() == {
        "detail": f"Not enough stock for product {product.pk}: 4 requested, 3 available.",
        "code": "insufficient_stock",
        "product": product.pk,
        "requested": 4,
        "available": 3,
    }
    assert quantity(product) == 3
    assert StockMovement.objects.filter(product=product).count() == 1


def test_stock_adjust_can_take_the_last_unit():
    product = ProductFactory(initial_stock=2)
    services.stock_adjust(product=product, delta=-2, reason=MovementReason.DAMAGE)
    assert quantity(product) == 0


def test_stock_apply_is_all_or_nothing_across_products():
    plenty, scarce = ProductFactory(initial_stock=10), ProductFactory(initial_stock=1)

    with pytest.raises(InsufficientStock), transaction.atomic():
        services.stock_apply(
            changes=[StockChange(plenty.pk, -5), StockChange(scarce.pk, -2)], reason=MovementReason.ADJUSTMENT
        )

    assert (quantity(plenty), quantity(scarce)) == (10, 1)
    assert StockMovement.objects.filter(reason=MovementReason.ADJUSTMENT).count() == 0
    assert list(StockLevel.objects.filter(product__in=[plenty, scarce]).values_list("movements", flat=True)) == [1, 1]


def test_stock_apply_writes_sequential_quantity_after_for_repeated_products():
    product = ProductFactory(initial_stock=10)

    with transaction.atomic():
        movements = services.stock_apply(
            changes=[StockChange(product.pk, -3), StockChange(product.pk, -4)], reason=MovementReason.ADJUSTMENT
        )

    assert [m.quantity_after for m in movements] == [7, 3]
    assert quantity(product) == 3
    # the level counts its ledger rows: the opening one and these two
    assert (
        StockLevel.objects.get(product=product).movements == StockMovement.objects.filter(product=product).count() == 3
    )


def test_stock_apply_refuses_before_writing_and_names_the_first_product_short():
    plenty, scarce, short = ProductFactory(initial_stock=10), ProductFactory(initial_stock=1), ProductFactory()

    with pytest.raises(InsufficientStock) as error, transaction.atomic():
        services.stock_apply(
            changes=[StockChange(short.pk, -1), StockChange(plenty.pk, -5), StockChange(scarce.pk, -2)],
            reason=MovementReason.ADJUSTMENT,
        )

    assert (error.value.as_payload()["product"], error.value.as_payload()["available"]) == (scarce.pk, 1)
    assert (quantity(plenty), quantity(scarce), quantity(short)) == (10, 1, 0)


def test_stock_apply_takes_three_statements_for_any_number_of_products(django_assert_num_queries):
    products = [ProductFactory(initial_stock=10) for _ in range(4)]
    # On MySQL the UPDATE is sent in one query with the ledger's INSERT.
    sent_together = hasattr(connection, "execute_later")

    with transaction.atomic(), django_assert_num_queries(2 if sent_together else 3) as queries:
        services.stock_apply(
            changes=[StockChange(p.pk, -1) for p in reversed(products)] + [StockChange(products[0].pk, 2)],
            reason=MovementReason.ADJUSTMENT,
        )

    # Locked in product-id order (SQLite has no row locks: its write transactions run one at a time).
    lock = queries[0]["sql"]
    assert "ORDER BY product_id" in lock
    assert ("FOR UPDATE" in lock) == connection.features.has_select_for_update
    moves = [query["sql"].split(" ")[0] for query in queries[1:]]
    assert moves == (["UPDATE"] if sent_together else ["UPDATE", "INSERT"])
    assert "INSERT INTO" in queries[-1]["sql"]
    assert [quantity(p) for p in products] == [11, 9, 9, 9]


def test_a_level_moved_below_zero_fails_with_its_ledger_rows():
    # What holding the lock rules out: a quantity read before another change took the stock.
    product = ProductFactory(initial_stock=2)
    stale = mock.patch.object(services, "_locked_levels", return_value={product.pk: (20, 0)})

    with stale, pytest.raises(IntegrityError), transaction.atomic():
        services.stock_apply(changes=[StockChange(product.pk, -5)], reason=MovementReason.ADJUSTMENT)

    assert quantity(product) == 2
    assert StockMovement.objects.filter(product=product).count() == 1


@pytest.mark.django_db(transaction=True)
def test_stock_apply_outside_a_transaction_is_a_programming_error():
    product = ProductFactory(initial_stock=1)

    with pytest.raises(RuntimeError):
        services.stock_apply(changes=[StockChange(product.pk, 1)], reason=MovementReason.RESTOCK)


def test_stock_set_records_the_difference_as_an_adjustment():
    product = ProductFactory(initial_stock=10)

    movement = services.stock_set(product=product, quantity=4, note="count")

    assert (movement.delta, movement.quantity_after, movement.reason) == (-6, 4, "adjustment")
    assert quantity(product) == 4


def test_stock_set_to_the_same_quantity_writes_nothing():
    product = ProductFactory(initial_stock=10)
    assert services.stock_set(product=product, quantity=10) is None
    assert StockMovement.objects.filter(product=product).count() == 1


def test_stock_set_with_stale_expected_quantity_is_refused():
    product = ProductFactory(initial_stock=10)

    with pytest.raises(StaleQuantity) as error:
        services.stock_set(product=product, quantity=3, expected_quantity=9)

    assert error.value.as_payload()["code"] == "stale_quantity"
    assert quantity(product) == 10


def test_stock_changed_is_sent_after_commit_with_old_and_new_quantity(django_capture_on_commit_callbacks):
    from inventory.signals import stock_changed

    product = ProductFactory(initial_stock=10, low_stock_threshold=5)
    received = []

    def listen(sender, **kwargs):
        received.append(kwargs)

    stock_changed.connect(listen)
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            services.stock_adjust(product=product, delta=-6, reason=MovementReason.DAMAGE)
        assert received == []
        for callback in callbacks:
            callback()
    finally:
        stock_changed.disconnect(listen)

    assert received == [
        {
            "signal": stock_changed,
            "product_id": product.pk,
            "old_quantity": 10,
            "new_quantity": 4,
            "low_stock_threshold": 5,
            "reason": "damage",
        }
    ]


def test_stock_threshold_set_changes_only_the_threshold():
    product = ProductFactory(initial_stock=10, low_stock_threshold=2)
    services.stock_threshold_set(product=product, low_stock_threshold=20)
    level = StockLevel.objects.get(product=product)
    assert (level.quantity, level.low_stock_threshold, level.is_low) == (10, 20, True)
