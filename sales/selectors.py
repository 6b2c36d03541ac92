from collections.abc import Iterable

from django.db.models import Prefetch, QuerySet

from .models import Refund, RefundLine, Sale, SaleLine


def sale_list() -> QuerySet[Sale]:
    """Sales; a page of them takes its lines from `lines_of_sales`, one sale its own `lines`."""
    return Sale.objects.all()


def lines_of_sales(sales: Iterable[Sale]) -> dict[int, list[SaleLine]]:
    """Each sale's lines in id order, in one query.

    What `prefetch_related("lines")` reads, without the related manager and queryset it builds for
    every sale: those cost more CPU than the query on a page of 50 sales.
    """
    lines: dict[int, list[SaleLine]] = {sale.pk: [] for sale in sales}
    for line in SaleLine.objects.filter(sale_id__in=list(lines)).order_by("id"):
        lines[line.sale_id].append(line)
    return lines


def refund_list() -> QuerySet[Refund]:
    return Refund.objects.prefetch_related(Prefetch("lines", queryset=RefundLine.objects.order_by("id")))
