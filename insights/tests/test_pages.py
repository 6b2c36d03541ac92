"""The /dashboard/ page: staff only, in the admin's look, every asset served from our own static files."""

import re
from http import HTTPStatus

import pytest
from django.contrib.staticfiles import finders

pytestmark = pytest.mark.django_db


def test_anonymous_visitor_is_sent_to_the_admin_login(client):
    response = client.get("/dashboard/")
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == "/admin/login/?next=/dashboard/"


def test_logged_in_non_staff_user_is_sent_to_the_admin_login(client, make_user):
    client.force_login(make_user("sales.view_sale"))
    response = client.get("/dashboard/")
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == "/admin/login/?next=/dashboard/"


def test_staff_gets_the_page_in_the_admin_look_with_local_assets_only(client, make_user):
    client.force_login(make_user("sales.view_sale", is_staff=True))
    response = client.get("/dashboard/")
    assert response.status_code == HTTPStatus.OK
    html = response.content.decode()
    assert '<div id="site-name">' in html  # admin/base_site.html
    assert 'data-websocket-path="/ws/dashboard/"' in html
    assert "errornote" not in html
    sources = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', html)
    assert "/static/vendor/chartjs/chart.umd.min.js" in sources
    assert "/static/insights/dashboard.js" in sources
    assert "/static/insights/dashboard.css" in sources
    for source in sources:
        assert source.startswith("/static/"), source
        assert finders.find(source.removeprefix("/static/")), source


def test_staff_without_the_sales_permission_is_told_so(client, make_user):
    client.force_login(make_user(is_staff=True))
    response = client.get("/dashboard/")
    assert response.status_code == HTTPStatus.OK
    assert "sales.view_sale" in response.content.decode()


def test_only_get_is_allowed(client, make_user):
    client.force_login(make_user("sales.view_sale", is_staff=True))
    assert client.post("/dashboard/").status_code == HTTPStatus.METHOD_NOT_ALLOWED


def test_admin_index_links_to_the_dashboard(client, make_user):
    client.force_login(make_user(is_superuser=True))
    response = client.get("/admin/")
    assert response.status_code == HTTPStatus.OK
    assert 'href="/dashboard/" id="live-dashboard-link"' in response.content.decode()
    assert 'id="recent-actions-module"' in response.content.decode()  # the admin's own index is still there


def test_vendored_chart_library_ships_with_its_licence():
    assert finders.find("vendor/chartjs/chart.umd.min.js")
    with open(finders.find("vendor/chartjs/LICENSE.md")) as file:
        licence = file.read()
    assert "MIT" in licence or "Permission is hereby granted" in licence
