from datetime import datetime

from django.db.models import Count, F, Max, QuerySet, Sum

from .models import StockLevel, StockMovement


def stock_level_list() -> QuerySet[StockLevel]:
    return StockLevel.objects.annotate(sku=F("product__sku"), product_name=F("product__name"))


def stock_quantity_at(*, product_id: int, at: datetime) -> int:
    """The product's stock at that instant, read from the ledger (0 before its first movement)."""
    quantity = (
        StockMovement.objects.filter(product_id=product_id, created_at__lte=at)
        .order_by("-created_at", "-id")
        .values_list("quantity_after", flat=True)
        .first()
    )
    return quantity or 0


def movement_list() -> QuerySet[StockMovement]:
    return StockMovement.objects.annotate(sale=F("sale_line__sale_id")).order_by("-created_at", "-id")


def ledger_violations() -> list[str]:
    """Every product whose ledger does not add up to its stock, whose newest row disagrees with it, or
    whose count of ledger rows (`StockLevel.movements`, the unfiltered ledger list's count) is off."""
    sums = {
        product_id: (total, rows)
        for product_id, total, rows in StockMovement.objects.values_list("product_id")
        .annotate(total=Sum("delta"), rows=Count("id"))
        .order_by()
    }
    newest_ids = StockMovement.objects.values("product_id").annotate(newest=Max("id")).values("newest")
    newest = dict(StockMovement.objects.filter(id__in=newest_ids).values_list("product_id", "quantity_after"))
    violations = []
    for product_id, quantity, movements in StockLevel.objects.values_list("product_id", "quantity", "movements"):
        (total, rows), last = sums.get(product_id, (0, 0)), newest.get(product_id, 0)
        if total != quantity or last != quantity:
            violations.append(
                f"product {product_id}: stock {quantity}, ledger sum {total}, newest quantity_after {last}"
            )
        if rows != movements:
            violations.append(f"product {product_id}: {rows} ledger rows, counted {movements}")
    return violations


def ledger_size() -> int:
    """How many rows the whole ledger has: the sum of the products' counts, kept by `stock_apply`."""
    return StockLevel.objects.aggregate(rows=Sum("movements"))["rows"] or 0
