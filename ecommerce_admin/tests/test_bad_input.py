"""Whatever a client sends, the answer is a clear 4xx in the contract's shape, and valid text is stored verbatim."""

import json
from http import HTTPStatus

import pytest
from django.db import DataError
from django.test import Client

from catalog.models import Category, Product
from catalog.tests.factories import CategoryFactory, ProductFactory
from ecommerce_admin.parsers import MAX_JSON_DEPTH
from inventory.models import StockMovement
from sales.models import Sale

pytestmark = pytest.mark.django_db

ONE_MIB = 1024 * 1024


@pytest.fixture
def raw(make_user):
    """A Django test client logged in as a store manager, for sending bodies byte for byte."""
    client = Client()
    client.force_login(make_user(groups=("Store manager",), is_staff=True))
    return client


def post_raw(raw, path: str, body: bytes | str, content_type: str = "application/json"):
    return raw.generic("POST", path, body, content_type=content_type)


def assert_error(response, status: HTTPStatus, code: str | None = None) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    if code is not None:
        assert body["code"] == code
    return body


def test_a_body_over_one_mib_is_refused_with_413_json_before_parsing(raw):
    category = CategoryFactory()
    body = json.dumps(
        {"sku": "BIG", "name": "x", "category": category.pk, "price": "1.00", "description": "x" * ONE_MIB}
    )

    response = post_raw(raw, "/api/v1/products/", body)

    assert_error(response, HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "request_too_large")
    assert not Product.objects.filter(sku="BIG").exists()


def test_a_body_just_under_the_limit_is_parsed(raw):
    category = CategoryFactory()
    description = "d" * (ONE_MIB - 200)
    body = json.dumps(
        {"sku": "NEAR", "name": "x", "category": category.pk, "price": "1.00", "description": description}
    )

    response = post_raw(raw, "/api/v1/products/", body)

    assert response.status_code == HTTPStatus.CREATED
    assert Product.objects.get(sku="NEAR").description == description


def test_a_body_without_content_length_is_still_bounded(raw):
    """A stream that declares no length (chunked) is cut by the parser at the limit, not read to the end."""
    from ecommerce_admin.parsers import JSONParser, RequestTooLarge

    class Endless:
        read_sizes: list = []

        def read(self, size=-1):
            self.read_sizes.append(size)
            return b"[" * (size if size > 0 else 10 * ONE_MIB)

    stream = Endless()
    with pytest.raises(RequestTooLarge):
        JSONParser().parse(stream, "application/json", {})
    assert stream.read_sizes == [ONE_MIB + 1]


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 100_000])
def test_deeply_nested_json_is_a_400(raw, depth):
    response = post_raw(raw, "/api/v1/sales/", "[" * depth + "]" * depth)

    body = assert_error(response, HTTPStatus.BAD_REQUEST, "parse_error")
    assert "nested deeper than 32 levels" in body["detail"]


def test_json_nested_to_the_limit_reaches_the_serializer(raw):
    nested = "[" * (MAX_JSON_DEPTH - 1) + "1" + "]" * (MAX_JSON_DEPTH - 1)

    response = post_raw(raw, "/api/v1/sales/", '{"lines": ' + nested + "}")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "lines" in response.json()


@pytest.mark.parametrize(
    "body",
    [
        "{",
        '{"lines": [}',
        "not json at all",
        '{"price": NaN}',
        '{"price": Infinity}',
        b"\xff\xfe{}",
    ],
    ids=["unclosed", "broken", "text", "nan", "infinity", "not-utf8"],
)
def test_malformed_json_is_a_400_parse_error(raw, body):
    CategoryFactory()
    response = post_raw(raw, "/api/v1/products/", body)

    assert_error(response, HTTPStatus.BAD_REQUEST, "parse_error")
    assert Product.objects.count() == 0


def test_an_empty_body_names_the_required_fields(raw):
    response = post_raw(raw, "/api/v1/categories/", "")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == {"name": ["This field is required."]}


def test_a_lone_surrogate_is_refused_not_sent_to_the_database(raw):
    response = post_raw(raw, "/api/v1/categories/", '{"name": "bad \\ud800 name"}')

    assert_error(response, HTTPStatus.BAD_REQUEST, "parse_error")
    assert Category.objects.count() == 0


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "application/x-yaml", "image/png"])
def test_an_unsupported_content_type_is_415(raw, content_type):
    response = post_raw(raw, "/api/v1/categories/", '{"name": "Tea"}', content_type=content_type)

    assert_error(response, HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
    assert Category.objects.count() == 0


def test_a_non_numeric_content_length_is_a_400(raw):
    response = raw.generic("POST", "/api/v1/categories/", b"{}", content_type="application/json", CONTENT_LENGTH="x")

    assert_error(response, HTTPStatus.BAD_REQUEST, "bad_request")


@pytest.mark.parametrize("page", ["999999999", "99999999999999999999999999", "0", "-1", "abc", "1e9"])
def test_a_page_out_of_range_or_not_a_number_is_a_404(manager_api, page):
    ProductFactory()

    response = manager_api.get(f"/api/v1/products/?page={page}")

    assert_error(response, HTTPStatus.NOT_FOUND, "not_found")


@pytest.mark.parametrize("page_size", ["99999999999999999999", "-5", "abc", "0"])
def test_an_odd_page_size_falls_back_to_a_valid_page(manager_api, page_size):
    ProductFactory()

    response = manager_api.get(f"/api/v1/products/?page_size={page_size}")

    assert response.status_code == HTTPStatus.OK
    assert response.json()["count"] == 1


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/products/abc/",
        "/api/v1/products/1.5/",
        "/api/v1/products/99999999999999999999999999/",
        "/api/v1/products/-1/",
        "/api/v1/categories/%F0%9F%98%80/",
        "/api/v1/inventory/abc/",
        "/api/v1/inventory/99999999999999999999999999/",
        "/api/v1/inventory/changes/99999999999999999999999999/",
        "/api/v1/sales/abc/",
        "/api/v1/sales/99999999999999999999999999/",
    ],
)
def test_a_non_numeric_or_huge_id_is_a_404(manager_api, path):
    assert_error(manager_api.get(path), HTTPStatus.NOT_FOUND)


@pytest.mark.parametrize(
    "query",
    [
        "category=abc",
        "min_price=abc",
        "max_price=1e999",
        "category=99999999999999999999999999",
        "ordering=nonexistent_field",
        "is_active=maybe",
        "low_stock=%00",
    ],
)
def test_odd_filter_values_are_a_400_or_ignored_never_a_500(manager_api, query):
    ProductFactory()

    response = manager_api.get(f"/api/v1/products/?{query}")

    assert response.status_code in (HTTPStatus.OK, HTTPStatus.BAD_REQUEST)
    assert response["Content-Type"].startswith("application/json")


@pytest.mark.parametrize(
    "name",
    [
        "Robert'); DROP TABLE catalog_product;--",
        "' OR '1'='1",
        "1; SELECT SLEEP(10)",
        'Tea "Earl Grey" \\ %_ `x`',
        "Thé vert 緑茶 чай 🍵🫖",
        "\u202eRTL override",
        "Z̸̢̛a̵l̶g̷o̵",
    ],
)
def test_sql_looking_and_unicode_text_is_stored_verbatim(manager_api, name):
    category = CategoryFactory()

    response = manager_api.post(
        "/api/v1/products/",
        {"sku": "S-1", "name": name, "category": category.pk, "price": "2.50", "description": name},
        format="json",
    )

    assert response.status_code == HTTPStatus.CREATED
    product = Product.objects.get(pk=response.json()["id"])
    assert (product.name, product.description) == (name, name)
    assert manager_api.get(f"/api/v1/products/{product.pk}/").json()["name"] == name
    found = manager_api.get("/api/v1/products/", {"search": name}).json()
    assert [row["id"] for row in found["results"]] == [product.pk]


@pytest.mark.parametrize("path", ["/api/v1/products/", "/api/v1/categories/", "/api/v1/sales/", "/api/v1/inventory/"])
def test_a_nul_character_in_a_search_is_a_400_in_the_error_shape(manager_api, path):
    response = manager_api.get(path, {"search": "tea\x00"})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == {"detail": "Null characters are not allowed.", "code": "null_characters_not_allowed"}


def test_a_nul_character_is_refused(manager_api):
    category = CategoryFactory()

    response = manager_api.post(
        "/api/v1/products/", {"sku": "N\x00UL", "name": "x", "category": category.pk, "price": "1.00"}, format="json"
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["sku"] == ["Null characters are not allowed."]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("sku", "x" * 65),
        ("name", "x" * 201),
        ("price", "1" * 30),
        ("price", "0.001"),
        ("price", "-1"),
        ("price", "1e400"),
        ("price", True),
        ("category", "abc"),
        ("category", 99999999999999999999999999),
        ("initial_stock", 10**12),
        ("low_stock_threshold", -1),
        ("is_active", "perhaps"),
    ],
)
def test_field_limits_are_400_naming_the_field(manager_api, field, value):
    category = CategoryFactory()
    body = {"sku": "S-1", "name": "x", "category": category.pk, "price": "1.00", field: value}

    response = manager_api.post("/api/v1/products/", body, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert list(response.json()) == [field]
    assert Product.objects.count() == 0


PRODUCT = "<product>"  # replaced by the id of a product in stock


@pytest.mark.parametrize(
    "body",
    [
        {"lines": "not a list"},
        {"lines": [{"product": "abc", "quantity": 1}]},
        {"lines": [{"product": PRODUCT, "quantity": 10**20}]},
        {"lines": [{"product": 99999999999999999999, "quantity": 1}]},
        {"lines": [{"product": PRODUCT, "quantity": 1, "unit_price": "NaN"}]},
        {"lines": [{"product": PRODUCT, "quantity": 1, "unit_price": "1" * 20}]},
        {"lines": [{"product": PRODUCT, "quantity": 1}] * 101},
        {"lines": [{"product": PRODUCT, "quantity": 1}], "sold_at": "not a date"},
        {"lines": [{"product": PRODUCT, "quantity": 1}], "channel": "'; DROP TABLE sales_sale; --"},
        {"lines": [{"product": PRODUCT, "quantity": 1}], "customer_email": "x" * 60 + "@" + "e" * 200 + ".com"},
        {"lines": [{"product": PRODUCT, "quantity": 1}], "note": "n" * 501},
        [1, 2, 3],
        "a string",
        None,
    ],
)
def test_malformed_sales_are_400_and_write_nothing(manager_api, body):
    product = ProductFactory(initial_stock=5)
    movements = StockMovement.objects.count()
    text = json.dumps(body).replace(f'"{PRODUCT}"', str(product.pk))

    response = manager_api.post("/api/v1/sales/", text, content_type="application/json")

    assert response.status_code == HTTPStatus.BAD_REQUEST, response.content[:300]
    assert (Sale.objects.count(), StockMovement.objects.count()) == (0, movements)


@pytest.mark.parametrize(
    "error",
    [DataError(1406, "Data too long for column 'note' at row 1"), OverflowError("int too large to convert")],
)
def test_a_value_the_column_cannot_hold_is_a_400_not_a_500(manager_api, monkeypatch, error):
    """The safety net under the serializers: a DataError (MariaDB 1406, 1264) or SQLite's OverflowError."""
    from sales import views

    product = ProductFactory(initial_stock=5)

    def fails(**kwargs):
        raise error

    monkeypatch.setattr(views.services, "sale_record", fails)
    response = manager_api.post("/api/v1/sales/", {"lines": [{"product": product.pk, "quantity": 1}]}, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == {"detail": "A value is too long or out of range for its field.", "code": "invalid"}


def test_an_overlong_idempotency_key_is_a_400(manager_api):
    product = ProductFactory(initial_stock=5)

    response = manager_api.post(
        "/api/v1/sales/",
        {"lines": [{"product": product.pk, "quantity": 1}]},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k" * 256,
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert Sale.objects.count() == 0
