"""Satu's YML offers as columns: each plain row's ``<offer>``, byte for byte what
``channels/satu.py`` writes through ``yml.YmlWriter``, and the mask of the rows plain for it
(``satu._checks``, the currency check and the mapping's warnings, each made impossible).

An offer's ``<categoryId>`` is the id ``CategoryTree`` gives its category path, and the tree
gives ids in the order paths first come (a hash collision goes to the later path). So an
offer's text is made in two parts around its path, and the ids are asked of the writer's tree
as each stretch of rows is written, in file order (``text``).
"""

from __future__ import annotations

from typing import Any

from omnisync.channels import limits
from omnisync.channels.satu import LOOSE_ID, STRICT_ID, Satu
from omnisync.channels.writers import escape_attr
from omnisync.engine import pl
from omnisync.engine.items import Items, PushRows
from omnisync.engine.products import (
    Cells,
    category_parts,
    cents,
    clean,
    currency,
    image_type,
    on_hand,
    on_sale,
    selling,
    text_as_is,
)
from omnisync.engine.xml import escaped, leaf
from omnisync.sources.tabular import KNOWN
from omnisync.text import xml_safe

USED = (
    "sku", "title", "description", "brand", "mpn", "price", "sale_price", "currency", "url",
    "image_url", "additional_image_urls", "category", "color", "size", "quantity",
)  # fmt: skip
PATH = "\x1f"  # between a path's parts: no plain cell holds it (engine.products.CONTROL)
CUT = "\x00"  # between an offer's head, its path and its tail
OFFER_DEPTH = 3  # yml_catalog > shop > offers > offer


class SatuItems(Items):
    channel: Satu
    kind, used = Satu, USED

    @classmethod
    def takes(cls, channel: Any) -> bool:
        """A Satu channel writing its YML file (one that only pushes has none)."""
        return super().takes(channel) and channel.writes_files()

    def __init__(self, channel: Satu, cells: Cells) -> None:
        super().__init__(channel, cells)
        # The catalogue's own columns, Satu's params after colour and size, by name.
        self.extra = sorted(name for name in cells.at if name not in KNOWN)

    def item(self) -> pl.Expr:
        """Head, path and tail of the offer, cut by ``CUT``."""
        return pl.concat_str(self._head(), pl.lit(CUT), self._path(), pl.lit(CUT), self._tail())

    def _head(self) -> pl.Expr:
        c, config = self.cells, self.channel.config
        units = on_hand(c, self.channel.locations)
        # Not "false": YML reads that as made to order (limits.SATU_OUT_OF_STOCK_AVAILABLE).
        out_of_stock = pl.lit(escape_attr(limits.SATU_OUT_OF_STOCK_AVAILABLE))
        available = pl.when(units.is_null() | (units > 0)).then(pl.lit("true"))
        available_text = available.otherwise(out_of_stock)
        return pl.concat_str(
            [
                pl.lit('      <offer id="'),
                c("sku"),
                pl.lit('" available="'),
                available_text,
                pl.lit('">'),
                _leaf("url", c("url")),
                _leaf("price", _amount(selling(c))),
                pl.when(on_sale(c)).then(_leaf("oldprice", _amount(c("price")))),
                _leaf("currencyId", currency(c, config.currency)),
            ],
            ignore_nulls=True,
        )

    def _path(self) -> pl.Expr:
        """The category path's parts, as the tree keys it."""
        return category_parts(self.cells).list.join(PATH)

    def _tail(self) -> pl.Expr:
        c = self.cells
        units = on_hand(c, self.channel.locations)
        description = c("description")
        params = [("Цвет", c("color")), ("Размер", c("size"))]
        params += [(name, c(name)) for name in self.extra]
        return pl.concat_str(
            [
                _leaf("portal_category_id", c.category_target().fill_null("")),
                _leaf("picture", c("image_url")),
                _leaf("name", c("title")),
                _leaf("vendor", c("brand")),
                _leaf("vendorCode", c("mpn")),
                pl.when(description != "").then(
                    pl.concat_str(
                        pl.lit("\n        <description><![CDATA["),
                        description,
                        pl.lit("]]></description>"),
                    )
                ),
                *(
                    pl.when(value != "").then(
                        pl.concat_str(
                            pl.lit(f'\n        <param name="{escape_attr(xml_safe(name))}">'),
                            escaped(value),
                            pl.lit("</param>"),
                        )
                    )
                    for name, value in params
                ),
                pl.when(units.is_not_null()).then(
                    _leaf("quantity_in_stock", units.cast(pl.String))
                ),
                pl.lit("\n      </offer>\n"),
            ],
            ignore_nulls=True,
        )

    def plain(self) -> pl.Expr:
        """Rows Satu maps with no problem and nothing changed."""
        c, config = self.cells, self.channel.config
        ids = STRICT_ID if config.strict_ids else LOOSE_ID
        description = c("description")
        return pl.all_horizontal(
            c("sku").str.contains(f"^(?:{ids.pattern})$"),
            c("title") != "",
            text_as_is(c("title"), limits.SATU_NAME_MAX),
            text_as_is(description, limits.SATU_DESCRIPTION_MAX),
            ~description.str.contains("]]>", literal=True),
            self._path() != "",
            image_type(c("image_url")),
            c("additional_image_urls") == "",
            currency(c, config.currency) == config.currency,
            *(clean(c(name)) for name in self.extra),
        )

    def text(self, items: pl.Series, writer: Any) -> bytes:
        """The offers with their category ids, the paths given to the writer's tree in the
        order they come."""
        parts = items.str.split_exact(CUT, 2).struct.unnest()
        head, path, tail = (parts[name] for name in parts.columns)
        ids = {
            found: str(writer.categories.add(tuple(found.split(PATH))))
            for found in path.unique(maintain_order=True).to_list()
        }
        category = path.replace_strict(ids, return_dtype=pl.String)
        joined = pl.DataFrame({"head": head, "id": category, "tail": tail}).select(
            pl.concat_str(
                "head", pl.lit("\n        <categoryId>"), "id", pl.lit("</categoryId>"), "tail"
            )
        )
        return joined.to_series().str.join("").cast(pl.Binary).item()  # type: ignore[no-any-return]


def _leaf(tag: str, text: pl.Expr) -> pl.Expr:
    """``_Leaves``: a line ``<tag>text</tag>`` one level inside the offer, none for empty."""
    return leaf(tag, text, OFFER_DEPTH + 1)


def _amount(price: pl.Expr) -> pl.Expr:
    """``text.amount`` of a plain price: ``15990.50`` → ``15990.5``, ``15990.00`` → ``15990``."""
    whole = price.str.extract(r"^([0-9]+)")
    fraction = price.str.extract(r"\.([0-9]+)$").fill_null("").str.strip_chars_end("0")
    return (
        pl.when(fraction == "").then(whole).otherwise(pl.concat_str(whole, pl.lit("."), fraction))
    )


class SatuPushRows(PushRows):
    """Satu's API items (``SatuPushes.push_items``): one ``product`` item a row, its price as
    a JSON number and its presence and units. A row is plain when the feed's checks pass (the
    lane checks the product as the feed does; an invalid one is held) and its price has at
    most 15 significant digits, which a float's repr writes as the decimal it is."""

    channel: Satu
    kind, used = Satu, USED

    def plain(self) -> pl.Expr:
        feed = SatuItems(self.channel, self.source).shown_plain()
        return feed & (cents(selling(self.cells)) < 10**15)

    def items(self) -> list[tuple[str, pl.Expr, pl.Expr]]:
        c, sku = self.cells, self.cells("sku")
        units = on_hand(c, self.channel.locations)
        presence = pl.when(units.is_null() | (units > 0)).then(pl.lit("available"))
        payload = pl.concat_str(
            [
                pl.lit('{"id":"'),
                sku,
                pl.lit('","presence":"'),
                presence.otherwise(pl.lit("not_available")),
                pl.lit('","price":'),
                _amount(selling(c)),
                pl.when(units.is_not_null()).then(
                    pl.concat_str(pl.lit(',"quantity_in_stock":'), units.cast(pl.String))
                ),
                pl.lit("}"),
            ],
            ignore_nulls=True,
        )
        return [("product", sku, payload)]
