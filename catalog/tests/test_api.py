from decimal import Decimal
from http import HTTPStatus

import pytest

from catalog.models import Category, Product
from catalog.tests.factories import CategoryFactory, ProductFactory
from inventory.models import StockMovement

pytestmark = pytest.mark.django_db


def product_payload(category, /, **overrides):
    return {"sku": "NEW-1", "name": "New thing", "category": category.pk, "price": "12.50", **overrides}


# --- auth matrix --------------------------------------------------------------

ROUTES = [
    ("get", "/api/v1/products/", None, "catalog.view_product", HTTPStatus.OK),
    ("post", "/api/v1/products/", "product", "catalog.add_product", HTTPStatus.CREATED),
    ("get", "/api/v1/products/{product}/", None, "catalog.view_product", HTTPStatus.OK),
    ("patch", "/api/v1/products/{product}/", {"name": "x"}, "catalog.change_product", HTTPStatus.OK),
    ("put", "/api/v1/products/{product}/", "product", "catalog.change_product", HTTPStatus.OK),
    ("delete", "/api/v1/products/{product}/", None, "catalog.delete_product", HTTPStatus.NO_CONTENT),
    ("get", "/api/v1/categories/", None, "catalog.view_category", HTTPStatus.OK),
    ("post", "/api/v1/categories/", {"name": "Fresh"}, "catalog.add_category", HTTPStatus.CREATED),
    ("get", "/api/v1/categories/{category}/", None, "catalog.view_category", HTTPStatus.OK),
    ("patch", "/api/v1/categories/{category}/", {"name": "Y"}, "catalog.change_category", HTTPStatus.OK),
    ("put", "/api/v1/categories/{category}/", {"name": "Z"}, "catalog.change_category", HTTPStatus.OK),
    ("delete", "/api/v1/categories/{empty_category}/", None, "catalog.delete_category", HTTPStatus.NO_CONTENT),
]


@pytest.mark.parametrize(("method", "path", "body", "perm", "allowed_status"), ROUTES)
def test_catalog_routes_answer_401_403_and_success_by_permission(
    api, client_as, method, path, body, perm, allowed_status
):
    product = ProductFactory()
    ids = {"product": product.pk, "category": product.category_id, "empty_category": CategoryFactory().pk}
    url = path.format(**ids)
    if body == "product":
        body = product_payload(product.category, sku=f"P-{method}")

    assert getattr(api, method)(url, body).status_code == HTTPStatus.UNAUTHORIZED
    assert getattr(client_as(), method)(url, body).status_code == HTTPStatus.FORBIDDEN
    assert getattr(client_as(perm), method)(url, body).status_code == allowed_status


# --- products -------------------------------------------------------------------


def test_product_create_returns_the_contract_shape_and_takes_initial_stock(client_as):
    category = CategoryFactory(name="Books")
    response = client_as("catalog.add_product").post(
        "/api/v1/products/",
        product_payload(category, cost="4.10", initial_stock=12, low_stock_threshold=3, description="Nice"),
    )

    assert response.status_code == HTTPStatus.CREATED
    body = response.json()
    assert set(body) == {
        "id", "sku", "name", "description", "category", "category_name", "price", "cost",
        "is_active", "stock", "low_stock_threshold", "created_at", "updated_at",
    }  # fmt: skip
    assert body["price"] == "12.50"
    assert body["cost"] == "4.10"
    assert body["category_name"] == "Books"
    assert (body["stock"], body["low_stock_threshold"], body["is_active"]) == (12, 3, True)
    assert body["created_at"].endswith("Z")
    assert StockMovement.objects.get(product_id=body["id"]).reason == "initial"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"price": "0"}, "price"),
        ({"price": "-1"}, "price"),
        ({"price": "abc"}, "price"),
        ({"price": "NaN"}, "price"),
        ({"price": "1.999"}, "price"),
        ({"price": "99999999999"}, "price"),
        ({"cost": "-0.01"}, "cost"),
        ({"sku": ""}, "sku"),
        ({"sku": "x" * 65}, "sku"),
        ({"name": ""}, "name"),
        ({"category": 999999}, "category"),
        ({"category": "abc"}, "category"),
        ({"initial_stock": -1}, "initial_stock"),
        ({"initial_stock": "many"}, "initial_stock"),
        ({"low_stock_threshold": -5}, "low_stock_threshold"),
        ({"is_active": "perhaps"}, "is_active"),
    ],
)
def test_product_create_rejects_bad_fields_naming_them(client_as, overrides, field):
    category = CategoryFactory()
    response = client_as("catalog.add_product").post("/api/v1/products/", product_payload(category, **overrides))

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert field in response.json()
    assert not Product.objects.exists()


def test_product_price_error_says_greater_than_zero(client_as):
    response = client_as("catalog.add_product").post("/api/v1/products/", product_payload(CategoryFactory(), price="0"))
    assert response.json() == {"price": ["Ensure this value is greater than 0."]}


def test_product_create_rejects_duplicate_sku(client_as):
    existing = ProductFactory(sku="SAME")
    response = client_as("catalog.add_product").post(
        "/api/v1/products/", product_payload(existing.category, sku="SAME")
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "sku" in response.json()


def test_product_stores_unicode_and_sql_looking_text_verbatim(client_as):
    name = "Robert'); DROP TABLE catalog_product;-- ☕ 日本語 🚀"
    response = client_as("catalog.add_product", "catalog.view_product").post(
        "/api/v1/products/", product_payload(CategoryFactory(), name=name)
    )
    assert response.status_code == HTTPStatus.CREATED
    assert Product.objects.get().name == name


def test_product_update_cannot_change_stock_or_take_initial_stock(client_as):
    product = ProductFactory(initial_stock=5)
    client = client_as("catalog.change_product")

    assert client.patch(f"/api/v1/products/{product.pk}/", {"stock": 999}).json()["stock"] == 5
    response = client.patch(f"/api/v1/products/{product.pk}/", {"initial_stock": 3})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "initial_stock" in response.json()


def test_product_patch_updates_threshold_and_price(client_as):
    product = ProductFactory(low_stock_threshold=2)
    response = client_as("catalog.change_product").patch(
        f"/api/v1/products/{product.pk}", {"low_stock_threshold": 8, "price": "3.00"}
    )
    assert response.status_code == HTTPStatus.OK
    assert (response.json()["low_stock_threshold"], response.json()["price"]) == (8, "3.00")


def test_product_detail_of_unknown_id_is_404_with_code(client_as):
    response = client_as("catalog.view_product").get("/api/v1/products/999999/")
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json()["code"] == "not_found"


def test_product_detail_with_non_numeric_id_is_404(client_as):
    assert client_as("catalog.view_product").get("/api/v1/products/abc/").status_code == HTTPStatus.NOT_FOUND


def test_product_paths_answer_with_and_without_trailing_slash(client_as):
    product = ProductFactory()
    client = client_as("catalog.view_product")
    assert client.get("/api/v1/products").status_code == HTTPStatus.OK
    assert client.get(f"/api/v1/products/{product.pk}").status_code == HTTPStatus.OK


def test_product_list_filters(client_as):
    books, toys = CategoryFactory(name="Books"), CategoryFactory(name="Toys")
    cheap = ProductFactory(name="Cheap novel", category=books, price=Decimal("5.00"), initial_stock=1)
    ProductFactory(name="Dear novel", category=books, price=Decimal("50.00"), initial_stock=100)
    ball = ProductFactory(name="Ball", category=toys, price=Decimal("9.00"), initial_stock=50, is_active=False)
    client = client_as("catalog.view_product")

    def ids(query):
        response = client.get(f"/api/v1/products/?{query}")
        assert response.status_code == HTTPStatus.OK
        return [row["id"] for row in response.json()["results"]]

    assert len(ids("")) == 3  # no filter asked: the FilterSet is skipped, nothing is filtered out
    assert len(ids("page_size=50")) == 3
    assert ids(f"category={toys.pk}") == [ball.pk]
    assert ids("search=cheap") == [cheap.pk]
    assert ids("is_active=false") == [ball.pk]
    assert ids("min_price=6&max_price=10") == [ball.pk]
    assert ids("low_stock=true") == [cheap.pk]
    assert ids("ordering=-price&max_price=10") == [ball.pk, cheap.pk]
    assert ids("ordering=stock&category=" + str(books.pk)) == [cheap.pk, cheap.pk + 1]


def test_product_list_rejects_bad_filter_values(client_as):
    response = client_as("catalog.view_product").get("/api/v1/products/?min_price=abc")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "min_price" in response.json()


def test_product_list_paginates_with_cap_of_500(client_as):
    category = CategoryFactory()
    for _ in range(3):
        ProductFactory(category=category)
    client = client_as("catalog.view_product")

    page = client.get("/api/v1/products/?page_size=2").json()
    assert (page["count"], len(page["results"]), page["previous"]) == (3, 2, None)
    assert "page=2" in page["next"]
    assert len(client.get("/api/v1/products/?page_size=100000").json()["results"]) == 3
    assert client.get("/api/v1/products/?page=999999").status_code == HTTPStatus.NOT_FOUND


def test_product_list_query_count_does_not_grow_with_rows(client_as, django_assert_max_num_queries):
    category = CategoryFactory()
    for _ in range(20):
        ProductFactory(category=category, initial_stock=2)
    client = client_as("catalog.view_product")
    client.get("/api/v1/products/")  # warm the permission cache

    with django_assert_max_num_queries(3):
        response = client.get("/api/v1/products/")
    assert len(response.json()["results"]) == 20


def test_product_delete_of_unsold_product_is_204(client_as):
    product = ProductFactory(initial_stock=4)
    assert client_as("catalog.delete_product").delete(f"/api/v1/products/{product.pk}/").status_code == 204
    assert not Product.objects.exists()


def test_malformed_json_is_400(client_as):
    response = client_as("catalog.add_product").post("/api/v1/products/", "{not json", content_type="application/json")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] == "parse_error"


# --- categories ------------------------------------------------------------------


def test_category_list_counts_products(client_as):
    category = CategoryFactory(name="Garden")
    ProductFactory(category=category)
    ProductFactory(category=category)

    [row] = client_as("catalog.view_category").get("/api/v1/categories/").json()["results"]
    assert set(row) == {"id", "name", "slug", "product_count", "created_at", "updated_at"}
    assert (row["name"], row["product_count"]) == ("Garden", 2)


def test_category_delete_in_use_is_409(client_as):
    product = ProductFactory()
    response = client_as("catalog.delete_category").delete(f"/api/v1/categories/{product.category_id}/")

    assert response.status_code == HTTPStatus.CONFLICT
    assert response.json()["code"] == "category_in_use"
    assert Category.objects.filter(pk=product.category_id).exists()


def test_category_create_rejects_duplicate_name(client_as):
    CategoryFactory(name="Books", slug="books")
    response = client_as("catalog.add_category").post("/api/v1/categories/", {"name": "Books"})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "name" in response.json()


def test_product_list_and_detail_render_exactly_like_the_serializer(client_as):
    from catalog.selectors import product_list
    from catalog.serializers import ProductSerializer

    product = ProductFactory(cost=None, initial_stock=3, low_stock_threshold=2, description="d")
    ProductFactory(price=Decimal("1234.50"), cost=Decimal("0"))
    client = client_as("catalog.view_product")
    expected = [dict(ProductSerializer(p).data) for p in product_list().order_by("id")]

    assert client.get("/api/v1/products/").json()["results"] == expected
    assert client.get(f"/api/v1/products/{product.pk}/").json() == expected[0]


@pytest.mark.mysql
def test_product_page_query_walks_the_primary_key_without_sorting_the_table():
    from catalog.selectors import product_list, product_values

    category = CategoryFactory()
    for _ in range(5):
        ProductFactory(category=category)
    plan = product_values(product_list().order_by("id"))[:50].explain()

    first_table = plan.splitlines()[0].split()[2]  # "1 SIMPLE <table> <type> ..."
    assert first_table == "catalog_product", plan
    assert "filesort" not in plan, plan


def test_product_pages_and_products_are_reused_until_a_product_or_category_changes(
    client_as, django_capture_on_commit_callbacks
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from catalog import services as catalog_services

    books = CategoryFactory(name="Books")
    novel = ProductFactory(name="Novel", category=books, initial_stock=5)
    client = client_as("catalog.view_product")

    def page():
        with CaptureQueriesContext(connection) as queries:
            rows = client.get("/api/v1/products/").json()["results"]
        return rows, len(queries)

    first, first_queries = page()
    again, again_queries = page()
    assert again == first
    assert first_queries > 0
    assert again_queries == 0
    with CaptureQueriesContext(connection) as queries:
        assert client.get(f"/api/v1/products/{novel.pk}/").json()["name"] == "Novel"
        assert client.get(f"/api/v1/products/{novel.pk}/").json()["name"] == "Novel"
    assert len(queries) == 1
    with django_capture_on_commit_callbacks(execute=True):  # answers are retired on commit
        catalog_services.product_update(product=novel, name="Short novel")
    assert page()[0][0]["name"] == "Short novel"
    assert client.get(f"/api/v1/products/{novel.pk}/").json()["name"] == "Short novel"
    with django_capture_on_commit_callbacks(execute=True):  # answers are retired on commit
        catalog_services.category_update(category=books, name="Fiction")
    assert page()[0][0]["category_name"] == "Fiction"
