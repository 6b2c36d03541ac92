from django.conf import settings
from django.db import models
from django.db.models import F, Q

from catalog.models import Product


class Channel(models.TextChoices):
    WEB = "web", "Web"
    POS = "pos", "Point of sale"
    AMAZON = "amazon", "Amazon"
    WALMART = "walmart", "Walmart"
    OTHER = "other", "Other"


class SaleStatus(models.TextChoices):
    COMPLETED = "completed", "Completed"
    PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
    REFUNDED = "refunded", "Refunded"


class Sale(models.Model):
    """A financial record: written once by `sales.services`, then only refunded, never edited."""

    number = models.CharField(max_length=32, unique=True)
    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.WEB)
    status = models.CharField(max_length=20, choices=SaleStatus.choices, default=SaleStatus.COMPLETED)
    sold_at = models.DateTimeField()
    customer_email = models.EmailField(blank=True, default="")
    note = models.CharField(max_length=500, blank=True, default="")
    total = models.DecimalField(max_digits=12, decimal_places=2)
    refunded_total = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    idempotency_key = models.CharField(max_length=255, null=True, blank=True, unique=True)
    # SHA-256 of the canonical request body, to tell a retry from a reuse of the same key.
    request_fingerprint = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-sold_at", "-id"]
        indexes = [
            models.Index(fields=["sold_at"], name="sale_sold_at_idx"),
            models.Index(fields=["channel", "sold_at"], name="sale_channel_sold_at_idx"),
            models.Index(fields=["status", "sold_at"], name="sale_status_sold_at_idx"),
            models.Index(fields=["total"], name="sale_total_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(total__gte=0), name="sale_total_not_negative"),
            models.CheckConstraint(
                condition=Q(refunded_total__gte=0) & Q(refunded_total__lte=F("total")),
                name="sale_refunded_within_total",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def net_total(self):
        return self.total - self.refunded_total


class SaleLine(models.Model):
    """One product of a sale, with the product's sku, name, category and cost as they were when sold."""

    sale = models.ForeignKey(Sale, on_delete=models.PROTECT, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="sale_lines")
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)
    line_total = models.DecimalField(max_digits=12, decimal_places=2)
    unit_cost = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    refunded_quantity = models.PositiveIntegerField(default=0)
    sku = models.CharField("SKU", max_length=64)
    product_name = models.CharField(max_length=200)
    # A snapshot, not a foreign key: history keeps the category a sale had even after the category is gone.
    category_id = models.BigIntegerField(null=True, blank=True)
    category_name = models.CharField(max_length=120, blank=True, default="")
    # Copied from the sale so analytics read one table.
    sold_at = models.DateTimeField()
    channel = models.CharField(max_length=16, choices=Channel.choices)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["sold_at"], name="saleline_sold_at_idx"),
            models.Index(fields=["product", "sold_at"], name="saleline_product_sold_at_idx"),
            models.Index(fields=["category_id", "sold_at"], name="saleline_category_sold_at_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="saleline_quantity_positive"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="saleline_unit_price_not_negative"),
            models.CheckConstraint(
                condition=Q(refunded_quantity__lte=F("quantity")), name="saleline_refunded_within_quantity"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sale_id}: {self.quantity} x {self.sku}"


class Refund(models.Model):
    sale = models.ForeignKey(Sale, on_delete=models.PROTECT, related_name="refunds")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    restocked = models.BooleanField(default=True)
    reason = models.CharField(max_length=500, blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["created_at"], name="refund_created_at_idx")]
        constraints = [models.CheckConstraint(condition=Q(amount__gte=0), name="refund_amount_not_negative")]

    def __str__(self) -> str:
        return f"Refund {self.pk} of {self.sale_id}"


class RefundLine(models.Model):
    refund = models.ForeignKey(Refund, on_delete=models.PROTECT, related_name="lines")
    sale_line = models.ForeignKey(SaleLine, on_delete=models.PROTECT, related_name="refund_lines")
    quantity = models.PositiveIntegerField()
    amount = models.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=Q(quantity__gte=1), name="refundline_quantity_positive")]

    def __str__(self) -> str:
        return f"{self.quantity} of line {self.sale_line_id}"
