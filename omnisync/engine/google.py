"""The Google primary feed's items as columns: each plain row's ``<item>`` in the RSS feed,
byte for byte what ``channels/google`` writes for it through ``feed.RssWriter``, and the mask
of the rows that are plain for this channel (no problem, no warning, nothing the per-item
mapping would change). Every other row goes through the per-item mapping.

Attribute reference: channels.md §1.1 and https://support.google.com/merchants/answer/7052112.
"""

from __future__ import annotations

import json
from typing import Any

from omnisync.channels.google import feed
from omnisync.channels.google.channel import DESCRIPTION_MAX, TITLE_MAX, GoogleMerchant
from omnisync.channels.google.rules import LENGTH_LIMITS
from omnisync.engine import pl
from omnisync.engine.items import Items, PushRows
from omnisync.engine.products import (
    Cells,
    category_path,
    cents,
    currency,
    gtin_normalized,
    image_type,
    in_stock,
    money,
    text_as_is,
)
from omnisync.engine.xml import element

USED = (
    "sku", "title", "description", "brand", "gtin", "mpn", "price", "sale_price", "currency",
    "url", "image_url", "additional_image_urls", "category", "google_category", "condition",
    "item_group_id", "color", "size", "availability", "availability_date", "quantity",
)  # fmt: skip
ITEM_DEPTH = 2  # rss > channel > item


class GoogleItems(Items):
    """The channel's item text and plain mask over a batch of the products file."""

    channel: GoogleMerchant
    kind, used = GoogleMerchant, USED

    @classmethod
    def takes(cls, channel: Any) -> bool:
        """A Google feed in XML (its TSV form is written per item)."""
        return super().takes(channel) and channel.config.format == "xml"

    def fields(self) -> dict[str, pl.Expr]:
        """The item's fields in ``feed.COLUMNS`` order, each as the feed writes it ("" for
        one it leaves out)."""
        c = self.cells
        priced_in = currency(self.cells, self.channel.config.currency)
        sale = c("sale_price")
        gtin = gtin_normalized(c("gtin"))
        return {
            "id": c("sku"),
            "title": c("title"),
            "description": c("description"),
            "link": c("url"),
            "image_link": c("image_url").str.replace_all(",", "%2C", literal=True),
            "additional_image_link": pl.lit(""),
            "availability": pl.when(in_stock(c, self.channel.locations))
            .then(pl.lit("in_stock"))
            .otherwise(pl.lit("out_of_stock")),
            "availability_date": pl.lit(""),
            "price": money(c("price"), priced_in),
            "sale_price": pl.when(sale != "").then(money(sale, priced_in)).otherwise(pl.lit("")),
            "brand": c("brand"),
            "gtin": gtin,
            "mpn": c("mpn"),
            "identifier_exists": pl.when((gtin != "") | ((c("brand") != "") & (c("mpn") != "")))
            .then(pl.lit(""))
            .otherwise(pl.lit("no")),
            "condition": c("condition").str.to_lowercase(),
            "google_product_category": _category(c),
            "product_type": category_path(c),
            "item_group_id": c("item_group_id"),
            "color": c("color"),
            "size": c("size"),
        }

    def item(self) -> pl.Expr:
        """The ``<item>`` element with its leading line break and indentation."""
        fields = self.fields()
        tags = [(_prefixed(feed.TAGS[name]), fields[name]) for name in feed.COLUMNS]
        return element("item", tags, ITEM_DEPTH)

    def plain(self) -> pl.Expr:
        """Rows this channel maps with no problem and nothing changed (the checks of
        channels/google/rules.py and the mapping's warnings, each made impossible)."""
        c = self.cells
        sale, gtin = c("sale_price"), gtin_normalized(c("gtin"))
        limits = LENGTH_LIMITS
        return pl.all_horizontal(
            text_as_is(c("title"), TITLE_MAX),
            text_as_is(c("description"), DESCRIPTION_MAX),
            c("description") != "",
            c("brand").str.len_chars() <= limits["brand"],
            c("mpn").str.len_chars() <= limits["mpn"],
            category_path(c).str.len_chars() <= limits["product_type"],
            (gtin != "") | (c("brand") != ""),
            (gtin == "") | _gtin_valid(gtin),
            c("condition").str.contains("^(?i:new|refurbished|used)?$"),
            currency(self.cells, self.channel.config.currency).str.contains("^[A-Z]{3}$"),
            (sale == "") | (cents(sale) <= cents(c("price"))),
            image_type(c("image_url")),
            *(c(name) == "" for name in ("additional_image_urls", "availability")),
            c("availability_date") == "",
        )


def _prefixed(tag: str) -> str:
    """A Clark name in Google's namespace as the feed writes it (``g:`` is declared on rss)."""
    return tag.replace(f"{{{feed.G}}}", "g:")


def _gtin_valid(gtin: pl.Expr) -> pl.Expr:
    """GTIN-8/12/13/14 with its GS1 check digit (``checks.gtin_problem``): weights 3, 1, 3, …
    from the digit before the check, the digits taken arithmetically from the number (leading
    zeros weigh nothing)."""
    number = gtin.cast(pl.Int64, strict=False)
    body = number // 10
    total = pl.sum_horizontal((body // 10**i % 10) * (3 if i % 2 == 0 else 1) for i in range(13))
    return (
        gtin.str.contains("^[0-9]+$")
        & gtin.str.len_bytes().is_in([8, 12, 13, 14])
        & ((10 - total % 10) % 10 == number % 10)
    )


def _category(cells: Cells) -> pl.Expr:
    """The category the channel's rules map the path to, else the row's own."""
    mapped = cells.category_target()
    return (
        pl.when(mapped.is_not_null() & (mapped != ""))
        .then(mapped)
        .otherwise(cells("google_category"))
    )


class GoogleApiRows(PushRows):
    """The Merchant API's product inputs (``MerchantApiPushes.push_items``): one ``product``
    item a row, ``productAttributes`` as ``api.attributes`` makes them of the feed's fields
    (empty ones left out), in the canonical JSON; text escaped by the engine's JSON encoder,
    which writes what ``json.dumps(ensure_ascii=False)`` writes. Its mask is the feed's (the
    lane checks the product as the feed does), whatever the feed's format."""

    channel: GoogleMerchant
    kind, used = GoogleMerchant, USED

    def plain(self) -> pl.Expr:
        return GoogleItems(self.channel, self.source).shown_plain()

    def items(self) -> list[tuple[str, pl.Expr, pl.Expr]]:
        fields = GoogleItems(self.channel, self.source).fields()
        c, settings = self.cells, self.channel.config.api
        assert settings is not None  # a lane plans pushes only with the API set
        priced_in = currency(c, self.channel.config.currency)
        sale = c("sale_price")
        texts = {
            "availability": fields["availability"].str.to_uppercase(),
            "brand": fields["brand"],
            "color": fields["color"],
            "condition": fields["condition"].str.to_uppercase(),
            "description": fields["description"],
            "googleProductCategory": fields["google_product_category"],
        }
        later = {
            "imageLink": fields["image_link"],
            "itemGroupId": fields["item_group_id"],
            "link": fields["link"],
            "mpn": fields["mpn"],
        }
        gtin, product_type = fields["gtin"], fields["product_type"]
        attributes = [
            *(_member(name, value) for name, value in texts.items()),
            pl.when(gtin != "").then(pl.concat_str(pl.lit(',"gtins":['), _json(gtin), pl.lit("]"))),
            pl.when(fields["identifier_exists"] == "no").then(pl.lit(',"identifierExists":false')),
            *(_member(name, value) for name, value in later.items()),
            pl.concat_str(pl.lit(',"price":'), api_money(c("price"), priced_in)),
            pl.when(product_type != "").then(
                pl.concat_str(pl.lit(',"productTypes":['), _json(product_type), pl.lit("]"))
            ),
            pl.when(sale != "").then(
                pl.concat_str(pl.lit(',"salePrice":'), api_money(sale, priced_in))
            ),
            _member("size", fields["size"]),
            _member("title", fields["title"]),
        ]
        head = (
            f'{{"contentLanguage":{json.dumps(settings.content_language)},'
            f'"feedLabel":{json.dumps(settings.feed_label)},"offerId":'
        )
        payload = pl.concat_str(
            [
                pl.lit(head),
                _json(fields["id"]),
                pl.lit(',"productAttributes":{'),
                pl.concat_str(attributes, ignore_nulls=True).str.strip_prefix(","),
                pl.lit("}}"),
            ]
        )
        return [("product", fields["id"], payload)]


def _json(text: pl.Expr) -> pl.Expr:
    """A JSON string of ``text`` (the encoder's ``{"v":…}`` less its wrapping)."""
    encoded = pl.struct(text.alias("v")).struct.json_encode()
    return encoded.str.slice(5, encoded.str.len_chars() - 6)


def _member(name: str, value: pl.Expr) -> pl.Expr:
    """``,"name":"value"``, none for an empty value."""
    return pl.when(value != "").then(pl.concat_str(pl.lit(f',"{name}":'), _json(value)))


def api_money(price: pl.Expr, currency: pl.Expr) -> pl.Expr:
    """``api.money`` of a plain price: its micros as text, and the currency."""
    micros = (cents(price).cast(pl.Int128) * 10_000).cast(pl.String)
    return pl.concat_str(
        pl.lit('{"amountMicros":"'), micros, pl.lit('","currencyCode":"'), currency, pl.lit('"}')
    )
