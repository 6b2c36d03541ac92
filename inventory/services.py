"""Every change of stock goes through here: one conditional UPDATE and one ledger row per change."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.http import Http404
from django.utils import timezone

from catalog.models import Product
from ecommerce_admin.db_insert import execute_later, rows_insert
from ecommerce_admin.db_retry import retry_on_deadlock
from ecommerce_admin.errors import DomainError

from .models import MovementReason, StockLevel, StockMovement
from .signals import stock_changed


class InsufficientStock(DomainError):
    code = "insufficient_stock"

    def __init__(self, *, product_id: int, requested: int, available: int) -> None:
        super().__init__(
            f"Not enough stock for product {product_id}: {requested} requested, {available} available.",
            product=product_id,
            requested=requested,
            available=available,
        )


class StaleQuantity(DomainError):
    code = "stale_quantity"

    def __init__(self, *, product_id: int, expected: int, actual: int) -> None:
        super().__init__(
            f"The stock of product {product_id} changed meanwhile: expected {expected}, found {actual}.",
            product=product_id,
            expected_quantity=expected,
            quantity=actual,
        )


@dataclass(frozen=True)
class StockChange:
    """One line of a multi-product stock change, with the sale line or refund it comes from."""

    product_id: int
    delta: int
    sale_line: Any = None
    refund: Any = None


@transaction.atomic
def stock_level_open(
    *, product: Product, initial_quantity: int, low_stock_threshold: int, actor: AbstractBaseUser | None = None
) -> StockLevel:
    """Give a new product its stock level, recording any opening stock in the ledger as `initial`."""
    level = StockLevel.objects.create(product=product, quantity=0, low_stock_threshold=low_stock_threshold)
    if initial_quantity:
        stock_apply(
            changes=[StockChange(product_id=product.pk, delta=initial_quantity)],
            reason=MovementReason.INITIAL,
            actor=actor,
        )
        level.refresh_from_db()
    return level


@retry_on_deadlock
@transaction.atomic
def stock_adjust(
    *,
    product: Product,
    delta: int,
    reason: MovementReason,
    actor: AbstractBaseUser | None = None,
    note: str = "",
) -> StockMovement:
    """Change a product's stock by delta and record why, in one transaction."""
    [movement] = stock_apply(
        changes=[StockChange(product_id=product.pk, delta=delta)], reason=reason, actor=actor, note=note
    )
    return movement


@transaction.atomic
def stock_set(
    *,
    product: Product,
    quantity: int,
    expected_quantity: int | None = None,
    actor: AbstractBaseUser | None = None,
    note: str = "",
) -> StockMovement | None:
    """Set a product's stock to quantity as an `adjustment`; with expected_quantity, refuse a stale write."""
    level = _locked_level(product.pk)
    if expected_quantity is not None and level.quantity != expected_quantity:
        raise StaleQuantity(product_id=product.pk, expected=expected_quantity, actual=level.quantity)
    if quantity == level.quantity:
        return None
    return stock_adjust(
        product=product, delta=quantity - level.quantity, reason=MovementReason.ADJUSTMENT, actor=actor, note=note
    )


@transaction.atomic
def stock_threshold_set(*, product: Product, low_stock_threshold: int) -> StockLevel:
    """Change the quantity at or below which a product counts as low on stock."""
    level = _locked_level(product.pk)
    if level.low_stock_threshold != low_stock_threshold:
        old_threshold = level.low_stock_threshold
        level.low_stock_threshold = low_stock_threshold
        level.save(update_fields=["low_stock_threshold", "updated_at"])
        if (level.quantity <= low_stock_threshold) != (level.quantity <= old_threshold):
            _notify_after_commit(level.product_id, level.quantity, level.quantity, low_stock_threshold, "threshold")
    return level


def stock_apply(
    *,
    changes: Sequence[StockChange],
    reason: MovementReason,
    actor: AbstractBaseUser | None = None,
    note: str = "",
) -> list[StockMovement]:
    """Apply several stock changes at once, all or nothing, writing one ledger row per change.

    Three statements whatever the number of products, in two round trips: the stock rows are locked
    and read in product-id order (`SELECT ... FOR UPDATE`), so concurrent callers queue on them in one
    order and never deadlock one another; one UPDATE then moves them all and one INSERT writes the
    ledger. The quantities read under the lock are exact until the commit, so an insufficient
    stock is refused before anything is written, naming the first product short and what it has.
    Must run inside a transaction (the caller's), which holds those locks.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("stock_apply must run inside a transaction")
    net_by_product: dict[int, int] = {}
    rows_by_product: dict[int, int] = {}
    for change in changes:
        if change.delta == 0:
            raise ValueError("A stock change needs a non-zero delta.")
        net_by_product[change.product_id] = net_by_product.get(change.product_id, 0) + change.delta
        rows_by_product[change.product_id] = rows_by_product.get(change.product_id, 0) + 1

    # One cursor for the three statements, as `rows_insert` explains.
    with connection.cursor() as cursor:
        levels = _locked_levels(cursor, sorted(net_by_product))
        for product_id in sorted(net_by_product):
            if product_id not in levels:
                raise Http404(f"No stock level for product {product_id}.")
            available, net = levels[product_id][0], net_by_product[product_id]
            if available + net < 0:
                raise InsufficientStock(product_id=product_id, requested=-net, available=available)
        _levels_move(cursor, net_by_product, rows_by_product)

        # Taken once the rows are locked, so each product's ledger times follow the order its changes committed in.
        now = timezone.now()
        running = {product_id: levels[product_id][0] for product_id in net_by_product}
        actor = actor if actor is not None and actor.is_authenticated else None
        movements = []
        for change in changes:
            running[change.product_id] += change.delta
            movements.append(
                StockMovement(
                    product_id=change.product_id,
                    delta=change.delta,
                    quantity_after=running[change.product_id],
                    reason=reason,
                    note=note,
                    actor=actor,
                    sale_line=change.sale_line,
                    refund=change.refund,
                    created_at=now,
                )
            )
        rows_insert(movements, cursor=cursor)
    for product_id in sorted(net_by_product):
        old, threshold = levels[product_id]
        _notify_after_commit(product_id, old, running[product_id], threshold, reason)
    return movements


def _locked_levels(cursor, product_ids: list[int]) -> dict[int, tuple[int, int]]:
    """Lock the products' stock rows in id order; answer each one's (quantity, low_stock_threshold).

    SQL rather than `select_for_update().filter(...).values_list(...)`, which cost 0.3 ms of CPU
    per call to build against 0.05 ms for the database to answer it.
    """
    sql = (
        f"SELECT product_id, quantity, low_stock_threshold FROM {connection.ops.quote_name(StockLevel._meta.db_table)} "
        f"WHERE product_id IN ({', '.join(['%s'] * len(product_ids))}) ORDER BY product_id"
    )
    if connection.features.has_select_for_update:
        sql += " FOR UPDATE"
    cursor.execute(sql, product_ids)
    return {product_id: (quantity, threshold) for product_id, quantity, threshold in cursor.fetchall()}


def _levels_move(cursor, net_by_product: dict[int, int], rows_by_product: dict[int, int]) -> None:
    """Move every level by its net change, and its ledger row count, in one UPDATE sent with the ledger's INSERT.

    The rows are already locked in product-id order (`_locked_levels`), so the order this statement
    visits them in cannot deadlock, and it needs no MySQL-only `ORDER BY`; the quantities were read
    under that lock, so each moves by exactly what the ledger rows record. It waits for the ledger's
    INSERT (`execute_later`): no round trip of its own. Were a caller ever to reach here without
    holding the rows, a level taken below zero fails the transaction, with its ledger rows (the
    unsigned column and the CHECK constraint on quantity).
    """
    product_ids = sorted(net_by_product)
    table = connection.ops.quote_name(StockLevel._meta.db_table)
    whens = " ".join(["WHEN %s THEN %s"] * len(product_ids))
    nets = [value for product_id in product_ids for value in (product_id, net_by_product[product_id])]
    rows = [value for product_id in product_ids for value in (product_id, rows_by_product[product_id])]
    sql = (
        f"UPDATE {table} SET quantity = quantity + CASE product_id {whens} END, "
        f"movements = movements + CASE product_id {whens} END, updated_at = %s "
        f"WHERE product_id IN ({', '.join(['%s'] * len(product_ids))})"
    )
    params = [*nets, *rows, connection.ops.adapt_datetimefield_value(timezone.now()), *product_ids]
    execute_later(cursor, sql, params)


def _locked_level(product_id: int) -> StockLevel:
    try:
        return StockLevel.objects.select_for_update().get(product_id=product_id)
    except StockLevel.DoesNotExist as error:
        raise Http404(f"No stock level for product {product_id}.") from error


def _notify_after_commit(product_id: int, old: int, new: int, threshold: int, reason: str) -> None:
    transaction.on_commit(
        lambda: stock_changed.send_robust(
            sender=StockLevel,
            product_id=product_id,
            old_quantity=old,
            new_quantity=new,
            low_stock_threshold=threshold,
            reason=str(reason),
        )
    )
