"""Google's local inventory feed as columns: each plain row's lines in the TSV, one per mapped
store, byte for byte what ``channels/local_inventory.py`` writes through ``DelimitedWriter``,
and the mask of the rows plain for it: those the primary feed takes as plain (the local feed
leaves out what the primary would reject, channels.md §1.3), so the primary's mask is this
feed's.
"""

from __future__ import annotations

import json

from omnisync.channels.local_inventory import GoogleLocalInventory
from omnisync.engine import delimited, google, pl
from omnisync.engine.items import Items, PushRows
from omnisync.engine.products import Cells, cents, currency, in_stock, money, on_sale, selling


class LocalItems(Items):
    """The channel's lines and plain mask over a batch of the products file."""

    channel: GoogleLocalInventory
    kind = GoogleLocalInventory
    used = google.USED  # the primary feed's checks read all of them

    def __init__(self, channel: GoogleLocalInventory, cells: Cells) -> None:
        super().__init__(channel, cells)
        self.rows = len(channel.config.stores)  # lines a product writes

    def item(self) -> pl.Expr:
        """A line per store, in the order ``stores`` maps them."""
        return pl.concat_str(
            [self._line(location, store) for location, store in self.channel.config.stores.items()]
        )

    def _line(self, location: str, store: str) -> pl.Expr:
        """``GoogleLocalInventory._row``: the store's units when the catalogue has stock per
        location, else none, and availability from the channel's total."""
        c, config = self.cells, self.channel.config
        priced_in = currency(c, config.currency)
        if c.stock is not None:
            units = c.units_at(location)
            quantity, available = units.cast(pl.String), units > 0
        else:
            quantity, available = pl.lit(""), in_stock(c, self.channel.locations)
        where = self.channel.context.locations.get(location)
        pickup = where is not None and where.pickup
        method, sla = (config.pickup_method, config.pickup_sla) if pickup else ("not supported", "")
        cells = [
            pl.lit(store),
            c("sku"),
            quantity,
            money(c("price"), priced_in),
            pl.when(on_sale(c)).then(money(c("sale_price"), priced_in)).otherwise(pl.lit("")),
            pl.when(available).then(pl.lit("in_stock")).otherwise(pl.lit("out_of_stock")),
            pl.lit(method),
            pl.lit(sla),
        ]
        return delimited.line(cells, "\t")

    def plain(self) -> pl.Expr:
        return google.GoogleItems(self.channel.primary, self.source).shown_plain()


class LocalPushRows(PushRows):
    """The Merchant API's local inventory items (``LocalInventoryPushes.push_items``): one
    ``local`` item per mapped store, each payload the canonical JSON of its attributes. A row
    is plain when the feed's checks pass (the lane checks the product as the feed does) and
    its currency is a three-letter code (written into the JSON as it is)."""

    channel: GoogleLocalInventory
    kind = GoogleLocalInventory
    used = google.USED

    def plain(self) -> pl.Expr:
        c = self.cells
        priced_in = currency(c, self.channel.config.currency)
        feed = LocalItems(self.channel, self.source).shown_plain()
        return feed & priced_in.str.contains("^[A-Z]{3}$") & (cents(c("price")) < 10**15)

    def items(self) -> list[tuple[str, pl.Expr, pl.Expr]]:
        sku = self.cells("sku")
        return [
            ("local", pl.concat_str([sku, pl.lit(f"@{store}")]), self._payload(location, store))
            for location, store in self.channel.config.stores.items()
        ]

    def _payload(self, location: str, store: str) -> pl.Expr:
        c, channel = self.cells, self.channel
        priced_in = currency(c, channel.config.currency)
        if c.stock is not None:
            units = c.units_at(location)
            available, quantity = (
                units > 0,
                pl.concat_str(pl.lit(',"quantity":"'), units.cast(pl.String), pl.lit('"')),
            )
        else:
            available, quantity = in_stock(c, channel.locations), pl.lit("")
        pickup = "".join(
            f",{json.dumps(k)}:{json.dumps(v, ensure_ascii=False)}"
            for k, v in sorted(channel.pickup_attributes(location).items())
        )
        sale = pl.when(on_sale(c)).then(
            pl.concat_str(pl.lit(',"salePrice":'), google.api_money(selling(c), priced_in))
        )
        return pl.concat_str(
            [
                pl.lit('{"localInventoryAttributes":{"availability":"'),
                pl.when(available).then(pl.lit("IN_STOCK")).otherwise(pl.lit("OUT_OF_STOCK")),
                pl.lit(f'"{pickup},"price":'),
                google.api_money(c("price"), priced_in),
                quantity,
                sale,
                pl.lit(f'}},"storeCode":{json.dumps(store, ensure_ascii=False)}}}'),
            ],
            ignore_nulls=True,
        )
