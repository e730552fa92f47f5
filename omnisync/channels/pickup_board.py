"""Click and collect: per store, the open orders buyers will collect there, as JSON and a
self-contained HTML page for staff (written by ``build`` from the central store's orders)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, Literal
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined
from pydantic import Field

from omnisync.channels.base import ChannelConfig, FeedWriter, Record
from omnisync.channels.store_display import (
    DEFAULT_TIMEZONE,
    PerStoreFiles,
    TimeZone,
    output_names,
)
from omnisync.channels.words import local_time, plural
from omnisync.models import Location, Problem, Product
from omnisync.store.order_views import pickup_board


class PickupBoardConfig(ChannelConfig):
    type: Literal["pickup_board"]
    stores: list[str] | None = Field(default=None, min_length=1)  # default: every store
    allow_empty: bool = True  # no pickup orders is a normal board
    timezone: TimeZone = DEFAULT_TIMEZONE  # the clock order times are written on


class PickupBoard(PerStoreFiles):
    config_model = PickupBoardConfig
    config: PickupBoardConfig
    consumes_products = False  # its rows are orders, not catalogue items

    def to_record(self, product: Product) -> Record:
        return self.new_record(product)

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

    def count_items(self, output: str, path: Path) -> int:
        try:
            return len(json.loads(path.with_suffix(".json").read_text("utf-8"))["orders"])
        except (OSError, ValueError, KeyError, TypeError):
            return 0


class BoardWriter:
    """Writes every store's board when the run ends (orders come from the store)."""

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
        env = Environment(
            loader=PackageLoader("omnisync", "templates/pickup_board"),
            autoescape=True,
            undefined=StrictUndefined,
        )
        env.globals["plural"] = plural
        self.template = env.get_template("board.html.j2")

    def __enter__(self) -> BoardWriter:
        return self

    def write(self, record: Record) -> None:
        return  # the board lists orders, not products

    def __exit__(self, *exc: object) -> None:
        if exc[0] is not None:
            return
        for store in self.stores:
            orders = [_view(o) for o in pickup_board(self.state, store.code)] if self.state else []
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
