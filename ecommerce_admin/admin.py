"""Users and groups in the admin with their history: who changed whose permissions, and when."""

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from simple_history.admin import SimpleHistoryAdmin

admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class UserHistoryAdmin(SimpleHistoryAdmin, UserAdmin):
    history_list_display = ["is_staff", "is_superuser", "is_active"]


@admin.register(Group)
class GroupHistoryAdmin(SimpleHistoryAdmin, GroupAdmin):
    pass
