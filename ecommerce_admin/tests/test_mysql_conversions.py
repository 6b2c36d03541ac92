from datetime import UTC, datetime

import pytest
from django.db import connection
from hypothesis import given
from hypothesis import strategies as st
from MySQLdb.times import DateTime_or_None

from catalog.tests.factories import ProductFactory
from ecommerce_admin.mysql_conversions import datetime_or_none
from sales.models import Sale
from sales.tests.factories import sell


@given(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59, 999999)))
def test_reads_every_datetime_text_as_mysqlclient_does(moment):
    for text in (
        moment.isoformat(sep=" "),
        moment.replace(microsecond=0).isoformat(sep=" "),
        moment.isoformat(sep=" ", timespec="milliseconds"),
    ):
        assert datetime_or_none(text) == DateTime_or_None(text)


@pytest.mark.parametrize(
    "text", ["0000-00-00 00:00:00", "2026-02-30 00:00:00", "2026-11-25", "2026-11-25 10:00:00.5", "garbage"]
)
def test_odd_texts_get_mysqlclient_s_own_answer(text):
    assert datetime_or_none(text) == DateTime_or_None(text)


@pytest.mark.mysql
@pytest.mark.django_db
def test_the_connection_reads_datetimes_with_it():
    sold_at = datetime(2025, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)
    sale = sell((ProductFactory(initial_stock=1), 1), sold_at=sold_at)
    connection.ensure_connection()

    assert connection.connection.converter[12] is datetime_or_none  # FIELD_TYPE.DATETIME
    assert Sale.objects.get(pk=sale.pk).sold_at == sold_at
