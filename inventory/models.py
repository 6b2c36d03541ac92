from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from catalog.models import Product


class MovementReason(models.TextChoices):
    INITIAL = "initial", "Initial stock"
    RESTOCK = "restock", "Restock"
    ADJUSTMENT = "adjustment", "Adjustment"
    DAMAGE = "damage", "Damage"
    CORRECTION = "correction", "Correction"
    SALE = "sale", "Sale"
    REFUND = "refund", "Refund"


# Reasons a person may give for a manual change; the others are written by sales, refunds and product creation.
MANUAL_REASONS = (MovementReason.RESTOCK, MovementReason.ADJUSTMENT, MovementReason.DAMAGE, MovementReason.CORRECTION)


class StockLevel(models.Model):
    """How many units of a product are on hand: changed only by `inventory.services`."""

    product = models.OneToOneField(Product, on_delete=models.CASCADE, primary_key=True, related_name="stock_level")
    quantity = models.PositiveIntegerField(default=0)
    low_stock_threshold = models.PositiveIntegerField(default=10)
    # How many ledger rows the product has, moved with the quantity by the same UPDATE: the ledger's
    # size without a COUNT(*) over it (checked by `inventory.selectors.ledger_violations`).
    movements = models.PositiveBigIntegerField(default=0, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    # The audit trail of threshold changes; quantities have their own trail, the ledger.
    history = HistoricalRecords(excluded_fields=["quantity", "movements", "updated_at"])

    class Meta:
        ordering = ["product_id"]
        constraints = [models.CheckConstraint(condition=Q(quantity__gte=0), name="stock_quantity_not_negative")]

    def __str__(self) -> str:
        return f"{self.product_id}: {self.quantity}"

    @property
    def is_low(self) -> bool:
        return self.quantity <= self.low_stock_threshold


class StockMovement(models.Model):
    """One row of the append-only stock ledger: the sum of a product's deltas is its stock."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="stock_movements")
    delta = models.IntegerField()
    quantity_after = models.PositiveIntegerField()
    reason = models.CharField(max_length=20, choices=MovementReason.choices)
    note = models.CharField(max_length=500, blank=True, default="")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sale_line = models.ForeignKey(
        "sales.SaleLine", null=True, blank=True, on_delete=models.PROTECT, related_name="stock_movements"
    )
    refund = models.ForeignKey(
        "sales.Refund", null=True, blank=True, on_delete=models.PROTECT, related_name="stock_movements"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["product", "created_at", "id"], name="movement_product_time_idx"),
            models.Index(fields=["created_at"], name="movement_created_at_idx"),
            models.Index(fields=["reason", "created_at"], name="movement_reason_time_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(delta=0), name="movement_delta_not_zero"),
            models.CheckConstraint(condition=Q(quantity_after__gte=0), name="movement_quantity_after_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} {self.delta:+d} ({self.reason})"
