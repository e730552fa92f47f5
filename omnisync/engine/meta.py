"""The Meta catalog CSV's rows as columns: each plain row's line, byte for byte what
``channels/meta.py`` writes for it through ``writers.DelimitedWriter``, and the mask of the rows
that are plain for this channel (no problem, no warning, nothing the per-item mapping would
change). Every other row goes through the per-item mapping.

Field reference: channels.md (Meta) and developers.facebook.com/docs/commerce-platform/catalog.
"""

from __future__ import annotations

from omnisync.channels import limits
from omnisync.channels.meta import COLUMNS, MetaCatalog
from omnisync.engine import delimited, pl
from omnisync.engine.items import Items
from omnisync.engine.products import (
    currency,
    gtin_normalized,
    image_type,
    in_stock,
    money,
    on_hand,
    on_sale,
    text_as_is,
)

USED = (
    "sku", "title", "description", "brand", "gtin", "price", "sale_price", "currency", "url",
    "image_url", "additional_image_urls", "condition", "item_group_id", "quantity",
)  # fmt: skip


class MetaItems(Items):
    """The channel's CSV row and plain mask over a batch of the products file."""

    channel: MetaCatalog
    kind, used = MetaCatalog, USED

    def fields(self) -> dict[str, pl.Expr]:
        c = self.cells
        priced_in = currency(self.cells, self.channel.config.currency)
        sale, price, counted = c("sale_price"), c("price"), self.channel.locations
        return {
            "id": c("sku"),
            "title": c("title"),
            "description": _words(c("description")),
            "availability": pl.when(in_stock(c, counted))
            .then(pl.lit("in stock"))
            .otherwise(pl.lit("out of stock")),
            "condition": pl.when(c("condition") == "")
            .then(pl.lit("new"))
            .otherwise(c("condition").str.to_lowercase()),
            "price": money(price, priced_in),
            "sale_price": pl.when(on_sale(c)).then(money(sale, priced_in)).otherwise(pl.lit("")),
            "link": c("url"),
            "image_link": c("image_url"),
            "additional_image_link": pl.lit(""),
            "brand": c("brand"),
            "item_group_id": c("item_group_id"),
            "quantity_to_sell_on_facebook": on_hand(c, counted).cast(pl.String).fill_null(""),
        }

    def item(self) -> pl.Expr:
        """The row as the csv module writes it (RFC 4180 quoting, cells on one line)."""
        fields = self.fields()
        return delimited.line([fields[name] for name in COLUMNS], ",")

    def plain(self) -> pl.Expr:
        """Rows this channel maps with no problem and nothing changed (``meta._checks`` and
        the mapping's warnings, each made impossible)."""
        c = self.cells
        description = _words(c("description"))
        return pl.all_horizontal(
            text_as_is(c("title"), limits.META_TITLE_MAX),
            text_as_is(c("description"), limits.META_DESCRIPTION_MAX),
            description != "",
            description.str.len_chars() <= limits.META_DESCRIPTION_MAX,
            c("brand").str.len_chars() <= limits.META_BRAND_MAX,
            (gtin_normalized(c("gtin")) != "") | (c("brand") != ""),
            c("condition").str.contains("^(?i:new|refurbished|used)?$"),
            currency(self.cells, self.channel.config.currency).str.contains("^[A-Z]{3}$"),
            image_type(c("image_url")),
            c("additional_image_urls") == "",
        )


def _words(text: pl.Expr) -> pl.Expr:
    """``" ".join(text.split())``: white space runs as one space, none at the ends."""
    return text.str.replace_all(r"\s+", " ").str.strip_chars()
