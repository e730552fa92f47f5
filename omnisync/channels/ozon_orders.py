"""Ozon FBS postings as orders (channels.md §4.4): ``POST /v4/posting/fbs/list`` with a cursor,
at most 100 a page. A posting is our order: ``posting_number`` its id.

The list holds FBS and rFBS postings alike; ``tpl_integration_type`` tells them apart — ``ozon``
is "delivered by Ozon" (FBS); ``3pl_tracking``, ``non_integrated``, ``aggregator`` and ``hybryd``
are other delivery services (rFBS, the seller's delivery) — docs.ozon.ru/api/seller/
#operation/PostingAPI_GetFbsPostingListV4, ``postings[].tpl_integration_type``. The order's
``delivery_mode`` keeps it: ``fbs`` or ``rfbs`` (``orders ship`` sets a tracking number on rFBS
only)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from omnisync.errors import ChannelUnavailable
from omnisync.orders.model import (
    Order,
    OrderLine,
    Unreadable,
    count,
    ident,
    moment,
    money,
    parse_each,
)

LIST = "/v4/posting/fbs/list"
PAGE = 100
STATUS = {  # Ozon posting status → ours
    "awaiting_registration": "new", "acceptance_in_progress": "new", "awaiting_approve": "new",
    "awaiting_packaging": "new", "awaiting_deliver": "accepted", "sent_by_seller": "shipped",
    "driver_pickup": "shipped", "delivering": "shipped", "delivered": "delivered",
    "cancelled": "cancelled", "not_accepted": "cancelled",
}  # fmt: skip


def pages(
    channel: Any, api: Any, since: datetime, until: datetime
) -> Iterator[list[Order | Unreadable]]:
    body: dict[str, Any] = {"filter": {"since": _iso(since), "to": _iso(until)}, "limit": PAGE}
    seen: set[str] = set()
    while True:
        answer = api.json("POST", LIST, json=body)
        postings = answer.get("postings") if isinstance(answer, Mapping) else None
        if not isinstance(postings, list):
            raise ChannelUnavailable(channel.name, "the posting list has no postings")
        yield parse_each(channel, postings, _order)
        if not answer.get("has_next") or not answer.get("cursor"):
            return
        body = {"cursor": _next(channel, answer["cursor"], seen), "limit": PAGE}


def _next(channel: Any, cursor: Any, seen: set[str]) -> str:
    """The cursor of the next page; one seen before would read the same pages forever."""
    if not isinstance(cursor, str) or cursor in seen:
        raise ChannelUnavailable(channel.name, "the posting list's cursor does not move on")
    seen.add(cursor)
    return cursor


def _order(channel: Any, posting: Mapping[str, Any]) -> Order:
    created = moment(posting.get("in_process_at"))
    warehouses = {str(wid): loc for loc, wid in channel.config.warehouses.items()}
    warehouse = str((posting.get("delivery_method") or {}).get("warehouse_id", ""))
    lines = tuple(
        OrderLine(
            str(p.get("offer_id")),
            count(p.get("quantity") or 0),
            money(p.get("price")),
            str(p.get("sku") or ""),
        )  # Ozon's product id, which ship calls need
        for p in posting.get("products") or []
    )
    return Order(
        channel=channel.name, account=channel.account,
        external_id=ident(posting.get("posting_number")), code=str(posting.get("order_number")),
        status=STATUS.get(str(posting.get("status")), "new"),
        channel_status=str(posting.get("status")), created_at=created, updated_at=created,
        lines=lines, delivery_mode=_delivery_mode(posting),
        location=warehouses.get(warehouse, next(iter(channel.config.warehouses))),
        total=sum((line.unit_price * line.quantity for line in lines), Decimal(0)),
    )  # fmt: skip


def _delivery_mode(posting: Mapping[str, Any]) -> str:
    """``fbs`` when Ozon delivers; a posting that does not say is taken as FBS, the scheme the
    list is named after."""
    integration = posting.get("tpl_integration_type") or "ozon"
    return "fbs" if integration == "ozon" else "rfbs"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
