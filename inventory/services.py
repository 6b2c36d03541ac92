"""Every change of stock goes through here: one conditional UPDATE and one ledger row per change."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F
from django.http import Http404
from django.utils import timezone

from catalog.models import Product
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

    Stock rows are updated in product-id order, each with a conditional UPDATE that only matches
    while enough stock is left, so concurrent callers neither oversell nor deadlock one another.
    Must run inside a transaction (the caller's): the row locks taken here are what make the
    quantities read back below exact until the commit.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("stock_apply must run inside a transaction")
    net_by_product: dict[int, int] = {}
    for change in changes:
        if change.delta == 0:
            raise ValueError("A stock change needs a non-zero delta.")
        net_by_product[change.product_id] = net_by_product.get(change.product_id, 0) + change.delta

    for product_id in sorted(net_by_product):
        net = net_by_product[product_id]
        matched = StockLevel.objects.filter(product_id=product_id, quantity__gte=max(0, -net)).update(
            quantity=F("quantity") + net, updated_at=timezone.now()
        )
        if not matched:
            available = StockLevel.objects.filter(product_id=product_id).values_list("quantity", flat=True).first()
            if available is None:
                raise Http404(f"No stock level for product {product_id}.")
            raise InsufficientStock(product_id=product_id, requested=-net, available=available)

    # Taken once the rows are locked, so each product's ledger times follow the order its changes committed in.
    now = timezone.now()
    levels = {
        level["product_id"]: level
        for level in StockLevel.objects.filter(product_id__in=net_by_product).values(
            "product_id", "quantity", "low_stock_threshold"
        )
    }
    running = {pid: levels[pid]["quantity"] - net for pid, net in net_by_product.items()}
    old_quantities = dict(running)
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
                actor=actor if actor is not None and actor.is_authenticated else None,
                sale_line=change.sale_line,
                refund=change.refund,
                created_at=now,
            )
        )
    StockMovement.objects.bulk_create(movements)
    for product_id, level in levels.items():
        _notify_after_commit(
            product_id, old_quantities[product_id], level["quantity"], level["low_stock_threshold"], reason
        )
    return movements


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
