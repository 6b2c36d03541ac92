from django.apps import AppConfig
from django.db.models.signals import post_migrate


class EcommerceAdminConfig(AppConfig):
    name = "ecommerce_admin"
    verbose_name = "Shopdesk"

    def ready(self) -> None:
        # Models added after the roles migration get their permissions into the groups too.
        post_migrate.connect(_roles_sync_after_migrate, dispatch_uid="ecommerce_admin.roles_sync")
        from . import schema  # noqa: F401  (registers the OpenAPI extension for our JWT authentication)
        from .authentication import connect_invalidation

        connect_invalidation()


def _roles_sync_after_migrate(sender, apps=None, **kwargs) -> None:
    from django.apps import apps as global_apps

    from .roles import DOMAIN_APPS, roles_sync

    if sender.label not in (*DOMAIN_APPS, "ecommerce_admin"):
        return
    apps = apps or global_apps
    try:  # the state migrate left: after `migrate auth zero` there are no groups to sync
        apps.get_model("auth", "Group")
        apps.get_model("auth", "Permission")
        apps.get_model("contenttypes", "ContentType")
    except LookupError:
        return
    roles_sync(apps)
