"""Satu/Prom orders (channels.md §3.2): ``GET /api/v1/orders/list``, newest first, paged by
``last_id`` (third-party, unconfirmed); we read back until orders are older than the window."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from omnisync.errors import ChannelUnavailable
from omnisync.orders.model import Order, OrderLine, Unreadable, moment, money, parse_each

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
        params = {"limit": PAGE, "last_id": min(int(o.external_id) for o in orders)}


def _order(channel: Any, raw: Mapping[str, Any]) -> Order:
    created = moment(raw.get("date_created"))
    lines = tuple(
        OrderLine(
            str(p.get("external_id") or p.get("sku")),
            int(p.get("quantity") or 0),
            money(p.get("price")),
        )
        for p in raw.get("products") or []
    )
    option = str((raw.get("delivery_option") or {}).get("name") or "")
    status = str(raw.get("status"))
    return Order(
        channel=channel.name, account=channel.account, external_id=str(raw.get("id")),
        code=str(raw.get("id")), status=STATUS.get(status, "new"), channel_status=status,
        created_at=created, updated_at=created, lines=lines, delivery_mode=option,
        location=channel.orders_location(), pickup=option == PICKUP,
        customer={"name": f"{raw.get('client_first_name') or ''} "
                          f"{raw.get('client_last_name') or ''}".strip()},
        total=sum((line.unit_price * line.quantity for line in lines), Decimal(0)),
    )  # fmt: skip
