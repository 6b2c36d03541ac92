"""Random sales and refunds around DST transitions, month ends and a leap day: every endpoint, JSON
and CSV, must equal the plain-Python oracle computed from the same rows."""

import csv
import io
import random
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from zoneinfo import ZoneInfo

import pytest

from .oracle import Oracle, iso, money, pct

pytestmark = pytest.mark.django_db

PERIODS = ("day", "week", "month", "quarter", "year")
COMPARES = ("previous_period", "previous_year", "same_weekday_last_year")

SCENARIOS = [
    # zone, the store's wall-clock "now", week start, seed
    pytest.param("America/New_York", datetime(2026, 11, 1, 14, 30), "monday", 1, id="new-york-fall-back-day"),
    pytest.param("America/New_York", datetime(2026, 3, 9, 9, 15), "sunday", 2, id="new-york-after-spring-forward"),
    pytest.param("Pacific/Auckland", datetime(2026, 4, 5, 16, 45), "monday", 3, id="auckland-fall-back-day"),
    pytest.param("Pacific/Auckland", datetime(2026, 9, 28, 0, 20), "saturday", 4, id="auckland-after-spring-forward"),
    pytest.param("America/New_York", datetime(2028, 2, 29, 10, 0), "wednesday", 5, id="new-york-leap-day"),
]


def transitions(zone: ZoneInfo, start: datetime, end: datetime) -> list[datetime]:
    """The instants the zone's offset changes, found hour by hour (no shared code with the app)."""
    found, moment = [], start.replace(minute=0, second=0, microsecond=0)
    while moment < end:
        if moment.astimezone(zone).utcoffset() != (moment + timedelta(hours=1)).astimezone(zone).utcoffset():
            found.append(moment + timedelta(hours=1))
        moment += timedelta(hours=1)
    return found


def csv_rows(response) -> list[dict]:
    assert response.status_code == HTTPStatus.OK, response.content
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def as_csv(rows: list[dict]) -> list[dict]:
    """JSON rows as their CSV cells: null empty, numbers and strings as text."""
    return [{key: "" if value is None else str(value) for key, value in flatten(row).items()} for row in rows]


def flatten(row: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in row.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def get(client, url, **params):
    response = client.get(url, params)
    assert response.status_code == HTTPStatus.OK, response.content
    return response.json()


@pytest.mark.parametrize(("zone", "wall_now", "week_start", "seed"), SCENARIOS)
def test_every_endpoint_equals_the_oracle(reader, settings, freeze, zone, wall_now, week_start, seed):
    from .builders import random_store

    settings.STORE_TIME_ZONE = zone
    settings.STORE_WEEK_START = week_start
    tz = ZoneInfo(zone)
    now = freeze(wall_now.replace(tzinfo=tz).astimezone(UTC))
    today = wall_now.date()
    first_day = today - timedelta(days=400)
    hot = transitions(tz, datetime(first_day.year, first_day.month, first_day.day, tzinfo=UTC), now)
    store = random_store(random.Random(seed), zone=zone, now=now, first_day=first_day, sales=70, hot_instants=hot)
    oracle = Oracle(zone=zone, week_start=week_start)
    assert len({row.category for row in oracle.rows if row.product == store.moved.pk}) == 2

    # --- series at every interval, JSON and CSV --------------------------------------------------
    for interval in PERIODS:
        params = {"interval": interval, "start_date": first_day, "end_date": today}
        assert get(reader, "/api/v1/sales/analytics/", **params) == oracle.analytics(first_day, today, interval)
        csv_params = {**params, "format": "csv"}
        assert csv_rows(reader.get("/api/v1/sales/analytics", csv_params)) == as_csv(
            oracle.analytics(first_day, today, interval)["series"]
        )
    for transition in hot:
        day = transition.astimezone(tz).date()
        params = {"interval": "hour", "start_date": day - timedelta(days=1), "end_date": day + timedelta(days=1)}
        expected = oracle.analytics(day - timedelta(days=1), day + timedelta(days=1), "hour")
        assert get(reader, "/api/v1/sales/analytics/", **params) == expected
        assert len(expected["series"]) in (71, 73)
    today_hours = oracle.analytics(today, today, "hour")
    assert get(reader, "/api/v1/sales/analytics/", interval="hour", start_date=today, end_date=today) == today_hours

    # --- filters: channel, the category a line had when sold, product ---------------------------
    filters = [
        ({"channel": "pos"}, lambda row: row.channel == "pos"),
        ({"category": store.categories[0].pk}, lambda row: row.category == store.categories[0].pk),
        ({"category": store.categories[2].pk}, lambda row: row.category == store.categories[2].pk),
        ({"product": store.moved.pk}, lambda row: row.product == store.moved.pk),
    ]
    for params, keep in filters:
        expected = oracle.analytics(first_day, today, "month", keep)
        assert get(reader, "/api/v1/sales/analytics/", interval="month", start_date=first_day, **params) == expected

    # --- comparison: every period and mode, like for like ----------------------------------------
    for period in PERIODS:
        for compare in COMPARES:
            response = get(reader, "/api/v1/sales/revenue/comparison/", period=period, compare=compare, by="category")
            expected = oracle.comparison(*oracle.comparison_windows(now, period, compare), by_category=True)
            assert {key: response[key] for key in expected} == expected, (period, compare)
            assert (response["period"], response["compare"]) == (period, compare)
    explicit = {
        "start_date": today - timedelta(days=13),
        "end_date": today,
        "compare_start_date": today - timedelta(days=400),
        "compare_end_date": today - timedelta(days=380),
    }
    response = get(reader, "/api/v1/sales/revenue/comparison/", by="category", **explicit)
    expected = oracle.comparison(
        (oracle.midnight(explicit["start_date"]), oracle.midnight(today + timedelta(days=1))),
        (oracle.midnight(explicit["compare_start_date"]), oracle.midnight(explicit["compare_end_date"] + timedelta(1))),
        by_category=True,
    )
    assert {key: response[key] for key in expected} == expected
    assert response["compare"] == "explicit"
    comparison_csv = csv_rows(reader.get("/api/v1/sales/revenue/comparison/", {**explicit, "by": "category",
                                                                                 "format": "csv"}))  # fmt: skip
    spans = {side: {"start": response[side]["start"], "end": response[side]["end"]} for side in ("current", "previous")}
    json_rows = [
        {"category": None, "category_name": "", "current": response["current"], "previous": response["previous"],
         "change": response["change"]},
        *[{**row, "current": {**spans["current"], **row["current"]},
           "previous": {**spans["previous"], **row["previous"]}} for row in response["categories"]],
    ]  # fmt: skip
    assert comparison_csv == as_csv(json_rows)

    # --- by category and top products --------------------------------------------------------------
    for first in (today - timedelta(days=29), first_day):
        response = get(reader, "/api/v1/sales/by-category/", start_date=first, end_date=today)
        assert response["results"] == oracle.by_category(first, today)
        assert response["count"] == len(response["results"])
        csv_body = reader.get("/api/v1/sales/by-category/", {"start_date": first, "format": "csv"})
        assert csv_rows(csv_body) == as_csv(response["results"])
        for by in ("revenue", "units"):
            for limit in (3, 100):
                response = get(reader, "/api/v1/sales/top-products/", start_date=first, by=by, limit=limit)
                assert response["results"] == oracle.top_products(oracle.on_dates(first, today), by, limit)
                csv_body = reader.get(
                    "/api/v1/sales/top-products/", {"start_date": first, "by": by, "limit": limit},
                    HTTP_ACCEPT="text/csv",
                )  # fmt: skip
                assert csv_rows(csv_body) == as_csv(response["results"])

    # --- insights ------------------------------------------------------------------------------------
    for days in (1, 7, 30):
        response = get(reader, "/api/v1/insights/sales-trends/", days=days)
        assert response["daily"] == oracle.trends(now, days)
        assert csv_rows(reader.get("/api/v1/insights/sales-trends/", {"days": days, "format": "csv"})) == as_csv(
            response["daily"]
        )
        response = get(reader, "/api/v1/insights/category-performance/", days=days)
        assert response["results"] == oracle.category_performance(now, days)
        csv_body = reader.get("/api/v1/insights/category-performance/", {"days": days, "format": "csv"})
        assert csv_rows(csv_body) == as_csv(response["results"])

    stock = get(reader, "/api/v1/insights/stock-management/", page_size=500)
    assert stock["results"] == oracle.stock_rows(now)
    csv_body = reader.get("/api/v1/insights/stock-management/", {"page_size": 500, "format": "csv"})
    assert csv_rows(csv_body) == as_csv(stock["results"])
    low = get(reader, "/api/v1/inventory/low-stock/", page_size=500)
    assert low["results"] == oracle.stock_rows(now, low_only=True)

    # --- the dashboard snapshot ------------------------------------------------------------------------
    snapshot = get(reader, "/api/v1/insights/dashboard/")
    assert get(reader, "/api/v1/analytics/snapshot/") == snapshot
    today_start = oracle.midnight(today)
    windows = {
        "today": (today_start, now),
        "same_time_yesterday": (
            oracle.midnight(today - timedelta(days=1)),
            oracle.at_wall(wall_now - timedelta(days=1)),
        ),
        "same_time_last_week": (
            oracle.midnight(today - timedelta(days=7)),
            oracle.at_wall(wall_now - timedelta(days=7)),
        ),
    }
    for name, window in windows.items():
        figures = oracle.figures(oracle.between(*window))
        assert snapshot[name] == {
            "net_revenue": money(figures.net),
            "orders": figures.orders,
            "units": figures.units,
            "average_order_value": figures.aov,
        }, name
    month, previous_month = oracle.comparison_windows(now, "month", "previous_period")
    month_net = oracle.figures(oracle.between(*month)).net
    previous_net = oracle.figures(oracle.between(*previous_month)).net
    assert snapshot["month_to_date"]["net_revenue"] == money(month_net)
    assert snapshot["month_to_date"]["previous_month_same_span"] == money(previous_net)
    assert snapshot["month_to_date"]["change_pct"] == pct(month_net, previous_net)
    hours = oracle.analytics(today, today, "hour")["series"]
    assert [row["hour"] for row in snapshot["hourly_today"]] == [row["period_start"] for row in hours]
    for row in snapshot["hourly_today"]:
        start = datetime.fromisoformat(row["hour"])
        figures = oracle.figures(oracle.between(start, min(start + timedelta(hours=1), now)))
        assert (row["net_revenue"], row["orders"]) == (money(figures.net), figures.orders)
    assert snapshot["top_products_today"] == oracle.top_products(oracle.between(today_start, now), "revenue", 5)
    assert snapshot["low_stock"] == oracle.stock_rows(now, low_only=True)[:10]
    assert snapshot["data_as_of"] == iso(max(row.at for row in oracle.rows))
    assert snapshot["generated_at"] == iso(now)
