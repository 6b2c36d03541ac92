"""The audit trail's models: history for users and groups (their permissions), and who may read it."""

from django.contrib.auth.models import Group, User
from django.db import models
from simple_history import register

# Permission changes are m2m changes: each one adds a history row with the new set. Password hashes
# and login times are never copied into the history.
register(
    User, app="ecommerce_admin", excluded_fields=["password", "last_login"], m2m_fields=["groups", "user_permissions"]
)
register(Group, app="ecommerce_admin", m2m_fields=["permissions"])


class Audit(models.Model):
    """No table: holds `ecommerce_admin.view_audit`, the permission to read the audit trail."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [("view_audit", "Can read the audit trail")]

    def __str__(self) -> str:
        return "audit trail"
