"""Kaspi's XML price list as columns: each plain row's ``<offer>``, byte for byte what
``channels/kaspi.py`` writes through ``KaspiWriter`` (``XmlDocument.element``), and the mask
of the rows plain for it (``kaspi._checks`` and the mapping's warnings, each made
impossible). A product's city prices come joined from ``city_prices.csv`` (``engine.sides``);
it is plain when each is in whole tenge for a known city, and every store that sells it is in
a city it has a price for (channels.md §2.1), else the per-item mapping says what is wrong.
"""

from __future__ import annotations

from omnisync.channels import limits
from omnisync.channels.kaspi import CURRENCY, Kaspi
from omnisync.channels.writers import escape_attr
from omnisync.engine import pl
from omnisync.engine.items import Items
from omnisync.engine.products import Cells, on_hand, selling
from omnisync.engine.xml import leaf

USED = ("sku", "title", "brand", "price", "sale_price", "currency", "quantity")
DEPTH = 2  # kaspi_catalog > offers > offer


class KaspiItems(Items):
    channel: Kaspi
    kind, used = Kaspi, USED

    @classmethod
    def takes(cls, channel: object) -> bool:
        """A price rule changes the city prices too, which come joined as text: per item."""
        return super().takes(channel) and channel.config.rules.price is None  # type: ignore[attr-defined]

    def __init__(self, channel: Kaspi, cells: Cells) -> None:
        super().__init__(channel, cells)
        self.indent = ["\n" + "  " * depth for depth in range(DEPTH + 3)]

    def item(self) -> pl.Expr:
        c, at = self.cells, self.indent
        return pl.concat_str(
            [
                pl.lit(f'{at[DEPTH]}<offer sku="'),
                c("sku"),
                pl.lit('">'),
                leaf("model", c("title"), DEPTH + 1),
                leaf("brand", c("brand"), DEPTH + 1),
                pl.lit(f"{at[DEPTH + 1]}<availabilities>"),
                *(
                    self._store(location, store)
                    for location, store in self.channel.config.stores.items()
                ),
                pl.lit(f"{at[DEPTH + 1]}</availabilities>"),
                self._prices(),
                pl.lit(f"{at[DEPTH]}</offer>"),
            ],
            ignore_nulls=True,
        )

    def _prices(self) -> pl.Expr:
        """One ``<price>``, or the ``<cityprices>`` of a product with city prices."""
        c, at = self.cells, self.indent
        price = leaf("price", _whole(selling(c)), DEPTH + 1)
        if "city" not in c.sides:
            return price
        city = pl.element().struct.field("city")
        each = pl.concat_str(
            pl.lit(f'{at[DEPTH + 2]}<cityprice cityId="'),
            city,  # digits (sidefiles.CityPriceIndex): nothing to escape
            pl.lit('">'),
            pl.element().struct.field("amount"),
            pl.lit("</cityprice>"),
        )
        cities = pl.concat_str(
            pl.lit(f"{at[DEPTH + 1]}<cityprices>"),
            pl.col("city_prices").list.eval(each).list.join(""),
            pl.lit(f"{at[DEPTH + 1]}</cityprices>"),
        )
        return pl.when(c.joined("city")).then(cities).otherwise(price)

    def _available(self, location: str) -> tuple[pl.Expr, pl.Expr]:
        """Whether the store sells the product, and its ``stockCount`` attribute: the store's
        units when the catalogue has stock per location, else the channel's total is not 0
        (``Kaspi._availability``)."""
        c = self.cells
        if c.stock is not None:
            units = c.units_at(location)
            count = pl.concat_str(pl.lit(' stockCount="'), units.cast(pl.String), pl.lit('"'))
            return units > 0, count
        total = on_hand(c, self.channel.locations)
        return total.is_null() | (total != 0), pl.lit("")

    def _store(self, location: str, store: str) -> pl.Expr:
        yes, count = self._available(location)
        pre_order = self.channel.config.pre_order
        later = pl.lit(f' preOrder="{pre_order}"' if pre_order is not None else "")
        return pl.concat_str(
            pl.lit(f'{self.indent[DEPTH + 2]}<availability available="'),
            pl.when(yes).then(pl.lit("yes")).otherwise(pl.lit("no")),
            pl.lit(f'" storeId="{escape_attr(store)}"'),
            count,
            pl.when(yes).then(later).otherwise(pl.lit("")),
            pl.lit("></availability>"),
        )

    def plain(self) -> pl.Expr:
        c = self.cells
        whole = selling(c).str.contains(r"^[0-9]+(?:\.0{1,2})?$")  # nothing rounded
        return pl.all_horizontal(
            c("sku").str.len_chars() <= limits.KASPI_SKU_SAFE_MAX,
            ~c("title").str.contains("[<&\t\r\n]"),  # markup, and what one_line changes
            ~c("brand").str.contains("[\t\r\n]"),
            c("currency").is_in(["", CURRENCY]),
            pl.when(c.joined("city")).then(self._cities_plain()).otherwise(whole),
        )

    def _cities_plain(self) -> pl.Expr:
        """City prices the mapping takes as they are: whole tenge, known cities, and a price
        for the city of every store that sells the product (``_note_unpriced_stores``)."""
        if "city" not in self.cells.sides:
            return pl.lit(True)
        prices = pl.col("city_prices")
        amounts = prices.list.eval(
            pl.element().struct.field("amount").str.contains("^[1-9][0-9]*$")
        )
        known = sorted(limits.KASPI_CITIES)
        cities = prices.list.eval(pl.element().struct.field("city").is_in(known))
        checks = [amounts.list.all(), cities.list.all()]
        for location in self.channel.config.stores:
            if location not in self.channel.context.locations:
                continue  # a channel used on its own: where its stores are is not known
            city = self.channel.city_of(location)
            yes, _ = self._available(location)
            priced = (
                pl.lit(False)
                if city is None
                else prices.list.eval(pl.element().struct.field("city") == city).list.any()
            )
            checks.append(~yes | priced)
        return pl.all_horizontal(checks)


def _whole(price: pl.Expr) -> pl.Expr:
    """A plain price in whole tenge (``kaspi.whole_tenge`` of one with no fraction)."""
    return price.str.extract(r"^([0-9]+)")
