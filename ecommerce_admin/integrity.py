"""The invariants the stored data must satisfy, each checked in SQL aggregates over the whole store.

`manage.py check_integrity` runs them all; every check returns human-readable violations, so a
fault test or an operator after a restore sees exactly which record is wrong and how.
"""

from collections.abc import Callable
from decimal import Decimal

from django.db.models import Count, DecimalField, ExpressionWrapper, F, Q, Sum
from django.db.models.functions import Coalesce

from catalog.models import Product
from insights.summaries import summaries_verify
from inventory.models import StockLevel, StockMovement
from inventory.selectors import ledger_violations
from sales.models import Refund, RefundLine, Sale, SaleLine, SaleStatus

from .money import cents

HALF_CENT = Decimal("0.005")


def stock_not_negative() -> list[str]:
    """No stock level and no ledger row below zero (the CHECK constraints can be switched off by hand)."""
    levels = [
        f"product {product_id}: negative stock {quantity}"
        for product_id, quantity in StockLevel.objects.filter(quantity__lt=0).values_list("product_id", "quantity")
    ]
    movements = [
        f"movement {movement_id} of product {product_id}: negative quantity_after {quantity}"
        for movement_id, product_id, quantity in StockMovement.objects.filter(quantity_after__lt=0).values_list(
            "id", "product_id", "quantity_after"
        )
    ]
    return levels + movements


def products_have_stock_levels() -> list[str]:
    """Every product has its stock level row (the inventory owns a product's stock from its creation)."""
    return [
        f"product {product_id}: no stock level"
        for product_id in Product.objects.filter(stock_level__isnull=True).values_list("id", flat=True)
    ]


def ledger_matches_stock() -> list[str]:
    """The sum of a product's ledger deltas, and its newest quantity_after, equal its stock; its rows, their count."""
    return [f"ledger: {violation}" for violation in ledger_violations()]


def sale_lines_add_up() -> list[str]:
    """Each line's total is its quantity times its unit price; each sale's total is the sum of its lines."""
    # Off by half a cent or more: amounts are whole cents, and SQLite multiplies decimals as floats
    # (3 x 308.55 = 925.6500000000001 there), so an exact comparison would flag right lines.
    difference = ExpressionWrapper(F("line_total") - F("unit_price") * F("quantity"), output_field=DecimalField())
    lines = (
        SaleLine.objects.annotate(difference=difference)
        .filter(Q(difference__gte=HALF_CENT) | Q(difference__lte=-HALF_CENT))
        .values_list("id", "sale_id", "quantity", "unit_price", "line_total")
    )
    violations = [
        f"sale line {line_id} of sale {sale_id}: line_total {total} != {quantity} x {price}"
        for line_id, sale_id, quantity, price, total in lines
    ]
    # Compared in Python: SQLite's decimal aggregates are not exact enough to compare in SQL.
    sales = Sale.objects.annotate(lines_total=Sum("lines__line_total"), line_count=Count("lines")).values_list(
        "id", "number", "total", "lines_total", "line_count"
    )
    for sale_id, number, total, lines_total, line_count in sales:
        if line_count == 0:
            violations.append(f"sale {sale_id} ({number}): has no lines")
        elif _money(total) != _money(lines_total):
            violations.append(
                f"sale {sale_id} ({number}): total {_money(total)} != sum of its lines {_money(lines_total)}"
            )
    return violations


def sale_lines_match_their_sale() -> list[str]:
    """Each line carries its sale's sold_at and channel (copied so that analytics read one table)."""
    lines = SaleLine.objects.filter(~Q(sold_at=F("sale__sold_at")) | ~Q(channel=F("sale__channel"))).values_list(
        "id", "sale_id", "sold_at", "channel", "sale__sold_at", "sale__channel"
    )
    return [
        f"sale line {line_id} of sale {sale_id}: sold_at/channel {sold_at.isoformat()}/{channel}"
        f" != the sale's {sale_sold_at.isoformat()}/{sale_channel}"
        for line_id, sale_id, sold_at, channel, sale_sold_at, sale_channel in lines
    ]


def refunds_add_up() -> list[str]:
    """Each refund's amount is the sum of its lines; each sale's refunded_total is the sum of its refunds."""
    refunds = Refund.objects.annotate(lines_amount=Sum("lines__amount")).values_list(
        "id", "sale_id", "amount", "lines_amount"
    )
    violations = [
        f"refund {refund_id} of sale {sale_id}: amount {_money(amount)} != sum of its lines {_money(lines_amount)}"
        for refund_id, sale_id, amount, lines_amount in refunds
        if _money(amount) != _money(lines_amount)
    ]
    refunded = dict(Refund.objects.values_list("sale_id").annotate(total=Sum("amount")).order_by())
    for sale_id, number, refunded_total in Sale.objects.values_list("id", "number", "refunded_total"):
        expected = _money(refunded.get(sale_id))
        if _money(refunded_total) != expected:
            violations.append(
                f"sale {sale_id} ({number}): refunded_total {_money(refunded_total)} != sum of its refunds {expected}"
            )
    return violations


def refunded_quantities_add_up() -> list[str]:
    """Each sale line's refunded_quantity is the sum of its refund lines, and never above what was sold."""
    refunded = dict(RefundLine.objects.values_list("sale_line_id").annotate(total=Sum("quantity")).order_by())
    violations = []
    for line_id, sale_id, quantity, refunded_quantity in SaleLine.objects.filter(
        Q(refunded_quantity__gt=0) | Q(id__in=list(refunded))
    ).values_list("id", "sale_id", "quantity", "refunded_quantity"):
        expected = refunded.get(line_id, 0)
        if refunded_quantity != expected:
            violations.append(
                f"sale line {line_id} of sale {sale_id}: refunded_quantity {refunded_quantity}"
                f" != sum of its refund lines {expected}"
            )
        if refunded_quantity > quantity:
            violations.append(
                f"sale line {line_id} of sale {sale_id}: refunded_quantity {refunded_quantity} > quantity {quantity}"
            )
    return violations


def sale_status_matches_refunds() -> list[str]:
    """A sale is `completed` with nothing refunded, `refunded` with everything, `partially_refunded` between."""
    sales = Sale.objects.annotate(
        units=Coalesce(Sum("lines__quantity"), 0), refunded_units=Coalesce(Sum("lines__refunded_quantity"), 0)
    ).values_list("id", "number", "status", "units", "refunded_units")
    violations = []
    for sale_id, number, status, units, refunded_units in sales:
        if refunded_units == 0:
            expected = SaleStatus.COMPLETED
        elif refunded_units >= units:
            expected = SaleStatus.REFUNDED
        else:
            expected = SaleStatus.PARTIALLY_REFUNDED
        if status != expected:
            violations.append(
                f"sale {sale_id} ({number}): status {status!r}, expected {expected.value!r}"
                f" ({refunded_units} of {units} units refunded)"
            )
    return violations


def sales_are_in_the_ledger() -> list[str]:
    """Each sale line took its quantity from stock in the ledger; each restocked refund put its units back."""
    taken = dict(
        StockMovement.objects.filter(sale_line__isnull=False)
        .values_list("sale_line_id")
        .annotate(total=Sum("delta"))
        .order_by()
    )
    violations = [
        f"sale line {line_id} of sale {sale_id}: sold {quantity}, ledger took {-taken.get(line_id, 0)}"
        for line_id, sale_id, quantity in SaleLine.objects.values_list("id", "sale_id", "quantity")
        if taken.get(line_id, 0) != -quantity
    ]
    orphans = set(taken) - set(SaleLine.objects.filter(id__in=list(taken)).values_list("id", flat=True))
    violations += [f"ledger: movements of sale line {line_id}, which does not exist" for line_id in sorted(orphans)]

    restocked = dict(
        StockMovement.objects.filter(refund__isnull=False)
        .values_list("refund_id")
        .annotate(total=Sum("delta"))
        .order_by()
    )
    refunded_units = dict(RefundLine.objects.values_list("refund_id").annotate(total=Sum("quantity")).order_by())
    for refund_id, sale_id, was_restocked in Refund.objects.values_list("id", "sale_id", "restocked"):
        expected = refunded_units.get(refund_id, 0) if was_restocked else 0
        if restocked.get(refund_id, 0) != expected:
            violations.append(
                f"refund {refund_id} of sale {sale_id}: {expected} units to restock, ledger restocked"
                f" {restocked.get(refund_id, 0)}"
            )
    return violations


def summaries_match_lines() -> list[str]:
    """The analytics summaries (insights) equal what the sale and refund lines add up to, day by day."""
    return [f"summaries: {difference}" for difference in summaries_verify()]


def _money(amount: Decimal | float | int | None) -> Decimal:
    return cents(amount or 0)


CHECKS: dict[str, Callable[[], list[str]]] = {
    "stock is not negative": stock_not_negative,
    "every product has a stock level": products_have_stock_levels,
    "ledger sums equal stock": ledger_matches_stock,
    "sale totals equal their lines": sale_lines_add_up,
    "sale lines carry their sale's time and channel": sale_lines_match_their_sale,
    "refunded totals equal their refunds": refunds_add_up,
    "refunded quantities equal their refund lines": refunded_quantities_add_up,
    "sale status matches its refunds": sale_status_matches_refunds,
    "sales and restocked refunds are in the ledger": sales_are_in_the_ledger,
    "analytics summaries equal the sale lines": summaries_match_lines,
}


def integrity_violations() -> dict[str, list[str]]:
    """Run every check; the name of each check that found something, with what it found."""
    found = {name: check() for name, check in CHECKS.items()}
    return {name: violations for name, violations in found.items() if violations}
