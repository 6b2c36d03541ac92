import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.tests.factories import CategoryFactory, ProductFactory
from inventory.models import StockLevel, StockMovement
from inventory.selectors import movement_list
from inventory.serializers import StockMovementSerializer
from sales import selectors
from sales.models import Refund, Sale
from sales.serializers import SaleSerializer
from sales.tests.factories import sell

pytestmark = pytest.mark.django_db

SALE_FIELDS = {
    "id", "number", "channel", "status", "sold_at", "customer_email", "note", "total", "refunded_total",
    "net_total", "lines", "created_by", "created_at",
}  # fmt: skip
LINE_FIELDS = {
    "id", "product", "sku", "product_name", "category", "category_name", "quantity", "unit_price",
    "line_total", "refunded_quantity",
}  # fmt: skip


def stock(product) -> int:
    return StockLevel.objects.get(product=product).quantity


@pytest.fixture
def seller(client_as):
    return client_as("sales.add_sale", "sales.view_sale")


def test_sale_routes_auth_matrix(api, client_as):
    product = ProductFactory(initial_stock=50)
    sale = sell((product, 1))
    routes = [
        ("get", "/api/v1/sales/", None, ("sales.view_sale",), HTTPStatus.OK),
        ("get", f"/api/v1/sales/{sale.pk}/", None, ("sales.view_sale",), HTTPStatus.OK),
        ("post", "/api/v1/sales/", {"lines": [{"product": product.pk, "quantity": 1}]}, ("sales.add_sale",), 201),
        (
            "post",
            f"/api/v1/sales/{sale.pk}/refunds/",
            {"lines": [{"line": sale.lines.get().pk, "quantity": 1}]},
            ("sales.view_sale", "sales.add_refund"),
            HTTPStatus.CREATED,
        ),
    ]
    for method, url, body, perms, allowed in routes:
        assert getattr(api, method)(url, body).status_code == HTTPStatus.UNAUTHORIZED, url
        assert getattr(client_as(), method)(url, body).status_code == HTTPStatus.FORBIDDEN, url
        assert getattr(client_as(*perms), method)(url, body).status_code == allowed, url


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_sales_cannot_be_edited_or_deleted(client_as, method):
    sale = sell((ProductFactory(initial_stock=5), 1))
    client = client_as("sales.view_sale", "sales.change_sale", "sales.delete_sale")
    assert getattr(client, method)(f"/api/v1/sales/{sale.pk}/", {}).status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert Sale.objects.filter(pk=sale.pk).exists()


def test_sale_create_answers_the_contract_shape(seller):
    category = CategoryFactory(name="Kitchen")
    kettle = ProductFactory(sku="K-1", name="Kettle", category=category, price=Decimal("30.00"), initial_stock=4)

    response = seller.post(
        "/api/v1/sales/",
        {
            "lines": [{"product": kettle.pk, "quantity": 2}, {"product": kettle.pk, "quantity": 1, "unit_price": "25"}],
            "channel": "pos",
            "customer_email": "a@example.com",
            "note": "counter",
        },
    )

    assert response.status_code == HTTPStatus.CREATED, response.json()
    body = response.json()
    assert set(body) == SALE_FIELDS
    assert (body["channel"], body["status"], body["total"], body["refunded_total"], body["net_total"]) == (
        "pos", "completed", "85.00", "0.00", "85.00",
    )  # fmt: skip
    assert body["sold_at"].endswith("Z")
    assert set(body["lines"][0]) == LINE_FIELDS
    assert [(line["sku"], line["category"], line["category_name"], line["unit_price"], line["line_total"])
            for line in body["lines"]] == [
        ("K-1", category.pk, "Kitchen", "30.00", "60.00"),
        ("K-1", category.pk, "Kitchen", "25.00", "25.00"),
    ]  # fmt: skip
    assert stock(kettle) == 1


def test_sale_create_insufficient_stock_is_409_and_writes_nothing(seller):
    plenty, scarce = ProductFactory(initial_stock=10), ProductFactory(initial_stock=1)

    response = seller.post(
        "/api/v1/sales/",
        {"lines": [{"product": plenty.pk, "quantity": 1}, {"product": scarce.pk, "quantity": 3}]},
    )

    assert response.status_code == HTTPStatus.CONFLICT
    assert response.json() == {
        "detail": f"Not enough stock for product {scarce.pk}: 3 requested, 1 available.",
        "code": "insufficient_stock",
        "product": scarce.pk,
        "requested": 3,
        "available": 1,
    }
    assert Sale.objects.count() == 0
    assert (stock(plenty), stock(scarce)) == (10, 1)
    assert not StockMovement.objects.filter(reason="sale").exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "lines"),
        ({"lines": []}, "lines"),
        ({"lines": "nope"}, "lines"),
        ({"lines": [{"product": "x", "quantity": 1}]}, "lines"),
        ({"lines": [{"product": 1, "quantity": 0}]}, "lines"),
        ({"lines": [{"product": 1, "quantity": -2}]}, "lines"),
        ({"lines": [{"product": 1}]}, "lines"),
        ({"lines": [{"product": 1, "quantity": 1, "unit_price": "-1"}]}, "lines"),
        ({"lines": [{"product": 1, "quantity": 1, "unit_price": "1.234"}]}, "lines"),
        ({"lines": [{"product": 999999, "quantity": 1}]}, "lines"),
        ({"lines": [{"product": 1, "quantity": 1}] * 101}, "lines"),
        ({"lines": [{"product": 1, "quantity": 1}], "channel": "fax"}, "channel"),
        ({"lines": [{"product": 1, "quantity": 1}], "sold_at": "yesterday"}, "sold_at"),
        ({"lines": [{"product": 1, "quantity": 1}], "customer_email": "not-an-email"}, "customer_email"),
        ({"lines": [{"product": 1, "quantity": 1}], "note": "x" * 501}, "note"),
    ],
)
def test_sale_create_rejects_bad_input_naming_the_field(seller, body, field):
    product = ProductFactory(initial_stock=5)
    if isinstance(body.get("lines"), list):  # product 1 stands for the product made here
        body = {**body, "lines": [{**line, "product": product.pk} if line.get("product") == 1 else line
                                  for line in body["lines"]]}  # fmt: skip

    response = seller.post("/api/v1/sales/", body)

    assert response.status_code == HTTPStatus.BAD_REQUEST, response.json()
    assert field in response.json()
    assert Sale.objects.count() == 0


def test_sale_create_rejects_sold_at_more_than_five_minutes_ahead(seller):
    product = ProductFactory(initial_stock=5)
    later = (timezone.now() + timedelta(minutes=10)).isoformat()
    response = seller.post("/api/v1/sales/", {"lines": [{"product": product.pk, "quantity": 1}], "sold_at": later})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "sold_at" in response.json()


def test_sale_create_of_an_archived_product_is_409(seller):
    product = ProductFactory(initial_stock=5, is_active=False)
    response = seller.post("/api/v1/sales/", {"lines": [{"product": product.pk, "quantity": 1}]})
    assert response.status_code == HTTPStatus.CONFLICT
    assert response.json()["code"] == "product_inactive"


def test_idempotency_key_replays_the_first_sale(seller):
    product = ProductFactory(initial_stock=5)
    body = {"lines": [{"product": product.pk, "quantity": 2}]}

    first = seller.post("/api/v1/sales/", body, HTTP_IDEMPOTENCY_KEY="abc-123")
    again = seller.post("/api/v1/sales/", body, HTTP_IDEMPOTENCY_KEY="abc-123")
    reused = seller.post(
        "/api/v1/sales/", {"lines": [{"product": product.pk, "quantity": 1}]}, HTTP_IDEMPOTENCY_KEY="abc-123"
    )

    assert (first.status_code, again.status_code) == (HTTPStatus.CREATED, HTTPStatus.CREATED)
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert reused.status_code == HTTPStatus.CONFLICT
    assert reused.json()["code"] == "idempotency_key_reused"
    assert stock(product) == 3


def test_sale_create_answers_what_the_sale_detail_answers(seller):
    """The 201 is rendered from memory (sale_data); it must equal SaleSerializer over the sale read back."""
    kitchen, garden = CategoryFactory(name="Kitchen"), CategoryFactory(name="Garden")
    kettle = ProductFactory(category=kitchen, price=Decimal("30.00"), cost=Decimal("12.50"), initial_stock=9)
    hose = ProductFactory(category=garden, price=Decimal("7.10"), initial_stock=9)
    sold_at = (timezone.now() - timedelta(hours=3)).astimezone(timezone.get_fixed_timezone(120))
    bodies = [
        {"lines": [{"product": hose.pk, "quantity": 1}]},
        {
            "lines": [
                {"product": kettle.pk, "quantity": 2},
                {"product": hose.pk, "quantity": 3, "unit_price": "6.5"},
                {"product": kettle.pk, "quantity": 1, "unit_price": "0"},
            ],
            "channel": "amazon",
            "sold_at": sold_at.isoformat(),
            "customer_email": "b@example.com",
            "note": "gift",
        },
    ]
    for body in bodies:
        created = seller.post("/api/v1/sales/", body, HTTP_IDEMPOTENCY_KEY=f"same-{len(body)}")
        replayed = seller.post("/api/v1/sales/", body, HTTP_IDEMPOTENCY_KEY=f"same-{len(body)}")
        assert created.status_code == HTTPStatus.CREATED, created.json()
        read_back = seller.get(f"/api/v1/sales/{created.json()['id']}/")

        assert created.content == read_back.content
        assert replayed.content == read_back.content
        assert json.loads(created.content) == json.loads(
            json.dumps(SaleSerializer(selectors.sale_list().get(pk=created.json()["id"])).data)
        )


def test_sale_list_and_detail_answer_what_sale_serializer_renders(client_as):
    """Both are rendered by sale_data; SaleSerializer (the schema's) stays the definition."""
    kitchen = CategoryFactory(name="Kitchen")
    kettle = ProductFactory(category=kitchen, price=Decimal("30.00"), initial_stock=20)
    loose = ProductFactory(category=CategoryFactory(name="Garden"), price=Decimal("0.99"), initial_stock=20)
    sell((kettle, 2), (loose, 3), customer_email="a@example.com", note="gift", channel="pos")
    refunded = sell((kettle, 1), (loose, 1))
    client = client_as("sales.view_sale", "sales.add_refund")
    line = refunded.lines.order_by("id").first()
    refund = client.post(f"/api/v1/sales/{refunded.pk}/refunds/", {"lines": [{"line": line.pk, "quantity": 1}]})
    assert refund.status_code == HTTPStatus.CREATED, refund.json()
    expected = json.loads(json.dumps(SaleSerializer(selectors.sale_list().order_by("-sold_at", "-id"), many=True).data))

    listed = client.get("/api/v1/sales/").json()["results"]
    details = [client.get(f"/api/v1/sales/{row['id']}/").json() for row in listed]

    assert listed == expected
    assert details == expected
    assert {row["status"] for row in listed} == {"completed", "partially_refunded"}


def test_the_ledger_rows_of_a_sale_and_its_refund_render_as_the_movement_serializer(client_as):
    product = ProductFactory(initial_stock=10)
    sale = sell((product, 3))
    client = client_as("inventory.view_stockmovement", "sales.view_sale", "sales.add_refund")
    line = sale.lines.get()
    refunded = client.post(f"/api/v1/sales/{sale.pk}/refunds/", {"lines": [{"line": line.pk, "quantity": 1}]})
    assert refunded.status_code == HTTPStatus.CREATED
    expected = json.loads(json.dumps(StockMovementSerializer(movement_list(), many=True).data))

    assert client.get("/api/v1/inventory/changes/").json()["results"] == expected
    assert [(row["reason"], row["sale"], row["refund"]) for row in expected] == [
        ("refund", None, refunded.json()["id"]), ("sale", sale.pk, None), ("initial", None, None),
    ]  # fmt: skip


def test_sale_create_reads_nothing_back_after_writing(seller):
    product = ProductFactory(initial_stock=5)

    with CaptureQueriesContext(connection) as queries:
        response = seller.post("/api/v1/sales/", {"lines": [{"product": product.pk, "quantity": 1}]})

    assert response.status_code == HTTPStatus.CREATED
    sales_reads = [q["sql"] for q in queries if q["sql"].startswith("SELECT") and "`sales_" in q["sql"]]
    assert sales_reads == []


def test_idempotency_key_too_long_is_400(seller):
    product = ProductFactory(initial_stock=5)
    response = seller.post(
        "/api/v1/sales/", {"lines": [{"product": product.pk, "quantity": 1}]}, HTTP_IDEMPOTENCY_KEY="k" * 256
    )
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "Idempotency-Key" in response.json()


def test_sale_list_filters_by_store_dates_channel_product_category_status(client_as, settings):
    settings.STORE_TIME_ZONE = "America/New_York"
    books, toys = CategoryFactory(), CategoryFactory()
    novel = ProductFactory(category=books, initial_stock=50)
    ball = ProductFactory(category=toys, initial_stock=50)
    # 2026-03-01 23:30 in New York is 2026-03-02 04:30 UTC: it belongs to the store's 1 March.
    late = sell((novel, 1), sold_at=datetime(2026, 3, 2, 4, 30, tzinfo=UTC), channel="pos")
    early = sell((ball, 1), sold_at=datetime(2026, 3, 2, 6, 0, tzinfo=UTC))
    client = client_as("sales.view_sale")

    def ids(query):
        response = client.get(f"/api/v1/sales/?{query}")
        assert response.status_code == HTTPStatus.OK, response.json()
        return [row["id"] for row in response.json()["results"]]

    assert ids("start_date=2026-03-01&end_date=2026-03-01") == [late.pk]
    assert ids("start_date=2026-03-02") == [early.pk]
    assert ids("channel=pos") == [late.pk]
    assert ids(f"product={ball.pk}") == [early.pk]
    assert ids(f"category={books.pk}") == [late.pk]
    assert ids("ordering=sold_at") == [late.pk, early.pk]
    assert ids("status=refunded") == []


@pytest.mark.parametrize(
    ("query", "field"),
    [("start_date=2026-13-01", "start_date"), ("channel=fax", "channel"), ("product=abc", "product"),
     ("start_date=2026-03-02&end_date=2026-03-01", "start_date")],
)  # fmt: skip
def test_sale_list_rejects_bad_filters(client_as, query, field):
    response = client_as("sales.view_sale").get(f"/api/v1/sales/?{query}")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert field in response.json()


def test_sale_list_query_count_is_constant(client_as, django_assert_max_num_queries):
    products = [ProductFactory(initial_stock=50) for _ in range(3)]
    for _ in range(10):
        sell(*[(product, 1) for product in products])
    client = client_as("sales.view_sale")
    client.get("/api/v1/sales/")

    with django_assert_max_num_queries(4):
        response = client.get("/api/v1/sales/")
    assert len(response.json()["results"]) == 10


def test_refund_through_the_api(client_as):
    product = ProductFactory(initial_stock=10, price=Decimal("4.00"))
    sale = sell((product, 3))
    line = sale.lines.get()
    client = client_as("sales.view_sale", "sales.add_refund")

    response = client.post(
        f"/api/v1/sales/{sale.pk}/refunds/", {"lines": [{"line": line.pk, "quantity": 2}], "reason": "damaged"}
    )

    assert response.status_code == HTTPStatus.CREATED, response.json()
    body = response.json()
    assert set(body) == {"id", "sale", "amount", "restocked", "reason", "lines", "created_at"}
    assert (body["sale"], body["amount"], body["restocked"], body["reason"]) == (sale.pk, "8.00", True, "damaged")
    assert body["lines"] == [{"id": body["lines"][0]["id"], "line": line.pk, "quantity": 2, "amount": "8.00"}]
    detail = client.get(f"/api/v1/sales/{sale.pk}/").json()
    assert (detail["status"], detail["refunded_total"], detail["net_total"]) == ("partially_refunded", "8.00", "4.00")
    assert detail["lines"][0]["refunded_quantity"] == 2
    assert stock(product) == 9


def test_refund_beyond_what_was_sold_is_409(client_as):
    product = ProductFactory(initial_stock=10)
    sale = sell((product, 1))
    line = sale.lines.get()
    response = client_as("sales.view_sale", "sales.add_refund").post(
        f"/api/v1/sales/{sale.pk}/refunds/", {"lines": [{"line": line.pk, "quantity": 2}]}
    )
    assert response.status_code == HTTPStatus.CONFLICT
    assert response.json() == {
        "detail": f"Line {line.pk}: 2 to refund, only 1 sold and not yet refunded.",
        "code": "refund_exceeds_sold",
        "line": line.pk,
        "requested": 2,
        "refundable": 1,
    }
    assert not Refund.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [({}, "lines"), ({"lines": []}, "lines"), ({"lines": [{"line": "a", "quantity": 1}]}, "lines"),
     ({"lines": [{"line": 999999, "quantity": 1}]}, "lines"), ({"lines": [{"line": 1, "quantity": 0}]}, "lines"),
     ({"lines": [{"line": 1, "quantity": 1}], "restock": "maybe"}, "restock")],
)  # fmt: skip
def test_refund_rejects_bad_input(client_as, body, field):
    sale = sell((ProductFactory(initial_stock=10), 1))
    response = client_as("sales.view_sale", "sales.add_refund").post(f"/api/v1/sales/{sale.pk}/refunds/", body)
    assert response.status_code == HTTPStatus.BAD_REQUEST, response.json()
    assert field in response.json()


def test_refund_of_unknown_sale_is_404(client_as):
    response = client_as("sales.view_sale", "sales.add_refund").post(
        "/api/v1/sales/999999/refunds/", {"lines": [{"line": 1, "quantity": 1}]}
    )
    assert response.status_code == HTTPStatus.NOT_FOUND


def test_a_sold_product_cannot_be_deleted_only_archived(client_as):
    product = ProductFactory(initial_stock=5)
    sell((product, 1))
    client = client_as("catalog.delete_product", "catalog.change_product", "catalog.view_product")

    response = client.delete(f"/api/v1/products/{product.pk}/")

    assert response.status_code == HTTPStatus.CONFLICT
    assert response.json()["code"] == "product_has_sales"
    assert client.patch(f"/api/v1/products/{product.pk}/", {"is_active": False}).json()["is_active"] is False
