"""Real races on MariaDB: threads with their own connections, released together by a barrier."""

import threading
from collections import Counter

import pytest
from django.db import connection, connections

from catalog.tests.factories import ProductFactory
from inventory.models import MovementReason, StockLevel, StockMovement
from inventory.services import InsufficientStock, stock_adjust
from sales.models import Sale
from sales.tests.factories import sell

pytestmark = [pytest.mark.mysql, pytest.mark.django_db(transaction=True)]


def race(workers: list) -> list:
    """Run each callable in its own thread, all starting at once; return what each returned or raised."""
    barrier = threading.Barrier(len(workers))
    outcomes: list = [None] * len(workers)

    def run(index, work):
        try:
            barrier.wait()
            outcomes[index] = work()
        except Exception as error:  # the outcome under test may be an error
            outcomes[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, work)) for i, work in enumerate(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def stock(product) -> int:
    return StockLevel.objects.get(product=product).quantity


def test_thirty_buyers_for_the_last_five_units_make_exactly_five_sales():
    product = ProductFactory(initial_stock=5)

    outcomes = race([lambda: sell((product, 1)) for _ in range(30)])

    kinds = Counter(type(outcome).__name__ for outcome in outcomes)
    assert kinds == {"Sale": 5, "InsufficientStock": 25}
    assert stock(product) == 0
    assert Sale.objects.count() == 5
    assert StockMovement.objects.filter(product=product, reason="sale").count() == 5
    assert sorted(StockMovement.objects.filter(reason="sale").values_list("quantity_after", flat=True)) == [
        0,
        1,
        2,
        3,
        4,
    ]


def test_concurrent_restocks_and_sales_lose_no_update():
    product = ProductFactory(initial_stock=100)

    def restock():
        return stock_adjust(product=product, delta=2, reason=MovementReason.RESTOCK)

    outcomes = race([lambda: sell((product, 1)) for _ in range(20)] + [restock for _ in range(20)])

    assert not [outcome for outcome in outcomes if isinstance(outcome, Exception)]
    assert stock(product) == 100 - 20 + 40


def test_multi_line_sales_in_opposite_orders_neither_deadlock_nor_oversell():
    first, second = ProductFactory(initial_stock=60), ProductFactory(initial_stock=60)

    workers = [lambda: sell((first, 1), (second, 1)) for _ in range(8)]
    workers += [lambda: sell((second, 1), (first, 1)) for _ in range(8)]
    for _ in range(3):
        outcomes = race(workers)
        assert all(not isinstance(outcome, Exception) for outcome in outcomes), outcomes

    assert Sale.objects.count() == 48
    assert (stock(first), stock(second)) == (12, 12)


def test_two_retries_of_the_same_idempotency_key_at_once_sell_once():
    product = ProductFactory(initial_stock=100)

    for round_number in range(5):
        key = f"retry-{round_number}"
        outcomes = race([lambda key=key: sell((product, 3), idempotency_key=key) for _ in range(2)])
        assert all(not isinstance(outcome, Exception) for outcome in outcomes), outcomes
        assert outcomes[0].pk == outcomes[1].pk
        assert sorted(outcome.replayed for outcome in outcomes) == [False, True]

    assert Sale.objects.count() == 5
    assert stock(product) == 100 - 5 * 3


def test_a_refused_sale_under_contention_leaves_no_trace():
    scarce, plenty = ProductFactory(initial_stock=3), ProductFactory(initial_stock=100)

    outcomes = race([lambda: sell((plenty, 1), (scarce, 1)) for _ in range(10)])

    assert sum(isinstance(outcome, InsufficientStock) for outcome in outcomes) == 7
    assert (stock(scarce), stock(plenty)) == (0, 97)
    assert StockMovement.objects.filter(product=plenty, reason="sale").count() == 3
    assert connection.vendor == "mysql"


def test_sixteen_writers_of_three_line_sales_neither_oversell_nor_deadlock(caplog):
    products = [ProductFactory(initial_stock=12) for _ in range(6)]
    baskets = [[products[(i + j) % 6] for j in (0, 2, 3)] for i in range(16)]
    for basket in baskets[::2]:
        basket.reverse()  # the same products asked for in the opposite order

    outcomes = race([lambda basket=basket: sell(*[(product, 2) for product in basket]) for basket in baskets])

    errors = [outcome for outcome in outcomes if isinstance(outcome, Exception)]
    assert all(isinstance(error, InsufficientStock) for error in errors), errors
    sold = Counter(line.product_id for sale in outcomes if isinstance(sale, Sale) for line in sale.lines.all())
    assert all(stock(product) == 12 - 2 * sold[product.pk] >= 0 for product in products)
    assert len(outcomes) - len(errors) == Sale.objects.count() >= 1
    assert "lost to MariaDB error 1213" not in caplog.text  # no deadlock, not even one retried
