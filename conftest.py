"""Fixtures shared by every app's tests."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import connection
from rest_framework.test import APIClient


def pytest_collection_modifyitems(config, items):
    """Skip tests that need MySQL/MariaDB when the suite runs on another database."""
    if connection.vendor == "mysql":
        return
    skip = pytest.mark.skip(reason="needs MySQL/MariaDB (DATABASE_URL is not mysql://)")
    for item in items:
        if "mysql" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def make_user(db):
    """Create a user with the given permissions ("app.codename") or groups."""
    counter = iter(range(1, 10_000))

    def make(*perms: str, groups: tuple[str, ...] = (), is_superuser: bool = False, **fields):
        user = get_user_model().objects.create_user(
            username=fields.pop("username", f"user{next(counter)}"), password="pw-123456", **fields
        )
        user.is_superuser = is_superuser
        user.is_staff = fields.get("is_staff", is_superuser)
        user.save()
        for perm in perms:
            app_label, codename = perm.split(".")
            user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
        for name in groups:
            user.groups.add(Group.objects.get(name=name))
        return get_user_model().objects.get(pk=user.pk)

    return make


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def client_as(make_user):
    """An API client authenticated (force_authenticate) as a new user with the given permissions."""

    def make(*perms: str, **kwargs) -> APIClient:
        client = APIClient()
        client.force_authenticate(make_user(*perms, **kwargs))
        return client

    return make


@pytest.fixture
def manager_api(make_user):
    client = APIClient()
    client.force_authenticate(make_user(groups=("Store manager",)))
    return client


@pytest.fixture
def is_mysql() -> bool:
    return connection.vendor == "mysql"


@pytest.fixture(autouse=True)
def empty_cache():
    """Start every test with an empty cache: cached analytics answers of one test's data must not reach another."""
    from django.core.cache import cache

    cache.clear()
