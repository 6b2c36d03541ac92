from http import HTTPStatus

import pytest
from django.core.cache import cache

pytestmark = pytest.mark.django_db


@pytest.fixture
def user(make_user):
    return make_user("catalog.view_product", groups=("Analyst",), username="ana")


def obtain(api, username="ana", password="pw-123456"):
    return api.post("/api/v1/auth/token/", {"username": username, "password": password})


def test_token_pair_then_me(api, user):
    tokens = obtain(api).json()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    me = api.get("/api/v1/auth/me/")

    assert me.status_code == HTTPStatus.OK
    body = me.json()
    assert (body["id"], body["username"], body["is_staff"], body["groups"]) == (user.pk, "ana", False, ["Analyst"])
    assert "catalog.view_product" in body["permissions"]


def test_token_with_bad_credentials_is_401(api, user):
    response = obtain(api, password="wrong")
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["code"] == "no_active_account"


def test_token_request_with_missing_fields_names_them(api):
    response = api.post("/api/v1/auth/token/", {})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert set(response.json()) == {"username", "password"}


def test_refresh_rotates_and_verify_checks(api, user):
    tokens = obtain(api).json()
    refreshed = api.post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]})
    assert refreshed.status_code == HTTPStatus.OK
    assert refreshed.json()["refresh"] != tokens["refresh"]

    assert api.post("/api/v1/auth/token/verify/", {"token": refreshed.json()["access"]}).json() == {}
    assert api.post("/api/v1/auth/token/verify/", {"token": "garbage"}).status_code == HTTPStatus.UNAUTHORIZED


def test_api_rejects_garbage_bearer_token(api):
    api.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    assert api.get("/api/v1/products/").status_code == HTTPStatus.UNAUTHORIZED


def test_me_without_credentials_is_401(api):
    assert api.get("/api/v1/auth/me").status_code == HTTPStatus.UNAUTHORIZED


def test_token_endpoint_is_throttled_with_retry_after(api, user, monkeypatch):
    from rest_framework.throttling import ScopedRateThrottle

    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"auth_token": "3/min"})
    cache.clear()
    try:
        statuses = [obtain(api, password="wrong").status_code for _ in range(4)]
        assert statuses == [401, 401, 401, 429]
        limited = obtain(api)
        assert limited.status_code == HTTPStatus.TOO_MANY_REQUESTS
        assert int(limited["Retry-After"]) > 0
        assert limited.json()["code"] == "throttled"
    finally:
        cache.clear()


def test_role_groups_exist_with_expected_permissions(make_user):
    manager = make_user(groups=("Store manager",))
    analyst = make_user(groups=("Analyst",))
    assert manager.has_perm("catalog.delete_product")
    assert manager.has_perm("sales.add_sale")
    assert analyst.has_perm("sales.view_sale")
    assert not analyst.has_perm("catalog.change_product")


def bearer(api, username="ana"):
    response = obtain(api, username)
    assert response.status_code == HTTPStatus.OK, response.json()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['access']}")
    return api


def test_cached_user_loses_a_revoked_permission_at_once(api, make_user):
    from django.contrib.auth.models import Permission

    user = make_user("catalog.view_product", username="direct")
    client = bearer(api, "direct")
    assert client.get("/api/v1/products/").status_code == HTTPStatus.OK
    user.user_permissions.remove(Permission.objects.get(codename="view_product"))
    assert client.get("/api/v1/products/").status_code == HTTPStatus.FORBIDDEN


def test_cached_user_loses_a_group_permission_at_once(api, make_user):
    from django.contrib.auth.models import Group, Permission

    make_user(groups=("Analyst",), username="grouped")
    client = bearer(api, "grouped")
    assert client.get("/api/v1/products/").status_code == HTTPStatus.OK
    Group.objects.get(name="Analyst").permissions.remove(Permission.objects.get(codename="view_product"))
    assert client.get("/api/v1/products/").status_code == HTTPStatus.FORBIDDEN


def test_cached_user_that_is_deactivated_is_refused(api, user):
    client = bearer(api)
    assert client.get("/api/v1/auth/me/").status_code == HTTPStatus.OK
    user.is_active = False
    user.save()
    assert client.get("/api/v1/auth/me/").status_code == HTTPStatus.UNAUTHORIZED


def test_jwt_requests_reuse_the_cached_user(api, user, django_assert_num_queries):
    from catalog.tests.factories import ProductFactory

    first, second = ProductFactory(), ProductFactory()
    client = bearer(api)
    client.get(f"/api/v1/products/{first.pk}/")
    with django_assert_num_queries(1):  # the (not yet cached) product: no user or permission query
        assert client.get(f"/api/v1/products/{second.pk}/").status_code == HTTPStatus.OK


def test_a_token_is_verified_once_per_process_then_only_its_expiry_is_checked(api, user, monkeypatch):
    from rest_framework_simplejwt.backends import TokenBackend

    verify = TokenBackend.decode
    decoded = []
    monkeypatch.setattr(
        TokenBackend, "decode", lambda self, *args, **kwargs: decoded.append(1) or verify(self, *args, **kwargs)
    )
    client = bearer(api)

    for _ in range(3):
        assert client.get("/api/v1/auth/me/").status_code == HTTPStatus.OK
    assert len(decoded) == 1


def test_a_remembered_token_is_refused_once_it_expires(api, user, monkeypatch):
    from datetime import timedelta

    from rest_framework_simplejwt import tokens
    from rest_framework_simplejwt.utils import aware_utcnow

    from ecommerce_admin import authentication

    client = bearer(api)
    assert client.get("/api/v1/auth/me/").status_code == HTTPStatus.OK

    later = aware_utcnow() + timedelta(hours=1)  # past the 15-minute access lifetime
    monkeypatch.setattr(tokens, "aware_utcnow", lambda: later)
    monkeypatch.setattr(authentication, "aware_utcnow", lambda: later)
    response = client.get("/api/v1/auth/me/")
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["code"] == "token_not_valid"


def test_a_remembered_token_altered_by_one_character_is_refused(api, user):
    access = obtain(api).json()["access"]
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    assert api.get("/api/v1/auth/me/").status_code == HTTPStatus.OK

    forged = access[:-2] + ("A" if access[-2] != "A" else "B") + access[-1]
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {forged}")
    assert api.get("/api/v1/auth/me/").status_code == HTTPStatus.UNAUTHORIZED
