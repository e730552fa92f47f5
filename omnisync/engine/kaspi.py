"""Kaspi's XML price list as columns: each plain row's ``<offer>``, byte for byte what
``channels/kaspi.py`` writes through ``KaspiWriter`` (``XmlDocument.element``), and the mask
of the rows plain for it (``kaspi._checks`` and the mapping's warnings, each made
impossible). A product with city prices goes through the per-item mapping: its prices, and
the stores whose city it has none for, are read there (channels.md §2.1).
"""

from __future__ import annotations

from omnisync.channels import limits
from omnisync.channels.kaspi import CURRENCY, Kaspi
from omnisync.channels.writers import escape_attr
from omnisync.engine import pl
from omnisync.engine.items import Items
from omnisync.engine.products import Cells, on_hand, on_sale
from omnisync.engine.xml import escaped

USED = ("sku", "title", "brand", "price", "sale_price", "currency", "quantity")
DEPTH = 2  # kaspi_catalog > offers > offer


def eligible(channel: object) -> bool:
    """A Kaspi price list with no rules."""
    return isinstance(channel, Kaspi) and not channel.config.rules.model_dump(exclude_defaults=True)


class KaspiItems(Items):
    channel: Kaspi

    def __init__(self, channel: Kaspi, cells: Cells) -> None:
        super().__init__(channel, cells)
        self.indent = ["\n" + "  " * depth for depth in range(DEPTH + 3)]

    def item(self) -> pl.Expr:
        c, at = self.cells, self.indent
        brand = c("brand")
        return pl.concat_str(
            [
                pl.lit(f'{at[DEPTH]}<offer sku="'),
                c("sku"),
                pl.lit(f'">{at[DEPTH + 1]}<model>'),
                escaped(c("title")),
                pl.lit("</model>"),
                pl.when(brand != "").then(
                    pl.concat_str(
                        pl.lit(f"{at[DEPTH + 1]}<brand>"), escaped(brand), pl.lit("</brand>")
                    )
                ),
                pl.lit(f"{at[DEPTH + 1]}<availabilities>"),
                *(
                    self._store(location, store)
                    for location, store in self.channel.config.stores.items()
                ),
                pl.lit(f"{at[DEPTH + 1]}</availabilities>{at[DEPTH + 1]}<price>"),
                _whole(pl.when(on_sale(c)).then(c("sale_price")).otherwise(c("price"))),
                pl.lit(f"</price>{at[DEPTH]}</offer>"),
            ],
            ignore_nulls=True,
        )

    def _store(self, location: str, store: str) -> pl.Expr:
        """``Kaspi._availability``: the store's units when the catalogue has stock per
        location, else whether the channel's total is not 0."""
        c = self.cells
        if c.stock is not None:
            units = c.stock.at(location)
            yes, count = (
                units > 0,
                pl.concat_str(pl.lit(' stockCount="'), units.cast(pl.String), pl.lit('"')),
            )
        else:
            total = on_hand(c, self.channel.locations)
            yes, count = total.is_null() | (total != 0), pl.lit("")
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
        selling = pl.when(on_sale(c)).then(c("sale_price")).otherwise(c("price"))
        city = self.cells.joined("city")
        return pl.all_horizontal(
            c("sku").str.len_chars() <= limits.KASPI_SKU_SAFE_MAX,
            ~c("title").str.contains("[<&\t\r\n]"),  # markup, and what one_line changes
            ~c("brand").str.contains("[\t\r\n]"),
            c("currency").is_in(["", CURRENCY]),
            selling.str.contains(r"^[0-9]+(?:\.0{1,2})?$"),  # whole tenge: nothing rounded
            city.not_(),
        )


def _whole(price: pl.Expr) -> pl.Expr:
    """A plain price in whole tenge (``kaspi.whole_tenge`` of one with no fraction)."""
    return price.str.extract(r"^([0-9]+)")
