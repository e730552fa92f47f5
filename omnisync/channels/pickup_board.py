"""Click and collect: per store, the open orders buyers will collect there, as JSON and a
self-contained HTML page for staff (written by ``build`` from the central store's orders): each
line by its product's name from the catalogue, each status in the clerk's words, times on the
store's clock (``timezone``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, Literal
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined
from pydantic import Field

from omnisync.channels.base import ChannelConfig, Record
from omnisync.channels.capabilities import FeedWriter
from omnisync.channels.store_display import (
    DEFAULT_TIMEZONE,
    PerStoreFiles,
    TimeZone,
    output_names,
)
from omnisync.channels.words import local_time, plural
from omnisync.models import Location, Problem, Product
from omnisync.store.order_views import pickup_board

# Each order status (orders/model.py STATUSES) as a clerk at the pickup desk reads it: ``new``
# is placed but not yet accepted, ``accepted`` is being put together, ``shipped`` (for a pickup
# order: handed to the store) waits for the buyer, ``delivered`` was collected.
STATUS_WORDS = {
    "new": "Новый",
    "accepted": "Собирается",
    "shipped": "Готов к выдаче",
    "delivered": "Выдан",
    "cancelled": "Отменён",
}


class PickupBoardConfig(ChannelConfig):
    type: Literal["pickup_board"]
    stores: list[str] | None = Field(default=None, min_length=1)  # default: every store
    allow_empty: bool = True  # no pickup orders is a normal board
    timezone: TimeZone = DEFAULT_TIMEZONE  # the clock order times are written on


class PickupBoard(PerStoreFiles):
    config_model = PickupBoardConfig
    config: PickupBoardConfig
    # Its rows are orders; it reads the catalogue only to name the products a clerk collects
    # (order lines hold SKUs, and the channels' own names are not stored). So a run counts
    # the orders it lists as its items, not the products (``listed``).
    lists_products = False

    def to_record(self, product: Product) -> Record:
        record = self.new_record(product)
        record.fields = {"sku": product.sku, "title": self.title(record, product)}
        return record

    def validate(self, record: Record) -> list[Problem]:
        return []

    def open_writer(self, streams: Mapping[str, BinaryIO]) -> FeedWriter:
        stores = [self.context.locations[code] for code in self.store_codes()]
        return BoardWriter(
            self.name,
            stores,
            streams,
            self.context.state,
            self.context.now,
            ZoneInfo(self.config.timezone),
        )

    def listed(self, counts: Mapping[str, int]) -> int:
        """The orders on every store's board (each is in its store's JSON and again on its
        page: counted once, by the JSON)."""
        boards = (output_names(self.name, code)[0] for code in self.store_codes())
        return sum(counts.get(board, 0) for board in boards)

    def count_items(self, output: str, path: Path) -> int:
        try:
            return len(json.loads(path.with_suffix(".json").read_text("utf-8"))["orders"])
        except (OSError, ValueError, KeyError, TypeError):
            return 0


class BoardWriter:
    """Writes every store's board when the run ends. The orders are read from the store first,
    so that only their products' names are kept from the catalogue streaming past."""

    def __init__(
        self,
        channel: str,
        stores: list[Location],
        streams: Mapping[str, BinaryIO],
        state: Path | None,
        now: datetime,
        zone: ZoneInfo,
    ) -> None:
        self.channel, self.stores, self.streams = channel, stores, streams
        self.state, self.zone = state, zone
        self.generated_at = now.astimezone(zone).isoformat(timespec="minutes")
        self.updated = local_time(now, zone)
        self.written: dict[str, int] = {}
        self.boards: dict[str, list[dict[str, Any]]] = {}
        self.titles: dict[str, str | None] = {}  # SKU on an order line → catalogue title
        env = Environment(
            loader=PackageLoader("omnisync", "templates/pickup_board"),
            autoescape=True,
            undefined=StrictUndefined,
        )
        env.globals["plural"] = plural
        self.template = env.get_template("board.html.j2")

    def __enter__(self) -> BoardWriter:
        for store in self.stores:
            found = pickup_board(self.state, store.code) if self.state else []
            self.boards[store.code] = [_view(o) for o in found]
        self.titles = {  # a line the catalogue did not know at pull time has no SKU
            line["sku"]: None
            for orders in self.boards.values()
            for order in orders
            for line in order["lines"]
            if line["sku"]
        }
        return self

    def write(self, record: Record) -> None:
        sku = record.fields["sku"]
        if sku in self.titles and self.titles[sku] is None:
            self.titles[sku] = record.fields["title"]

    def __exit__(self, *exc: object) -> None:
        if exc[0] is not None:
            return
        for store in self.stores:
            orders = [self._named(o) for o in self.boards[store.code]]
            json_name, html_name = output_names(self.channel, store.code)
            body = {"store": store.code, "timezone": self.zone.key,
                    "generated_at": self.generated_at, "orders": orders}  # fmt: skip
            self.streams[json_name].write(json.dumps(body, ensure_ascii=False, indent=1).encode())
            shown = [self._html_view(o) for o in orders]
            html = self.template.render(store=store, orders=shown, updated=self.updated)
            self.streams[html_name].write(html.encode())
            self.written[json_name] = self.written[html_name] = len(orders)

    def counts(self) -> Mapping[str, int]:
        return self.written

    def _named(self, order: dict[str, Any]) -> dict[str, Any]:
        """The order with its status in words and each line's product name (None: the SKU is
        not in the catalogue)."""
        lines = [{**line, "title": self.titles.get(line["sku"])} for line in order["lines"]]
        status = STATUS_WORDS.get(order["status"], order["status"])
        return {**order, "status_text": status, "lines": lines}

    def _html_view(self, order: dict[str, Any]) -> dict[str, Any]:
        """An order as the clerk reads it: the time it was placed on the store's clock."""
        placed = datetime.fromisoformat(order["created_at"])
        return {**order, "placed": local_time(placed, self.zone, offset=False)}


def _view(order: dict[str, Any]) -> dict[str, Any]:
    customer = (
        json.loads(order.get("customer") or "{}")
        if isinstance(order.get("customer"), str)
        else order.get("customer") or {}
    )
    return {
        "code": order["code"],
        "channel": order["channel"],
        "status": order["status"],
        "created_at": order["created_at"],
        "customer": customer.get("name", ""),
        "lines": order["lines"],
    }
