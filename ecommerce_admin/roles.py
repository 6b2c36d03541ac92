"""The staff roles, as groups of Django model permissions over the four domain apps."""

from django.apps import apps as global_apps

DOMAIN_APPS = ("catalog", "inventory", "sales", "insights")
STORE_MANAGER = "Store manager"
ANALYST = "Analyst"
INVENTORY_CLERK = "Inventory clerk"

# Beyond every domain permission, a manager reads the audit trail (GET /api/v1/audit/, the admin's history).
STORE_MANAGER_EXTRA = (("ecommerce_admin", "view_audit"),)

# Beyond viewing everything, a clerk may change stock levels and record adjustments: not prices, not sales.
INVENTORY_CLERK_EXTRA = (
    ("inventory", "change_stocklevel"),
    ("inventory", "add_stockmovement"),
)


def roles_sync(apps=global_apps, **kwargs) -> None:
    """Create the role groups and give them every current permission they are due; safe to run repeatedly."""
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    domain = Permission.objects.filter(content_type__app_label__in=DOMAIN_APPS)
    views = domain.filter(codename__startswith="view_")

    manager_extra = [
        p
        for p in Permission.objects.filter(content_type__app_label="ecommerce_admin").select_related("content_type")
        if (p.content_type.app_label, p.codename) in STORE_MANAGER_EXTRA
    ]
    Group.objects.get_or_create(name=STORE_MANAGER)[0].permissions.add(*domain, *manager_extra)
    Group.objects.get_or_create(name=ANALYST)[0].permissions.add(*views)
    clerk_extra = [p for p in domain if (p.content_type.app_label, p.codename) in INVENTORY_CLERK_EXTRA]
    Group.objects.get_or_create(name=INVENTORY_CLERK)[0].permissions.add(*views, *clerk_extra)
