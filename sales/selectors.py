from django.db.models import Prefetch, QuerySet

from .models import Refund, RefundLine, Sale, SaleLine


def sale_list() -> QuerySet[Sale]:
    """Sales with their lines in one extra query."""
    return Sale.objects.prefetch_related(Prefetch("lines", queryset=SaleLine.objects.order_by("id")))


def refund_list() -> QuerySet[Refund]:
    return Refund.objects.prefetch_related(Prefetch("lines", queryset=RefundLine.objects.order_by("id")))
