"""Google local inventory feed (channels.md §1.3): per store, the item's quantity, price and
availability, for local inventory ads and free local listings. TSV, one row per item and store.

``id`` must match an item of the primary feed, so an item the primary feed would reject (with
the same currency and rules) is left out here too: both feeds show the same assortment.
``store_code`` is the Business Profile store code mapped from our location codes; only mapped
locations appear.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO, Literal

from pydantic import Field

from omnisync.channels.base import ChannelContext, Record, StoreMapConfig
from omnisync.channels.capabilities import FeedWriter, PushSettings  # fmt: skip
from omnisync.channels.google import GoogleMerchant, GoogleMerchantConfig
from omnisync.channels.google.api import GoogleApiSettings
from omnisync.channels.google.pushes import LocalInventoryPushes
from omnisync.channels.writers import DelimitedWriter, SingleFileFeed, count_rows
from omnisync.models import Problem, Product, Severity
from omnisync.text import money

COLUMNS = ("store_code", "id", "quantity", "price", "sale_price", "availability",
           "pickup_method", "pickup_sla")  # fmt: skip

PickupMethod = Literal["buy", "reserve", "ship to store", "not supported"]  # [GMC 14634021]
PickupSla = Literal[  # [GMC 14154452]
    "same day", "next day", "2-day", "3-day", "4-day", "5-day", "6-day", "multi-week"
]  # fmt: skip


class LocalInventoryConfig(StoreMapConfig, PushSettings):
    """``stores``: our location code → Google Business Profile store code."""

    type: Literal["google_local_inventory"]
    api: GoogleApiSettings | None = (
        None  # Merchant API localInventories (the file is written anyway)
    )
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    # For stores whose locations.csv row says pickup: yes; others say "not supported".
    pickup_method: PickupMethod = "buy"
    pickup_sla: PickupSla = "same day"


class GoogleLocalInventory(LocalInventoryPushes, SingleFileFeed):
    config_model = LocalInventoryConfig
    config: LocalInventoryConfig
    label = "Google"
    suffix = "tsv"

    def __init__(
        self, name: str, config: LocalInventoryConfig, context: ChannelContext | None = None
    ) -> None:
        super().__init__(name, config, context)
        primary = GoogleMerchantConfig(
            type="google_merchant", currency=config.currency, rules=config.rules
        )
        self.primary = GoogleMerchant(name, primary, self.context)

    def to_record(self, product: Product) -> Record:
        record = self.new_record(product)
        currency = product.currency or self.config.currency or ""
        prices = (
            money(product.price, currency),
            money(product.selling_price, currency) if product.on_sale else "",
        )
        record.fields["rows"] = [
            self._row(product, record.key, prices, location, store)
            for location, store in self.config.stores.items()
        ]
        record.fields["primary"] = self.primary.to_record(product)
        return record

    def _row(
        self, product: Product, key: str, prices: tuple[str, str], location: str, store: str
    ) -> list[str]:
        units = self.units_at(product, location)
        if units is None:  # no per-location stock: availability follows the channel's total
            total = self.units(product)
            in_stock = total is None or total > 0
        else:
            in_stock = units > 0
        where = self.context.locations.get(location)
        method, sla = (
            (self.config.pickup_method, self.config.pickup_sla)
            if where is not None and where.pickup
            else ("not supported", "")
        )
        quantity = "" if units is None else str(units)
        availability = "in_stock" if in_stock else "out_of_stock"
        return [store, key, quantity, *prices, availability, method, sla]

    def unique_key(self, record: Record) -> str:
        return self.primary.unique_key(record)  # ids must match the primary feed's

    def validate(self, record: Record) -> list[Problem]:
        """The primary feed's errors, so no row points at an item Google does not have."""
        return [
            self.problem(
                record,
                p.field or "id",
                p.code,
                f"the primary feed would reject this item: {p.message}",
            )
            for p in self.primary.validate(record.fields["primary"])
            if p.severity is Severity.ERROR
        ]

    def open_stream(self, output: str, stream: BinaryIO) -> FeedWriter:
        return DelimitedWriter(output, stream, COLUMNS, lambda r: r.fields["rows"], "\t")

    def count_items(self, output: str, path: Path) -> int:
        return count_rows(path, "\t")
