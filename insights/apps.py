from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "insights"

    def ready(self) -> None:
        from ecommerce_admin.pagination import register_table_count
        from sales.models import Sale

        from . import receivers  # noqa: F401  (connects the domain apps' signals to the dashboard pushes)
        from .selectors.summarised import sales_count

        # The unfiltered sale list counts from the day x channel summary, not COUNT(*) over every sale.
        register_table_count(Sale, sales_count)
