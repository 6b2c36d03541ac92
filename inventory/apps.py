from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "inventory"

    def ready(self) -> None:
        from . import receivers  # noqa: F401  (connects the catalog's signals)
