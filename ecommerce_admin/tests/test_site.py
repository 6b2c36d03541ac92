from http import HTTPStatus

import pytest
import yaml

pytestmark = pytest.mark.django_db


def test_openapi_schema_describes_the_api_with_bearer_auth(client):
    response = client.get("/api/schema/")
    assert response.status_code == HTTPStatus.OK
    schema = yaml.safe_load(response.content)
    assert "/api/v1/products/{id}/" in schema["paths"]
    assert schema["components"]["securitySchemes"]["jwtAuth"]["scheme"] == "bearer"


@pytest.mark.parametrize("url", ["/api/docs/", "/api/redoc/"])
def test_docs_pages_use_local_assets_only(client, url):
    response = client.get(url)
    assert response.status_code == HTTPStatus.OK
    html = response.content.decode()
    assert "cdn." not in html
    assert "unpkg" not in html
    assert "/static/drf_spectacular_sidecar/" in html


def test_healthz_and_readyz(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == HTTPStatus.OK
    assert ready.json()["checks"] == {"database": "ok", "channel_layer": "ok"}


def test_unknown_api_path_is_404(client):
    assert client.get("/api/v1/nothing-here/").status_code == HTTPStatus.NOT_FOUND
