"""rows_insert writes exactly the rows bulk_create would, and gives the instances their keys."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.forms.models import model_to_dict

from catalog.tests.factories import ProductFactory
from ecommerce_admin.db_insert import rows_insert
from sales.models import Sale, SaleLine

pytestmark = pytest.mark.django_db

SOLD_AT = datetime(2026, 11, 24, 9, 30, 15, 250000, tzinfo=UTC)


def sale_with_lines(number: str, products) -> tuple[Sale, list[SaleLine]]:
    sale = Sale(number=number, channel="pos", sold_at=SOLD_AT, total=Decimal("31.50"), note="n")
    lines = [
        SaleLine(
            product=product,
            quantity=quantity,
            unit_price=Decimal("10.50"),
            line_total=Decimal("10.50") * quantity,
            unit_cost=None if quantity == 1 else Decimal("4.20"),
            sku=product.sku,
            product_name=product.name,
            category_id=product.category_id,
            category_name="Teas",
            sold_at=SOLD_AT,
            channel="pos",
        )
        for product, quantity in zip(products, (1, 2), strict=True)
    ]
    return sale, lines


def stored(model, pk) -> dict:
    row = model_to_dict(model.objects.get(pk=pk))
    row.pop("id")
    for name in ("sale", "number", "created_at"):
        row.pop(name, None)
    return row


def test_rows_insert_writes_what_bulk_create_writes_and_sets_the_keys():
    products = [ProductFactory(), ProductFactory()]
    orm_sale, orm_lines = sale_with_lines("S-ORM", products)
    orm_sale.save()
    for line in orm_lines:
        line.sale = orm_sale
    SaleLine.objects.bulk_create(orm_lines)

    sale, lines = sale_with_lines("S-RAW", products)
    rows_insert([sale])
    for line in lines:
        line.sale = sale
    rows_insert(lines)

    assert sale.pk is not None
    assert not sale._state.adding
    assert sale.created_at is not None  # auto_now_add applied
    assert [line.pk for line in lines] == list(SaleLine.objects.filter(sale=sale).values_list("pk", flat=True))
    assert stored(Sale, sale.pk) == stored(Sale, orm_sale.pk)
    assert [stored(SaleLine, line.pk) for line in lines] == [stored(SaleLine, line.pk) for line in orm_lines]
    assert SaleLine.objects.get(pk=lines[0].pk).sold_at == SOLD_AT


def test_rows_insert_of_nothing_writes_nothing(django_assert_num_queries):
    with django_assert_num_queries(0):
        rows_insert([])
