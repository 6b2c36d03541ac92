from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "inventory"

    def ready(self) -> None:
        from ecommerce_admin.pagination import register_table_count

        from . import receivers  # noqa: F401  (connects the catalog's signals)
        from .models import StockMovement
        from .selectors import ledger_size

        # The unfiltered ledger list counts from the stock levels' row counts, not COUNT(*) over the ledger.
        register_table_count(StockMovement, ledger_size)
