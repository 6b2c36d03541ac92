"""Listen to the domain apps' signals: keep the sales summaries, schedule dashboard pushes.

The summary receivers write inside the sale's or refund's transaction, so the summaries commit or
roll back with it and can never fall behind. The push receivers only schedule:
`transaction.on_commit` runs the push after a commit and drops it on a rollback, so a sale that
never happened is never shown. `robust=True` keeps a push that raises from reaching the code that
made the write (the write has committed and stands).
"""

from functools import wraps

from django.db import transaction
from django.dispatch import receiver

from catalog.signals import product_saved
from inventory.signals import stock_changed
from sales.signals import refund_recorded, sale_recorded

from . import realtime, summaries


def _later(func, /, *args, **kwargs):
    """func with its arguments, for on_commit; not a functools.partial, which has no __qualname__: Django's
    robust on_commit logs a failing hook by its __qualname__, so a partial turned a logged error into a 500."""

    @wraps(func)
    def call():
        return func(*args, **kwargs)

    return call


@receiver(sale_recorded, dispatch_uid="insights.summarise_sale")
def summarise_sale(sender, *, sale, lines, **kwargs) -> None:
    summaries.summaries_add_sale(sale=sale, lines=lines)


@receiver(refund_recorded, dispatch_uid="insights.summarise_refund")
def summarise_refund(sender, *, refund, lines, **kwargs) -> None:
    summaries.summaries_add_refund(refund=refund, lines=lines)


@receiver(sale_recorded, dispatch_uid="insights.push_sale_recorded")
def push_sale_recorded(sender, *, sale, **kwargs) -> None:
    transaction.on_commit(_later(realtime.sale_committed, sale), robust=True)


@receiver(refund_recorded, dispatch_uid="insights.push_refund_recorded")
def push_refund_recorded(sender, **kwargs) -> None:
    transaction.on_commit(realtime.dashboard_changed, robust=True)


@receiver(product_saved, dispatch_uid="insights.push_product_saved")
def push_product_saved(sender, **kwargs) -> None:
    transaction.on_commit(realtime.dashboard_changed, robust=True)


@receiver(stock_changed, dispatch_uid="insights.push_stock_changed")
def push_stock_changed(
    sender, *, product_id, old_quantity, new_quantity, low_stock_threshold, reason, **kwargs
) -> None:
    # Sent after the commit already; on_commit then runs at once, and still would not after a rollback.
    transaction.on_commit(
        _later(
            realtime.stock_committed,
            product_id=product_id,
            old_quantity=old_quantity,
            new_quantity=new_quantity,
            low_stock_threshold=low_stock_threshold,
            reason=reason,
        ),
        robust=True,
    )
