from http import HTTPStatus

import pytest

from catalog.tests.factories import ProductFactory
from inventory.models import StockLevel, StockMovement
from sales.models import Sale
from sales.tests.factories import sell

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client, make_user):
    client.force_login(make_user(is_superuser=True))
    return client


def sale_form(*lines, **fields):
    data = {
        "channel": "pos", "sold_at_0": "", "sold_at_1": "", "sold_at": "", "customer_email": "", "note": "",
        "lines-TOTAL_FORMS": str(len(lines)), "lines-INITIAL_FORMS": "0", "lines-MIN_NUM_FORMS": "1",
        "lines-MAX_NUM_FORMS": "100",
    }  # fmt: skip
    for index, (product, quantity) in enumerate(lines):
        data.update({f"lines-{index}-product": product.pk, f"lines-{index}-quantity": quantity,
                     f"lines-{index}-unit_price": ""})  # fmt: skip
    return {**data, **fields}


@pytest.mark.parametrize("url", ["/admin/sales/sale/", "/admin/sales/refund/", "/admin/sales/sale/add/"])
def test_sales_admin_pages_render(staff, url):
    sell((ProductFactory(sku="FIND-ME", initial_stock=3), 1))
    assert staff.get(url).status_code == HTTPStatus.OK


def test_sale_changelist_search_and_filters(staff):
    sale = sell((ProductFactory(sku="FIND-ME", initial_stock=3), 1), channel="pos")
    assert sale.number.encode() in staff.get("/admin/sales/sale/", {"q": "FIND-ME"}).content
    assert sale.number.encode() in staff.get("/admin/sales/sale/", {"channel__exact": "pos"}).content
    assert sale.number.encode() not in staff.get("/admin/sales/sale/", {"status__exact": "refunded"}).content


def test_staff_records_a_sale_in_the_admin_and_it_takes_stock_like_the_api(staff):
    product = ProductFactory(initial_stock=5)

    response = staff.post("/admin/sales/sale/add/", sale_form((product, 2)))

    assert response.status_code == HTTPStatus.FOUND, response.content.decode()[:3000]
    sale = Sale.objects.get()
    assert (sale.channel, sale.total, sale.lines.get().quantity) == ("pos", product.price * 2, 2)
    assert StockLevel.objects.get(product=product).quantity == 3
    assert StockMovement.objects.get(reason="sale").sale_line.sale == sale


def test_admin_sale_with_too_little_stock_records_nothing(staff):
    product = ProductFactory(initial_stock=1)
    response = staff.post("/admin/sales/sale/add/", sale_form((product, 2)), follow=True)
    assert b"Nothing was recorded" in response.content
    assert not Sale.objects.exists()
    assert StockLevel.objects.get(product=product).quantity == 1


def test_sale_is_read_only_after_creation(staff):
    sale = sell((ProductFactory(initial_stock=3), 1))
    page = staff.get(f"/admin/sales/sale/{sale.pk}/change/")
    assert page.status_code == HTTPStatus.OK
    assert b'name="_save"' not in page.content
    assert staff.post(f"/admin/sales/sale/{sale.pk}/change/", {"note": "x"}).status_code == HTTPStatus.FORBIDDEN
    assert staff.post(f"/admin/sales/sale/{sale.pk}/delete/", {"post": "yes"}).status_code == HTTPStatus.FORBIDDEN
    assert Sale.objects.filter(pk=sale.pk).exists()
