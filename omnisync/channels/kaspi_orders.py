"""Kaspi Shop API orders (channels.md §2.2): ``GET /orders`` per state, ``creationDate`` windows
of at most 14 days (ms epoch), pages of at most 100 from 0, entries included. Kaspi reports no
change time, so an order's ``updated_at`` is its newest known date and the status rank breaks
ties (store.orders)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from omnisync.errors import ChannelUnavailable
from omnisync.orders.model import (
    Order,
    OrderLine,
    Unreadable,
    amount,
    count,
    ident,
    moment,
    parse_each,
)

STATES = ("NEW", "SIGN_REQUIRED", "PICKUP", "DELIVERY", "KASPI_DELIVERY", "ARCHIVE")
WINDOW = timedelta(days=14)  # the documented maximum
PAGE = 100
# CANCELLING stays open: the cancellation may still be refused, and the units must hold.
STATUS = {"APPROVED_BY_BANK": "new", "ACCEPTED_BY_MERCHANT": "accepted",
          "COMPLETED": "delivered", "CANCELLED": "cancelled", "CANCELLING": "accepted",
          "RETURNED": "cancelled"}  # fmt: skip


def windows(since: datetime, until: datetime) -> Iterator[tuple[int, int]]:
    """[since, until] as consecutive windows of at most 14 days, in ms epoch."""
    start = since
    while start < until:
        end = min(start + WINDOW, until)
        yield _ms(start), _ms(end)
        start = end


def pages(
    channel: Any, api: Any, since: datetime, until: datetime
) -> Iterator[list[Order | Unreadable]]:
    for state in STATES:
        for start, end in windows(since, until):
            yield from _pages(channel, api, state, start, end)


def _pages(
    channel: Any, api: Any, state: str, start: int, end: int
) -> Iterator[list[Order | Unreadable]]:
    number = 0
    while True:
        params = {
            "page[number]": number,
            "page[size]": PAGE,
            "filter[orders][state]": state,
            "filter[orders][creationDate][$ge]": start,
            "filter[orders][creationDate][$le]": end,
            "include[orders]": "entries",
        }
        answer = api.json("GET", "/orders", params=params)
        if not isinstance(answer, Mapping) or not isinstance(answer.get("data"), list):
            raise ChannelUnavailable(channel.name, "the order list has no data")
        data, entries = answer["data"], _entries(channel, answer)
        yield parse_each(channel, data, partial(_order, entries=entries))
        number += 1
        # A short page is the last one whatever pageCount claims, so a wrong count cannot
        # keep the pull asking for empty pages.
        if len(data) < PAGE or number >= _page_count(answer):
            return


def _entries(channel: Any, answer: Mapping[str, Any]) -> dict[str | int, Mapping[str, Any]]:
    """The included order entries (JSON:API ``included``) by id."""
    included = answer.get("included") or []
    if not isinstance(included, list):
        raise ChannelUnavailable(channel.name, "the order list's included is not a list")
    return {e["id"]: e for e in included if isinstance(e, Mapping) and _is_id(e.get("id"))}


def _page_count(answer: Mapping[str, Any]) -> int:
    meta = answer.get("meta")
    pages = meta.get("pageCount") if isinstance(meta, Mapping) else None
    return pages if isinstance(pages, int) else 0


def _is_id(value: Any) -> bool:
    return isinstance(value, str | int) and not isinstance(value, bool)


def _order(channel: Any, resource: Mapping[str, Any], *, entries: Mapping[Any, Any]) -> Order:
    attributes = resource.get("attributes") or {}
    related = ((resource.get("relationships") or {}).get("entries") or {}).get("data") or []
    items = [
        entries[ref.get("id")].get("attributes") or {}
        for ref in related
        if ref.get("id") in entries
    ]
    lines = tuple(OrderLine(str((item.get("offer") or {}).get("code")),
                            count(item.get("quantity") or 0), amount(item.get("basePrice", 0)))
                  for item in items)  # fmt: skip
    point = next(
        (
            str((item.get("deliveryPointOfService") or {}).get("displayName"))
            for item in items
            if item.get("deliveryPointOfService")
        ),
        None,
    )
    stores = {store: loc for loc, store in channel.config.stores.items()}
    created = moment(attributes.get("creationDate"))
    dates = [attributes.get(k) for k in ("creationDate", "approvedByBankDate")]
    status = str(attributes.get("status"))
    return Order(
        channel=channel.name, account=channel.account, external_id=ident(resource.get("id")),
        code=ident(attributes.get("code")), status=STATUS.get(status, "new"),
        channel_status=status, created_at=created,
        updated_at=max(moment(d) for d in dates if d),
        lines=lines, delivery_mode=str(attributes.get("deliveryMode") or ""),
        location=stores.get(point or "", next(iter(channel.config.stores))),
        pickup=attributes.get("deliveryMode") == "DELIVERY_PICKUP",
        customer={"name": str((attributes.get("customer") or {}).get("name") or "")},
        total=amount(attributes.get("totalPrice") or 0),
    )  # fmt: skip


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
