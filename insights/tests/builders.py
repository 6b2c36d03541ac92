"""Sales and refunds for the analytics tests, recorded through the real services (ledger included)."""

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from catalog import services as catalog_services
from catalog.models import Category, Product
from catalog.tests.factories import CategoryFactory, ProductFactory
from sales import services as sales_services
from sales.models import Sale

PRICES = [Decimal("19.99"), Decimal("0.01"), Decimal("1234.56"), Decimal("3.33"), Decimal("7.50"), Decimal("0.99")]
UNIT_PRICES = [None, None, None, Decimal("0.00"), Decimal("0.05"), Decimal("99.99"), Decimal("12.34")]
CHANNELS = ["web", "pos", "amazon"]


def sell(*pairs, sold_at: datetime, channel: str = "web", prices=None) -> Sale:
    """Record a sale of (product, quantity) pairs; `prices` overrides unit prices line by line."""
    lines = [
        {"product": product, "quantity": quantity, "unit_price": (prices or {}).get(index)}
        for index, (product, quantity) in enumerate(pairs)
    ]
    return sales_services.sale_record(lines=lines, sold_at=sold_at, channel=channel)


def refund(sale: Sale, *pairs, created_at: datetime, restock: bool = True):
    """Refund (line index, quantity) pairs of a sale at an instant."""
    lines = list(sale.lines.order_by("id"))
    return sales_services.sale_refund(
        sale=sale,
        lines=[{"line": lines[index], "quantity": quantity} for index, quantity in pairs],
        created_at=created_at,
        restock=restock,
    )


@dataclass
class Store:
    categories: list[Category]
    products: list[Product]
    moved: Product
    sales: list[Sale] = field(default_factory=list)


def random_store(
    rng: random.Random, *, zone: str, now: datetime, first_day: date, sales: int, hot_instants=()
) -> Store:
    """Products in three categories and random sales from `first_day` to `now`, some refunded later.

    Half of the sales land on instants where mistakes hide: around the store's local midnights, the
    given instants (DST transitions) and a year back. One product moves to another category halfway
    through, so its earlier lines keep the old category.
    """
    categories = [CategoryFactory(name=f"Cat {name}") for name in "ABC"]
    products = [
        ProductFactory(
            category=categories[index % 3],
            price=PRICES[index],
            initial_stock=rng.choice([0, 5, 40, 100_000]) + 500,
            low_stock_threshold=rng.choice([0, 10, 100_000]),
        )
        for index in range(len(PRICES))
    ]
    instants = _instants(rng, zone=ZoneInfo(zone), now=now, first_day=first_day, count=sales, hot=hot_instants)
    store = Store(categories=categories, products=products, moved=products[0])
    for number, sold_at in enumerate(instants):
        if number == len(instants) // 2:
            catalog_services.product_update(product=store.moved, category=categories[2])
        chosen = rng.sample(products, rng.randint(1, 3))
        sale = sell(
            *[(product, rng.randint(1, 4)) for product in chosen],
            sold_at=sold_at,
            channel=rng.choice(CHANNELS),
            prices={index: rng.choice(UNIT_PRICES) for index in range(len(chosen))},
        )
        store.sales.append(sale)
        if rng.random() < 0.4:
            _random_refunds(rng, sale, now=now)
    return store


def _random_refunds(rng: random.Random, sale: Sale, *, now: datetime) -> None:
    for _ in range(rng.randint(1, 2)):
        lines = [line for line in sale.lines.order_by("id") if line.quantity > line.refunded_quantity]
        if not lines:
            return
        line = rng.choice(lines)
        quantity = rng.randint(1, line.quantity - line.refunded_quantity)
        # Same day, the next day or weeks later: a refund counts on the day it was made.
        delay = rng.choice([timedelta(minutes=5), timedelta(hours=20), timedelta(days=rng.randint(1, 40))])
        created_at = min(sale.sold_at + delay, now - timedelta(seconds=1))
        sales_services.sale_refund(
            sale=sale, lines=[{"line": line, "quantity": quantity}], created_at=created_at, restock=rng.random() < 0.7
        )


def _instants(rng, *, zone: ZoneInfo, now: datetime, first_day: date, count: int, hot) -> list[datetime]:
    start = datetime.combine(first_day, time.min, tzinfo=zone).astimezone(UTC)
    span = (now - start).total_seconds()
    today = now.astimezone(zone).date()
    edges = [
        datetime.combine(today - timedelta(days=days), time.min, tzinfo=zone).astimezone(UTC)
        for days in (0, 1, 2, 6, 7, 8, 27, 28, 29, 30, 31, 32, 45, 60, 364, 365, 366)
    ]
    month_start = today.replace(day=1)
    for day in (month_start, (month_start - timedelta(days=1)).replace(day=1)):
        edges.append(datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC))
    jitter = [timedelta(0), -timedelta(microseconds=1), timedelta(seconds=1), -timedelta(minutes=30)]
    instants = []
    for _ in range(count):
        pick = rng.random()
        if pick < 0.35:
            moment = rng.choice(edges) + rng.choice(jitter)
        elif pick < 0.5 and hot:
            moment = rng.choice(list(hot)) + rng.choice([*jitter, timedelta(minutes=30), timedelta(minutes=90)])
        elif pick < 0.6:
            moment = now - timedelta(days=rng.choice([364, 365, 366]), seconds=rng.randint(-86400, 86400))
        else:
            moment = start + timedelta(seconds=rng.uniform(0, span))
        instants.append(min(max(moment, start), now - timedelta(seconds=2)))
    rng.shuffle(instants)
    return instants
