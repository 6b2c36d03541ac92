"""Metrics arithmetic: spans add up field by field."""

from dataclasses import fields
from decimal import Decimal

from insights.selectors.metrics import Metrics


def test_adding_metrics_adds_every_field():
    one = Metrics(*(Decimal(index + 1) if index < 2 else index + 1 for index in range(len(fields(Metrics)))))
    two = Metrics(*(Decimal(10 * index) if index < 2 else 10 * index for index in range(len(fields(Metrics)))))
    added = one + two
    for field in fields(Metrics):
        assert getattr(added, field.name) == getattr(one, field.name) + getattr(two, field.name), field.name
