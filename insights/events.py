"""The JSON of what the dashboard WebSocket pushes besides snapshots: sale and stock events.

Built on commit from what the domain signals carry; JSON types only (money as strings with two
places, instants as ISO 8601 UTC with a Z), so a payload survives any channel layer unchanged.
"""

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

from catalog.models import Product

SALE_RECORDED = "sale.recorded"
STOCK_LOW = "stock.low"
STOCK_OUT = "stock.out"
CENT = Decimal("0.01")


def json_types(value: Any) -> Any:
    """Return value with JSON types only (Decimal and datetimes as strings), as the API renders them."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def iso_utc(moment: datetime) -> str:
    """Format an aware datetime as ISO 8601 in UTC with a Z, like the REST API."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def sale_summary(sale: Any) -> dict[str, Any]:
    """Summarise a just-recorded sale for the live feed, from the lines it was recorded with."""
    lines = list(sale.lines.all())
    return {
        # The fields of a snapshot's `recent_sales` row, so a client renders both alike, and the lines.
        "id": sale.pk,
        "number": sale.number,
        "channel": sale.channel,
        "status": sale.status,
        "sold_at": iso_utc(sale.sold_at),
        "total": money(sale.total),
        "refunded_total": money(sale.refunded_total),
        "net_total": money(Decimal(sale.total) - Decimal(sale.refunded_total)),
        "units": sum(line.quantity for line in lines),
        "lines": [
            {
                "product": line.product_id,
                "sku": line.sku,
                "product_name": line.product_name,
                "quantity": line.quantity,
                "line_total": money(line.line_total),
            }
            for line in lines
        ],
    }


def money(amount: Any) -> str:
    return str(Decimal(amount).quantize(CENT))


def stock_crossings(*, old_quantity: int, new_quantity: int, low_stock_threshold: int, reason: str) -> list[str]:
    """Return the stock events a change fires: `stock.low` on crossing to or below the threshold, `stock.out` at 0.

    A threshold change (reason "threshold") keeps the quantity and is only reported by the
    inventory when it flips the product's lowness, so there "was low" is the opposite of "is low".
    """
    is_low = new_quantity <= low_stock_threshold
    was_low = (not is_low) if reason == "threshold" else old_quantity <= low_stock_threshold
    events = []
    if is_low and not was_low:
        events.append(STOCK_LOW)
    if new_quantity == 0 and old_quantity > 0:
        events.append(STOCK_OUT)
    return events


def stock_events(changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Turn queued stock crossings into events, naming each product (one query for the whole round)."""
    if not changes:
        return []
    names = {
        row["id"]: row
        for row in Product.objects.filter(pk__in={change["product"] for change in changes}).values("id", "sku", "name")
    }
    events = []
    for change in changes:
        product = names.get(change["product"], {})
        data = {
            "product": change["product"],
            "sku": product.get("sku", ""),
            "product_name": product.get("name", ""),
            "quantity": change["quantity"],
            "previous_quantity": change["previous_quantity"],
            "low_stock_threshold": change["low_stock_threshold"],
        }
        events.extend({"type": kind, "data": data} for kind in change["events"])
    return events
