from django.db import migrations


def grant_view_audit(apps, schema_editor):
    """Give the Store manager group the new view_audit permission (made here: it otherwise appears after migrate)."""
    from django.contrib.auth.management import create_permissions

    from ecommerce_admin.roles import roles_sync

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    roles_sync(apps)


def revoke_view_audit(apps, schema_editor):
    apps.get_model("auth", "Permission").objects.filter(
        content_type__app_label="ecommerce_admin", codename="view_audit"
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("ecommerce_admin", "0002_audit_history")]

    operations = [migrations.RunPython(grant_view_audit, revoke_view_audit)]
