"""Generate a demo store of any size, fast: bulk inserts of rows that keep every invariant.

A million sale lines cannot go through `sale_record` one by one in two minutes, so the seeder
plays the store's history forward in Python instead, in time order, keeping each product's stock
as the services would (reordering when a sale takes a product down to its low-stock threshold,
restocking before a sale that would still oversell, refunds returning units),
and writes sales, lines, refunds and ledger rows in bulk (`LOAD DATA` on MySQL). The result is what
the services would have written: the ledger sums to the stock and sale totals equal their lines.
"""

import csv
import heapq
import itertools
import math
import os
import queue
import random
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.utils.text import slugify

from catalog.models import Category, Product
from ecommerce_admin.store_calendar import day_start, store_today
from inventory.models import MovementReason, StockLevel, StockMovement

from .models import Channel, Refund, RefundLine, Sale, SaleLine, SaleStatus

CATEGORY_WORDS = [
    "Electronics", "Books", "Kitchen", "Toys", "Sports", "Beauty", "Garden", "Office", "Clothing", "Shoes",
    "Grocery", "Pets", "Automotive", "Music", "Health", "Tools", "Baby", "Crafts", "Outdoor", "Lighting",
]  # fmt: skip
ADJECTIVES = ["Classic", "Compact", "Deluxe", "Eco", "Pro", "Smart", "Ultra", "Vintage", "Travel", "Essential"]
NOUNS = ["Kit", "Set", "Bundle", "Pack", "Edition", "Model", "Series", "Collection", "Box", "Duo"]
CHANNEL_WEIGHTS = {Channel.WEB: 55, Channel.POS: 25, Channel.AMAZON: 12, Channel.WALMART: 5, Channel.OTHER: 3}
# Share of a day's sales in each store-local hour: quiet nights, a lunch bump, an evening peak.
HOUR_WEIGHTS = [1, 1, 1, 1, 1, 2, 3, 5, 7, 8, 9, 11, 12, 11, 10, 10, 11, 12, 13, 13, 11, 8, 5, 2]
WEEKDAY_WEIGHTS = [0.9, 0.85, 0.9, 0.95, 1.1, 1.3, 1.2]  # Monday .. Sunday
LINES_PER_SALE = [1, 1, 1, 1, 2, 2, 2, 3, 3, 4]  # mean 2.0
REFUND_RATE = 0.03
BATCH_ROWS = 5000


@dataclass(frozen=True)
class SeedPlan:
    products: int
    categories: int
    days: int
    sale_lines: int
    seed: int


@dataclass
class SeedReport:
    categories: int = 0
    products: int = 0
    sales: int = 0
    sale_lines: int = 0
    refunds: int = 0
    movements: int = 0
    seconds: float = 0.0


class Progress:
    """A one-line progress bar on stderr with rate and ETA."""

    def __init__(self, total: int, label: str, stream=sys.stderr) -> None:
        self.total, self.label, self.stream = total, label, stream
        self.done = 0
        self.started = time.monotonic()
        self.shown_at = 0.0

    def advance(self, count: int) -> None:
        self.done += count
        now = time.monotonic()
        if now - self.shown_at >= 0.5 or self.done >= self.total:
            self.shown_at = now
            elapsed = max(now - self.started, 1e-6)
            rate = self.done / elapsed
            eta = (self.total - self.done) / rate if rate else 0
            self.stream.write(
                f"\r{self.label}: {self.done:>11,}/{self.total:,} {100 * self.done / max(self.total, 1):5.1f}%"
                f"  {rate:,.0f}/s  ETA {eta:4.0f}s "
            )
            self.stream.flush()

    def finish(self) -> None:
        self.stream.write("\n")
        self.stream.flush()


def store_is_empty() -> bool:
    return not (Product.objects.exists() or Category.objects.exists() or Sale.objects.exists())


def store_reset() -> None:
    """Delete the catalog, stock, ledger, sales and refunds (users and groups stay)."""
    models = [RefundLine, Refund, StockMovement, SaleLine, Sale, StockLevel, Product, Category]
    with connection.cursor() as cursor:
        if connection.vendor == "mysql":
            cursor.execute("SET FOREIGN_KEY_CHECKS = 0")
            for model in models:
                cursor.execute(f"TRUNCATE TABLE {connection.ops.quote_name(model._meta.db_table)}")
            cursor.execute("SET FOREIGN_KEY_CHECKS = 1")
        else:
            with transaction.atomic():
                for model in models:
                    cursor.execute(f"DELETE FROM {connection.ops.quote_name(model._meta.db_table)}")


def seed_store(plan: SeedPlan, *, progress: bool = True, now: datetime | None = None) -> SeedReport:
    """Write a whole store history ending now, deterministic for a given plan."""
    started = time.monotonic()
    now = now or datetime.now(UTC)
    rng = random.Random(plan.seed)
    report = SeedReport()
    categories, products = _catalog(plan, rng)
    report.categories, report.products = len(categories), len(products)

    writer = _RowWriter(progress=Progress(plan.sale_lines, "sale lines") if progress else None)
    with _bulk_session():
        history = _History(rng=rng, products=products, writer=writer, now=now, daily_lines=plan.sale_lines / plan.days)
        history.open_stock()
        for sale_time, channel, lines in _sales(plan, rng, products, now):
            history.sell(sale_time, channel, lines)
        history.close()
        writer.close()
    if writer.progress:
        writer.progress.finish()
    report.sales, report.sale_lines = history.sales, history.lines
    report.refunds, report.movements = history.refunds, history.movements
    report.seconds = time.monotonic() - started
    return report


# --- catalog ------------------------------------------------------------------------------------


def _catalog(plan: SeedPlan, rng: random.Random) -> tuple[list[Category], list["_DemoProduct"]]:
    names = [
        CATEGORY_WORDS[i % len(CATEGORY_WORDS)]
        + ("" if i < len(CATEGORY_WORDS) else f" {i // len(CATEGORY_WORDS) + 1}")
        for i in range(plan.categories)
    ]
    categories = Category.objects.bulk_create([Category(name=name, slug=slugify(name)) for name in names])
    categories = list(Category.objects.filter(name__in=names).order_by("id"))
    product_rows = []
    for number in range(1, plan.products + 1):
        category = categories[rng.randrange(len(categories))]
        price = Decimal(math.exp(rng.uniform(math.log(3), math.log(400)))).quantize(Decimal("0.01"))
        product_rows.append(
            Product(
                sku=f"DEMO-{number:06d}",
                name=f"{rng.choice(ADJECTIVES)} {category.name} {rng.choice(NOUNS)} {number}",
                description=f"A demo product in {category.name}.",
                category=category,
                price=price,
                cost=(price * Decimal(str(round(rng.uniform(0.35, 0.7), 2)))).quantize(Decimal("0.01")),
            )
        )
    Product.objects.bulk_create(product_rows, batch_size=1000)
    saved = list(Product.objects.filter(sku__startswith="DEMO-").select_related("category").order_by("id"))
    # Long tail: a few products sell a lot, most sell a little (Zipf-like weights in a random order).
    ranks = list(range(len(saved)))
    rng.shuffle(ranks)
    demo = [
        _DemoProduct(
            product.pk, product.sku, product.name, product.category_id, product.category.name,
            product.price, product.cost, 1.0 / (rank + 1) ** 1.07, rng.choice([5, 10, 10, 15, 20]),
        )
        for product, rank in zip(saved, ranks, strict=True)
    ]  # fmt: skip
    return categories, demo


@dataclass
class _DemoProduct:
    id: int
    sku: str
    name: str
    category_id: int
    category_name: str
    price: Decimal
    cost: Decimal
    popularity: float
    low_stock_threshold: int
    stock: int = 0
    movements: int = 0
    restock_batch: int = 0


# --- sales over time ----------------------------------------------------------------------------


def _sales(plan: SeedPlan, rng: random.Random, products: list[_DemoProduct], now: datetime) -> Iterator[tuple]:
    """Yield (sold_at, channel, [(product, quantity, unit_price)]) in time order, plan.sale_lines lines in all."""
    today = store_today(now)
    first_day = today - timedelta(days=plan.days - 1)
    day_weights = [_day_weight(first_day + timedelta(days=i), i, plan.days) for i in range(plan.days)]
    total_weight = sum(day_weights)
    cumulative = list(_accumulate([p.popularity for p in products]))
    # Cumulative weights once, rather than `choices(weights=...)` summing them again on every call.
    channels, channel_cumulative = list(CHANNEL_WEIGHTS), list(_accumulate(CHANNEL_WEIGHTS.values()))
    hours, hour_cumulative = list(range(24)), list(_accumulate(HOUR_WEIGHTS))
    remaining = plan.sale_lines
    for index, weight in enumerate(day_weights):
        day = first_day + timedelta(days=index)
        lines_today = remaining if index == plan.days - 1 else round(plan.sale_lines * weight / total_weight)
        lines_today = min(lines_today, remaining)
        start = day_start(day)
        span = (day_start(day + timedelta(days=1)) - start).total_seconds()
        if day == today:  # today's sales happened so far
            span = min(span, (now - start).total_seconds() - 1)
        instants = []
        budget = lines_today
        while budget > 0:
            size = min(rng.choice(LINES_PER_SALE), budget)
            budget -= size
            hour = rng.choices(hours, cum_weights=hour_cumulative)[0]
            offset = min((hour + rng.random()) * 3600 * span / 86400, max(span, 0))
            instants.append((offset, size))
        instants.sort()
        for offset, size in instants:
            chosen = rng.choices(products, cum_weights=cumulative, k=size)
            lines = [(product, 1 if rng.random() < 0.8 else rng.randint(2, 4), product.price) for product in chosen]
            yield start + timedelta(seconds=offset), rng.choices(channels, cum_weights=channel_cumulative)[0], lines
        remaining -= lines_today


def _day_weight(day: date, index: int, days: int) -> float:
    season = 1 + 0.25 * math.sin(2 * math.pi * (day.timetuple().tm_yday - 80) / 365.25)
    holiday = 1.8 if (day.month == 11 and day.day >= 24) or (day.month == 12 and day.day <= 22) else 1.0
    growth = 0.75 + 0.5 * index / max(days - 1, 1)
    return season * holiday * growth * WEEKDAY_WEIGHTS[day.weekday()]


def _accumulate(values: list[float]) -> Iterator[float]:
    total = 0.0
    for value in values:
        total += value
        yield total


# --- the store's history, played forward ----------------------------------------------------------


class _History:
    """Keeps each product's stock while sales, restocks and refunds happen in time order."""

    def __init__(
        self, *, rng: random.Random, products: list[_DemoProduct], writer: "_RowWriter", now: datetime,
        daily_lines: float,
    ):  # fmt: skip
        self.rng, self.products, self.writer, self.now = rng, products, writer, now
        self.daily_lines = daily_lines
        self.pending_refunds: list[tuple] = []  # heap of (refund time, sequence, sale row, lines)
        self.sales = self.lines = self.refunds = self.movements = 0
        self.sale_id = _next_id(Sale)
        self.line_id = _next_id(SaleLine)
        self.refund_id = _next_id(Refund)
        self.refund_line_id = _next_id(RefundLine)
        self.movement_id = _next_id(StockMovement)
        self.total_popularity = sum(p.popularity for p in products)

    def open_stock(self) -> None:
        for product in self.products:
            # about a month of this product's expected demand (1.4 units per line on average), and
            # always enough to lift it well above its threshold: a store reorders before it runs low
            expected_daily_units = 1.4 * self.daily_lines * product.popularity / self.total_popularity
            product.restock_batch = max(2 * product.low_stock_threshold, round(expected_daily_units * 30))
            product.stock = product.restock_batch

    def sell(self, sold_at: datetime, channel: str, lines: list[tuple]) -> None:
        self._refunds_until(sold_at)
        if self.sales == 0:
            self._opening_movements(sold_at - timedelta(hours=1))
        stamp = _stamp(sold_at)
        sale_id = self.sale_id
        self.sale_id += 1
        total = Decimal("0.00")
        line_rows = []
        for product, quantity, unit_price in lines:
            if product.stock < quantity:
                self._movement(product, max(product.restock_batch, quantity), MovementReason.RESTOCK, stamp,
                               note="Demo restock")  # fmt: skip
            line_total = unit_price * quantity
            total += line_total
            line_id = self.line_id
            self.line_id += 1
            line_rows.append((line_id, product, quantity, unit_price))
            self.writer.add(
                "line",
                (line_id, sale_id, product.id, quantity, unit_price, line_total, product.cost, 0, product.sku,
                 product.name, product.category_id, product.category_name, stamp, channel),
            )  # fmt: skip
            self._movement(product, -quantity, MovementReason.SALE, stamp, sale_line_id=line_id)
            if product.stock <= product.low_stock_threshold:  # the reorder point: the delivery comes at once
                self._movement(product, product.restock_batch, MovementReason.RESTOCK, stamp, note="Demo reorder")
        refunded = self.rng.random() < REFUND_RATE
        refund_at = sold_at + timedelta(days=self.rng.randint(1, 14), hours=self.rng.randint(0, 8))
        number = f"S{sold_at.year % 100:02}{sold_at.month:02}{sold_at.day:02}-{sale_id:08X}"  # strftime: 8% of the time
        sale_row = [sale_id, number, channel, SaleStatus.COMPLETED, stamp, total, Decimal("0.00"), stamp, "", "", ""]
        if refunded and refund_at < self.now:
            heapq.heappush(self.pending_refunds, (refund_at, sale_id, sale_row, line_rows))
        else:
            self.writer.add("sale", tuple(sale_row))
        self.sales += 1
        self.lines += len(lines)
        if self.writer.progress:
            self.writer.progress.advance(len(lines))

    def close(self) -> None:
        self._refunds_until(self.now)
        self._end_state()
        self.writer.flush_all()
        StockLevel.objects.bulk_create(
            [StockLevel(product_id=p.id, quantity=p.stock, low_stock_threshold=p.low_stock_threshold,
                        movements=p.movements)
             for p in self.products],
            batch_size=1000,
        )  # fmt: skip

    def _opening_movements(self, at: datetime) -> None:
        stamp = _stamp(at)
        for product in self.products:
            stock, product.stock = product.stock, 0
            if stock:
                self._movement(product, stock, MovementReason.INITIAL, stamp, note="Opening stock")

    def _refunds_until(self, moment: datetime) -> None:
        while self.pending_refunds and self.pending_refunds[0][0] <= moment:
            refund_at, _, sale_row, line_rows = heapq.heappop(self.pending_refunds)
            self._refund(refund_at, sale_row, line_rows)

    def _refund(self, refund_at: datetime, sale_row: list, line_rows: list[tuple]) -> None:
        whole = self.rng.random() < 0.6
        chosen = line_rows if whole else [self.rng.choice(line_rows)]
        restock = self.rng.random() < 0.8
        stamp = _stamp(refund_at)
        refund_id = self.refund_id
        self.refund_id += 1
        amount = Decimal("0.00")
        for line_id, product, quantity, unit_price in chosen:
            refund_quantity = quantity if whole else self.rng.randint(1, quantity)
            line_amount = unit_price * refund_quantity
            amount += line_amount
            self.writer.add("refund_line", (self.refund_line_id, refund_id, line_id, refund_quantity, line_amount))
            self.writer.refunded[line_id] = refund_quantity
            self.refund_line_id += 1
            if restock:
                self._movement(product, refund_quantity, MovementReason.REFUND, stamp, refund_id=refund_id)
        fully = all(self.writer.refunded.get(line[0]) == line[2] for line in line_rows)
        sale_row[3] = SaleStatus.REFUNDED if fully else SaleStatus.PARTIALLY_REFUNDED
        sale_row[6] = amount
        self.writer.add("sale", tuple(sale_row))
        self.writer.add("refund", (refund_id, sale_row[0], amount, int(restock), "Demo refund", stamp))
        self.refunds += 1

    def _end_state(self) -> None:
        """Leave some products out of stock and some low, as a real store would be on any given day."""
        at = _stamp(self.now - timedelta(minutes=1))
        for product in self.products:
            roll = self.rng.random()
            target = 0 if roll < 0.03 else self.rng.randint(1, product.low_stock_threshold) if roll < 0.10 else None
            if target is not None and product.stock != target:
                self._movement(product, target - product.stock, MovementReason.CORRECTION, at, note="Stock count")

    def _movement(self, product: _DemoProduct, delta: int, reason: str, at: datetime, *, note: str = "",
                  sale_line_id: int | None = None, refund_id: int | None = None) -> None:  # fmt: skip
        """A ledger row at `at`, a `_stamp`."""
        product.stock += delta
        product.movements += 1
        self.writer.add(
            "movement",
            (self.movement_id, product.id, delta, product.stock, str(reason), note, sale_line_id, refund_id, at),
        )
        self.movement_id += 1
        self.movements += 1


def _next_id(model) -> int:
    last = model.objects.order_by("-id").values_list("id", flat=True).first()
    return (last or 0) + 1


# --- writing ----------------------------------------------------------------------------------


def _insert_sql(model, columns: list[str]) -> str:
    quote = connection.ops.quote_name
    return (
        f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(c) for c in columns)}) "
        f"VALUES ({', '.join(['%s'] * len(columns))})"
    )


TABLES: dict[str, tuple] = {
    "sale": (
        Sale,
        [
            "id",
            "number",
            "channel",
            "status",
            "sold_at",
            "total",
            "refunded_total",
            "created_at",
            "customer_email",
            "note",
            "request_fingerprint",
        ],
    ),  # fmt: skip
    "line": (
        SaleLine,
        [
            "id",
            "sale_id",
            "product_id",
            "quantity",
            "unit_price",
            "line_total",
            "unit_cost",
            "refunded_quantity",
            "sku",
            "product_name",
            "category_id",
            "category_name",
            "sold_at",
            "channel",
        ],
    ),  # fmt: skip
    "refund": (Refund, ["id", "sale_id", "amount", "restocked", "reason", "created_at"]),
    "refund_line": (RefundLine, ["id", "refund_id", "sale_line_id", "quantity", "amount"]),
    "movement": (
        StockMovement,
        ["id", "product_id", "delta", "quantity_after", "reason", "note", "sale_line_id", "refund_id", "created_at"],
    ),
}
# Parents before children, so that foreign keys hold at every commit.
FLUSH_ORDER = ["sale", "line", "refund", "refund_line", "movement"]


class _RowWriter:
    """Buffers rows per table and writes them in bulk, parents first.

    On MySQL/MariaDB the rows go through `LOAD DATA LOCAL INFILE` on a connection of its own (the
    only one that enables local files), several times faster than multi-row INSERTs whose
    parameters are escaped one by one in Python; elsewhere through `executemany`.
    """

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress
        self.rows: dict[str, list[tuple]] = {name: [] for name in TABLES}
        self.refunded: dict[int, int] = {}
        self.loader = _MySQLLoader() if connection.vendor == "mysql" else None

    def add(self, table: str, row: tuple) -> None:
        self.rows[table].append(row)
        if len(self.rows["movement"]) >= BATCH_ROWS * 20:
            self.flush_all()

    def flush_all(self) -> None:
        loads = []
        for name in FLUSH_ORDER:
            rows = self.rows[name]
            if name == "line" and self.refunded:
                refunded = self.refunded  # only the few refunded lines are rebuilt
                rows = [(*row[:7], refunded.pop(row[0]), *row[8:]) if row[0] in refunded else row for row in rows]
            if rows:
                loads.append((*TABLES[name], rows))
            self.rows[name] = []
        updates = []
        if self.refunded:  # refunds of lines written in an earlier batch
            table = connection.ops.quote_name(SaleLine._meta.db_table)
            sql = f"UPDATE {table} SET refunded_quantity = %s WHERE id = %s"
            updates = [(sql, [(quantity, line_id) for line_id, quantity in self.refunded.items()])]
            self.refunded = {}
        if self.loader:
            self.loader.write(loads, updates)
            return
        with connection.cursor() as cursor:
            for model, columns, rows in loads:
                cursor.executemany(_insert_sql(model, columns), rows)
            for sql, params in updates:
                cursor.executemany(sql, params)

    def close(self) -> None:
        if self.loader:
            self.loader.close()


class _MySQLLoader:
    """Writes batches on its own connection in a background thread, while the history goes on being played.

    The caller's thread writes each batch to files and goes on generating the next while this
    thread has the database load them (no GIL held meanwhile); at most one batch waits. Both
    halves matter: formatting in the loading thread left the database idle while it formatted
    (and fought the generator for the GIL), and queueing each table apart made the generator wait
    for most of a batch. A million lines then took 106 s to load, against 60 to 72 s since.
    An error in the thread is raised again by `write` or `close`.
    """

    def __init__(self) -> None:
        import MySQLdb

        params = connection.get_connection_params()
        params.pop("init_command", None)
        self.connection = MySQLdb.connect(**params, local_infile=True)
        self.connection.autocommit(False)
        with self.connection.cursor() as cursor:
            cursor.execute("SET SESSION foreign_key_checks = 0, unique_checks = 0, sql_mode = 'STRICT_TRANS_TABLES'")
        self.directory = tempfile.TemporaryDirectory(prefix="shopdesk-seed-")
        self.files = itertools.count()
        self.work: queue.Queue = queue.Queue(maxsize=1)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="seed-loader", daemon=True)
        self.thread.start()

    def write(self, loads: list[tuple], updates: list[tuple] = ()) -> None:
        """Load each `(model, columns, rows)` in order, then run each `(sql, params)` many, and commit them."""
        files = [(model, columns, self._file(rows), len(rows)) for model, columns, rows in loads]
        if self.error is not None:
            raise self.error
        self.work.put((files, updates))

    def close(self) -> None:
        self.work.put(None)
        self.thread.join()
        self.connection.close()
        self.directory.cleanup()
        if self.error is not None:
            raise self.error

    def _file(self, rows: list[tuple]) -> str:
        path = os.path.join(self.directory.name, f"{next(self.files)}.tsv")
        with open(path, "w", encoding="utf-8", newline="") as file:
            csv.writer(file, dialect=_LoadDataDialect).writerows(rows)
        return path

    def _run(self) -> None:
        while (batch := self.work.get()) is not None:
            if self.error is None:
                try:
                    self._write(*batch)
                except BaseException as error:  # handed back to the seeding thread
                    self.error = error

    def _write(self, files: list[tuple], updates: list[tuple]) -> None:
        with self.connection.cursor() as cursor:
            for model, columns, path, count in files:
                self._load(cursor, model, columns, path, count)
                os.remove(path)
            for sql, params in updates:
                cursor.executemany(sql, params)
        self.connection.commit()

    def _load(self, cursor, model, columns: list[str], path: str, count: int) -> None:
        table = model._meta.db_table
        # csv writes None as an empty field, which a nullable column reads through a variable as NULL.
        nullable = {field.attname for field in model._meta.concrete_fields if field.null}
        targets = [f"@{column}" if column in nullable else f"`{column}`" for column in columns]
        nulls = [f"`{column}` = NULLIF(@{column}, '')" for column in columns if column in nullable]
        cursor.execute(
            f"LOAD DATA LOCAL INFILE %s INTO TABLE `{table}` CHARACTER SET utf8mb4 "
            f"FIELDS TERMINATED BY '\\t' LINES TERMINATED BY '\\n' ({', '.join(targets)})"
            + (f" SET {', '.join(nulls)}" if nulls else ""),
            [path],
        )
        if cursor.rowcount != count or self.connection.warning_count():
            cursor.execute("SHOW WARNINGS LIMIT 5")
            raise RuntimeError(f"Loading {table}: {cursor.rowcount} of {count} rows; {cursor.fetchall()}")


class _LoadDataDialect(csv.Dialect):
    """The text `LOAD DATA` reads by default: tab-separated, and a backslash before a tab, newline or backslash.

    csv's writer formats a whole batch in C, several times faster than joining the fields in
    Python; what it cannot write is `\\N` for NULL (it would escape the backslash), hence the
    `NULLIF` in `_load`. Rows hold no booleans (csv would write `True`) and only `_stamp` times.
    """

    delimiter = "\t"
    escapechar = "\\"
    quotechar = None
    quoting = csv.QUOTE_NONE
    lineterminator = "\n"
    doublequote = False


def _stamp(moment: datetime) -> datetime:
    """An instant as the rows hold it: naive UTC, what the database stores and `str()` writes for LOAD DATA."""
    return moment.astimezone(UTC).replace(tzinfo=None)


class _bulk_session:
    """Elsewhere than MySQL (where the loader commits batch by batch), write the whole history in one transaction."""

    def __enter__(self):
        self.atomic = None if connection.vendor == "mysql" else transaction.atomic()
        if self.atomic:
            self.atomic.__enter__()
        return self

    def __exit__(self, exc_type, exc, tb):
        if self.atomic:
            return self.atomic.__exit__(exc_type, exc, tb)
        return False
