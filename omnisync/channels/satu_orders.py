"""Satu/Prom orders (channels.md §3.2): ``GET /api/v1/orders/list``, newest first, paged by
``last_id`` (third-party, unconfirmed); we read back until orders are older than the window."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from omnisync.errors import ChannelUnavailable
from omnisync.orders.model import (
    Order,
    OrderLine,
    Unreadable,
    count,
    moment,
    money,
    parse_each,
)

LIST = "/api/v1/orders/list"
PAGE = 100
STATUS = {"pending": "new", "received": "accepted", "paid": "accepted", "delivered": "delivered",
          "canceled": "cancelled", "draft": "new"}  # fmt: skip
PICKUP = "Самовывоз"


def pages(
    channel: Any, api: Any, since: datetime, until: datetime
) -> Iterator[list[Order | Unreadable]]:
    params: dict[str, Any] = {"limit": PAGE}
    while True:
        answer = api.json("GET", LIST, params=params)
        found = answer.get("orders") if isinstance(answer, Mapping) else None
        if not isinstance(found, list):
            raise ChannelUnavailable(channel.name, "the order list has no orders")
        parsed = parse_each(channel, found, _order)
        orders = [o for o in parsed if isinstance(o, Order)]
        yield [o for o in parsed if not isinstance(o, Order) or since <= o.created_at <= until]
        if len(found) < PAGE or not orders or min(o.created_at for o in orders) < since:
            return
        params = {"limit": PAGE, "last_id": _last_id(channel, orders, params.get("last_id"))}


def _last_id(channel: Any, orders: list[Order], before: int | None) -> int:
    """Where the next page starts: below this page's lowest id. A page that did not go below
    the last one would be asked for again and again (the list is newest first)."""
    lowest = min(int(o.external_id) for o in orders)
    if before is not None and lowest >= before:
        raise ChannelUnavailable(channel.name, f"the order list does not go below id {before}")
    return lowest


def _order(channel: Any, raw: Mapping[str, Any]) -> Order:
    created = moment(raw.get("date_created"))
    lines = tuple(
        OrderLine(
            str(p.get("external_id") or p.get("sku")),
            count(p.get("quantity") or 0),
            money(p.get("price")),
        )
        for p in raw.get("products") or []
    )
    option = str((raw.get("delivery_option") or {}).get("name") or "")
    status = str(raw.get("status"))
    external = str(count(raw.get("id")))  # a number: the pages go by it (last_id)
    return Order(
        channel=channel.name, account=channel.account, external_id=external,
        code=external, status=STATUS.get(status, "new"), channel_status=status,
        created_at=created, updated_at=created, lines=lines, delivery_mode=option,
        location=channel.orders_location(), pickup=option == PICKUP,
        customer={"name": f"{raw.get('client_first_name') or ''} "
                          f"{raw.get('client_last_name') or ''}".strip()},
        total=sum((line.unit_price * line.quantity for line in lines), Decimal(0)),
    )  # fmt: skip


def set_status_verdicts(answer: Any) -> tuple[set[str], dict[str, str]]:
    """``POST /api/v1/orders/set_status`` answers 200 with per-order verdicts (§3.2):
    (ids processed, {id: error}). Any other shape is the channel's fault, typed as such."""
    processed = answer.get("processed_ids") if isinstance(answer, Mapping) else None
    errors = answer.get("errors") if isinstance(answer, Mapping) else None
    if not isinstance(processed or [], list) or not isinstance(errors or {}, Mapping):
        raise ChannelUnavailable("satu", f"set_status: unexpected answer {str(answer)[:200]}")
    return {str(i) for i in processed or []}, {str(k): str(v) for k, v in (errors or {}).items()}
