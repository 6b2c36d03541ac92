from django.conf import settings
from django.dispatch import receiver

from catalog.models import Product
from catalog.signals import product_saved

from . import services


@receiver(product_saved, sender=Product, dispatch_uid="inventory.open_stock_for_product")
def open_stock_for_product(
    sender, *, product, created, actor=None, initial_stock=0, low_stock_threshold=None, **kwargs
):
    """Keep a product's stock level alongside it, inside the catalog's transaction."""
    if created:
        services.stock_level_open(
            product=product,
            initial_quantity=initial_stock or 0,
            low_stock_threshold=(
                settings.DEFAULT_LOW_STOCK_THRESHOLD if low_stock_threshold is None else low_stock_threshold
            ),
            actor=actor,
        )
    elif low_stock_threshold is not None:
        services.stock_threshold_set(product=product, low_stock_threshold=low_stock_threshold)
