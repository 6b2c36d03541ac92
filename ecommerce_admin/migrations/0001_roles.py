from django.db import migrations


def create_roles(apps, schema_editor):
    """Create the role groups; permissions are made first, as they otherwise only appear after migrate."""
    from django.contrib.auth.management import create_permissions

    from ecommerce_admin.roles import roles_sync

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    roles_sync(apps)


def delete_roles(apps, schema_editor):
    from ecommerce_admin.roles import ANALYST, INVENTORY_CLERK, STORE_MANAGER

    apps.get_model("auth", "Group").objects.filter(name__in=[STORE_MANAGER, ANALYST, INVENTORY_CLERK]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("catalog", "0001_initial"),
        ("inventory", "0001_initial"),
        ("sales", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_roles, delete_roles)]
