from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "insights"

    def ready(self) -> None:
        from . import receivers  # noqa: F401  (connects the domain apps' signals to the dashboard pushes)
