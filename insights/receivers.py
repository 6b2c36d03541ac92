"""Listen to the domain apps' signals: keep the sales summaries, retire cached answers, schedule dashboard pushes.

The summary receivers write inside the sale's or refund's transaction, so the summaries commit or
roll back with it and can never fall behind. The push receivers only schedule:
`transaction.on_commit` runs the push after a commit and drops it on a rollback, so a sale that
never happened is never shown. `robust=True` keeps a push that raises from reaching the code that
made the write (the write has committed and stands).
"""

from functools import wraps

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from catalog.models import Category, Product
from catalog.signals import product_saved
from ecommerce_admin.answer_cache import answers_changed
from inventory.models import MovementReason, StockLevel
from inventory.signals import stock_changed
from sales.signals import refund_recorded, sale_recorded

from . import realtime, summaries

# The stock changes of a sale, a refund or a new product, whose own push follows from the same commit:
# their on-commit hooks run first (stock_apply runs before the sale's or refund's signal is sent, and
# inventory's receiver of product_saved before this app's). The broadcaster waits for the rest.
PUSHED_BEFORE_THEIR_CAUSE = (MovementReason.SALE, MovementReason.REFUND, MovementReason.INITIAL)


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


@receiver(sale_recorded, dispatch_uid="insights.sale_changes_answers")
@receiver(refund_recorded, dispatch_uid="insights.refund_changes_answers")
@receiver(product_saved, dispatch_uid="insights.product_changes_answers")
@receiver(post_delete, sender=Product, dispatch_uid="insights.product_deletion_changes_answers")
@receiver(post_save, sender=StockLevel, dispatch_uid="insights.threshold_changes_answers")
@receiver(post_save, sender=Category, dispatch_uid="insights.category_changes_answers")
@receiver(post_delete, sender=Category, dispatch_uid="insights.category_deletion_changes_answers")
def retire_answers(sender, **kwargs) -> None:
    """Every report may show what changed: sales, refunds, thresholds, product and category names."""
    answers_changed()


@receiver(stock_changed, dispatch_uid="insights.stock_changes_answers")
def retire_answers_on_stock_change(sender, *, reason, **kwargs) -> None:
    # The stock moved by a sale or a refund was retired with the sale or refund, in its transaction.
    if reason not in (MovementReason.SALE, MovementReason.REFUND):
        answers_changed()


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
            more_follow=reason in PUSHED_BEFORE_THEIR_CAUSE,
        ),
        robust=True,
    )
