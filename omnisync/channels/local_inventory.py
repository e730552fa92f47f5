"""Google local inventory feed (channels.md §1.3): per store, the item's quantity, price and
availability, for local inventory ads and free local listings. TSV, one row per item and store.

``id`` must match the primary feed's ``id``; ``store_code`` is the Business Profile store code
mapped from our location codes. Only mapped locations appear.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO, Literal

from pydantic import Field

from omnisync.channels import limits
from omnisync.channels.base import Channel, ChannelConfig, FeedWriter, Record
from omnisync.channels.writers import DelimitedWriter, SingleFileFeed, count_rows
from omnisync.models import Problem, Product
from omnisync.text import money

COLUMNS = ("store_code", "id", "quantity", "price", "availability", "pickup_method",
           "pickup_sla")  # fmt: skip
ID_MAX = 50  # must match the primary feed id [GMC 7677785]

PickupMethod = Literal["buy", "reserve", "ship to store", "not supported"]
PickupSla = Literal[
    "same day", "next day", "2-day", "3-day", "4-day", "5-day", "6-day", "multi-week"
]  # fmt: skip
assert set(PickupMethod.__args__) == set(limits.LOCAL_PICKUP_METHODS)  # type: ignore[attr-defined]


class LocalInventoryConfig(ChannelConfig):
    type: Literal["google_local_inventory"]
    # Our location code → Google Business Profile store code.
    stores: dict[str, str] = Field(min_length=1)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    # For stores whose locations.csv row says pickup: yes; others say "not supported".
    pickup_method: PickupMethod = "buy"
    pickup_sla: PickupSla = "same day"


class GoogleLocalInventory(Channel, SingleFileFeed):
    config_model = LocalInventoryConfig
    config: LocalInventoryConfig
    label = "Google"
    suffix = "tsv"

    def to_record(self, product: Product) -> Record:
        record = self.new_record(product)
        price = money(
            product.sale_price or product.price, product.currency or self.config.currency or ""
        )
        record.fields["rows"] = [
            self._row(product, record.key, price, location, store)
            for location, store in self.config.stores.items()
        ]
        record.fields["currency"] = product.currency or self.config.currency or ""
        record.fields["amount"] = product.sale_price or product.price
        return record

    def _row(self, product: Product, key: str, price: str, location: str, store: str) -> list[str]:
        units = self.units_at(product, location)
        if units is None:  # no per-location stock: availability follows the channel's total
            total = self.units(product)
            in_stock = total is None or total > 0
        else:
            in_stock = units > 0
        pickup = self.context.locations.get(location)
        method, sla = (
            (self.config.pickup_method, self.config.pickup_sla)
            if pickup is not None and pickup.pickup
            else ("not supported", "")
        )
        quantity = "" if units is None else str(units)
        availability = "in_stock" if in_stock else "out_of_stock"
        return [store, key, quantity, price, availability, method, sla]

    def validate(self, record: Record) -> list[Problem]:
        found = []
        if not 1 <= len(record.key) <= ID_MAX:
            found.append(
                self.problem(
                    record,
                    "id",
                    "id_length",
                    f"id must be 1 to {ID_MAX} characters to match the primary feed",
                )
            )
        if len(record.fields["currency"]) != 3:
            found.append(
                self.problem(
                    record,
                    "price",
                    "currency_invalid",
                    "no currency: set it per row or on the channel",
                )
            )
        return found

    def open_stream(self, output: str, stream: BinaryIO) -> FeedWriter:
        return DelimitedWriter(output, stream, COLUMNS, lambda r: r.fields["rows"], "\t")

    def count_items(self, output: str, path: Path) -> int:
        return count_rows(path, "\t")
