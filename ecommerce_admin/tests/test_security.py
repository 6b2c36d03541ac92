"""Access hardening: write throttling, logout with blacklisting, admin lockout, CORS, headers, deploy checks."""

import os
import subprocess
import sys
from http import HTTPStatus
from pathlib import Path

import pytest
import yaml
from django.core.cache import cache
from django.test import Client, override_settings

from catalog.models import Category
from ecommerce_admin.throttling import WriteRateThrottle

pytestmark = pytest.mark.django_db

BASE_DIR = Path(__file__).resolve().parents[2]
PASSWORD = "pw-123456"


@pytest.fixture
def limited_writes(monkeypatch):
    monkeypatch.setattr(WriteRateThrottle, "THROTTLE_RATES", {"writes": "3/min"})
    cache.clear()
    yield
    cache.clear()


def test_writes_are_throttled_per_user_with_retry_after_and_reads_are_not(manager_api, limited_writes):
    statuses = [manager_api.post("/api/v1/categories/", {"name": f"C{i}"}).status_code for i in range(4)]

    assert statuses == [201, 201, 201, 429]
    limited = manager_api.patch(f"/api/v1/categories/{Category.objects.first().pk}/", {"name": "Renamed"})
    assert limited.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert 0 < int(limited["Retry-After"]) <= 60
    assert limited.json()["code"] == "throttled"
    assert Category.objects.count() == 3
    assert all(manager_api.get("/api/v1/categories/").status_code == HTTPStatus.OK for _ in range(10))


def test_the_write_budget_is_per_user(client_as, limited_writes):
    first, second = client_as(groups=("Store manager",)), client_as(groups=("Store manager",))
    for i in range(3):
        assert first.post("/api/v1/categories/", {"name": f"A{i}"}).status_code == HTTPStatus.CREATED

    assert first.post("/api/v1/categories/", {"name": "A3"}).status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert second.post("/api/v1/categories/", {"name": "B0"}).status_code == HTTPStatus.CREATED


def test_the_default_write_rate_comes_from_the_environment():
    from django.conf import settings

    code = "from django.conf import settings; print(settings.REST_FRAMEWORK['DEFAULT_THROTTLE_RATES']['writes'])"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "ecommerce_admin.settings.base", "DEBUG": "1"}
    default = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        env={k: v for k, v in env.items() if k != "THROTTLE_WRITES"},
        capture_output=True,
        text=True,
        cwd=BASE_DIR,
        check=True,
    )
    custom = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        env={**env, "THROTTLE_WRITES": "50/min"},
        capture_output=True,
        text=True,
        cwd=BASE_DIR,
        check=True,
    )

    assert (default.stdout.strip(), custom.stdout.strip()) == ("600/min", "50/min")
    assert "ecommerce_admin.throttling.WriteRateThrottle" in settings.REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"]


# --- logout and refresh-token blacklisting --------------------------------------------------------------


@pytest.fixture
def tokens(api, make_user):
    make_user(username="cashier")
    response = api.post("/api/v1/auth/token/", {"username": "cashier", "password": PASSWORD})
    assert response.status_code == HTTPStatus.OK
    return response.json()


def test_logout_blacklists_the_refresh_token(api, tokens):
    response = api.post("/api/v1/auth/logout/", {"refresh": tokens["refresh"]})

    assert (response.status_code, response.json()) == (HTTPStatus.OK, {})
    refused = api.post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]})
    assert refused.status_code == HTTPStatus.UNAUTHORIZED
    assert refused.json()["code"] == "token_not_valid"
    assert api.post("/api/v1/auth/logout", {"refresh": tokens["refresh"]}).status_code == HTTPStatus.UNAUTHORIZED


def test_a_rotated_refresh_token_cannot_be_used_again(api, tokens):
    rotated = api.post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]})
    assert rotated.status_code == HTTPStatus.OK

    replay = api.post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]})

    assert replay.status_code == HTTPStatus.UNAUTHORIZED
    assert api.post("/api/v1/auth/token/refresh/", {"refresh": rotated.json()["refresh"]}).status_code == 200


@pytest.mark.parametrize(
    ("body", "status"),
    [({}, HTTPStatus.BAD_REQUEST), ({"refresh": "garbage"}, HTTPStatus.UNAUTHORIZED)],
)
def test_logout_without_a_valid_refresh_token_is_refused(api, body, status):
    assert api.post("/api/v1/auth/logout/", body).status_code == status


def test_logout_with_an_access_token_in_place_of_the_refresh_token_is_refused(api, tokens):
    response = api.post("/api/v1/auth/logout/", {"refresh": tokens["access"]})

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert api.post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]}).status_code == HTTPStatus.OK


def test_logout_is_in_the_openapi_schema(client):
    schema = yaml.safe_load(client.get("/api/schema/").content)

    operation = schema["paths"]["/api/v1/auth/logout/"]["post"]
    assert operation["summary"] == "Log out: blacklist a refresh token"
    request = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert schema["components"]["schemas"][request]["required"] == ["refresh"]
    assert {"200", "400", "401", "429"} <= set(operation["responses"])
    assert "403" not in operation["responses"]  # open to anyone: the refresh token is the credential


# --- admin login lockout ----------------------------------------------------------------------------------


def admin_login(client: Client, password: str):
    return client.post("/admin/login/", {"username": "boss", "password": password, "next": "/admin/"})


def test_the_admin_login_locks_out_at_the_fifth_failure_even_with_the_right_password(make_user):
    make_user(username="boss", is_staff=True, is_superuser=True)
    client = Client()

    failures = [admin_login(client, "wrong").status_code for _ in range(5)]
    locked = admin_login(client, PASSWORD)

    assert failures == [200, 200, 200, 200, 429]  # the login form again with its error, then the lockout
    assert locked.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert "_auth_user_id" not in client.session


def test_a_successful_admin_login_resets_the_failure_count(make_user):
    make_user(username="boss", is_staff=True, is_superuser=True)
    client = Client()
    for _ in range(4):
        admin_login(client, "wrong")

    assert admin_login(client, PASSWORD).status_code == HTTPStatus.FOUND
    client.logout()
    assert [admin_login(client, "wrong").status_code for _ in range(4)] == [200] * 4
    assert admin_login(client, PASSWORD).status_code == HTTPStatus.FOUND


def test_the_lockout_is_per_username_and_address(make_user):
    make_user(username="boss", is_staff=True, is_superuser=True)
    for _ in range(5):
        admin_login(Client(REMOTE_ADDR="10.0.0.1"), "wrong")

    assert admin_login(Client(REMOTE_ADDR="10.0.0.1"), PASSWORD).status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert admin_login(Client(REMOTE_ADDR="10.0.0.2"), PASSWORD).status_code == HTTPStatus.FOUND


def test_a_locked_out_user_gets_no_token_either(api, make_user):
    make_user(username="boss", is_staff=True)
    for _ in range(5):
        admin_login(Client(), "wrong")

    response = api.post("/api/v1/auth/token/", {"username": "boss", "password": PASSWORD})

    assert response.status_code in (HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN, HTTPStatus.TOO_MANY_REQUESTS)
    assert "access" not in response.json()


def test_failed_token_requests_count_towards_the_lockout(api, make_user):
    make_user(username="boss", is_staff=True)
    for _ in range(5):
        assert api.post("/api/v1/auth/token/", {"username": "boss", "password": "wrong"}).status_code == 401

    assert admin_login(Client(), PASSWORD).status_code == HTTPStatus.TOO_MANY_REQUESTS


# --- CORS -------------------------------------------------------------------------------------------------


@override_settings(CORS_ALLOWED_ORIGINS=["https://shop.example.com"])
@pytest.mark.parametrize(
    ("origin", "allowed"), [("https://shop.example.com", True), ("https://evil.example.net", False)]
)
def test_cors_answers_only_the_configured_origins(client, origin, allowed):
    preflight = client.options(
        "/api/v1/products/",
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization,content-type",
    )
    simple = client.get("/api/v1/products/", HTTP_ORIGIN=origin)

    assert (preflight.get("Access-Control-Allow-Origin") == origin) is allowed
    assert (simple.get("Access-Control-Allow-Origin") == origin) is allowed
    assert "Access-Control-Allow-Credentials" not in simple


def test_no_origin_is_allowed_by_default(client):
    response = client.get("/api/v1/products/", HTTP_ORIGIN="https://shop.example.com")

    assert "Access-Control-Allow-Origin" not in response


# --- security headers and HTTPS ---------------------------------------------------------------------------

PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "check-deploy-" + "k" * 50,
    "ALLOWED_HOSTS": "shop.example.com",
    "SECURE_SSL_REDIRECT": "1",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
    "SECURE_HSTS_PRELOAD": "1",
    "SESSION_COOKIE_SECURE": "1",
    "CSRF_COOKIE_SECURE": "1",
}


def test_every_response_carries_the_security_headers(client):
    response = client.get("/healthz")

    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"


@override_settings(SECURE_SSL_REDIRECT=True, SECURE_HSTS_SECONDS=31536000, SECURE_HSTS_INCLUDE_SUBDOMAINS=True)
def test_https_settings_redirect_plain_http_and_send_hsts():
    client = Client()

    plain = client.get("/api/v1/products/")
    secure = client.get("/healthz", secure=True)

    assert plain.status_code == HTTPStatus.MOVED_PERMANENTLY
    assert plain["Location"] == "https://testserver/api/v1/products/"
    assert secure["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_check_deploy_is_clean_with_production_environment_values():
    env = {**os.environ, **PRODUCTION_ENV, "DJANGO_SETTINGS_MODULE": "ecommerce_admin.settings.base"}

    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        cwd=BASE_DIR,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_settings_refuse_to_start_without_a_secret_key():
    env = {**os.environ, **PRODUCTION_ENV, "SECRET_KEY": "", "DJANGO_SETTINGS_MODULE": "ecommerce_admin.settings.base"}

    result = subprocess.run(
        [sys.executable, "manage.py", "check"], env=env, capture_output=True, text=True, cwd=BASE_DIR, timeout=120
    )

    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_no_secret_is_committed():
    """No private key, cloud credential or real-looking SECRET_KEY in any tracked file."""
    files = subprocess.run(["git", "ls-files"], capture_output=True, text=True, cwd=BASE_DIR, check=True).stdout
    patterns = [
        "-----BEGIN (RSA |EC |OPENSSH |DSA )?PRIVATE KEY-----",
        "AKIA[0-9A-Z]{16}",
        "SECRET_KEY *= *['\"][^'\"]{20,}",
    ]
    found = subprocess.run(
        ["git", "grep", "-nIE", "|".join(f"({p})" for p in patterns), "--", ".", ":!*.md"],
        capture_output=True,
        text=True,
        cwd=BASE_DIR,
    )

    assert ".env" not in files.splitlines()
    assert found.stdout == ""
