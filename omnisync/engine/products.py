"""The catalogue's products as columns: each product field an expression over a batch of the
products file's cells (``c0``, ``c1``, … as the header names them), and ``plain``: the rows
the engine maps itself because the per-row reader (``sources/tabular.py``) would build them
with no problem and exactly these values. Every other row is built by that reader.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Protocol

from omnisync.checks import IMAGE_TYPES
from omnisync.engine import pl

# Characters a plain value holds none of: what XML forbids or feeds clean away (C0 but tab and
# line breaks, DEL, C1, the non-characters), so that no value is changed on its way out.
CONTROL = "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]"
# A price the engine reads itself: no thousands spaces, no comma, no leading zero, at most two
# decimals, above 0 (anything else the reader parses or refuses with its own message).
PRICE = r"^[1-9][0-9]{0,14}(\.[0-9]{1,2})?$"
QUANTITY = r"^[0-9]{1,15}$"
# A SKU every channel keeps as it is (Google: letters, digits, _ and -, 1 to 50 characters).
SKU = r"^[A-Za-z0-9_-]{1,50}$"
# A URL the reader leaves as it is and no check refuses (checks.url_problem): absolute http(s),
# printable ASCII without spaces, no user info, no brackets, at most 2,000 characters.
URL = r"^(?i:https?)://[^/?#@\\]+(?:[/?#].*)?$"
URL_CHARS = r"^[!-Z\\^-~]{1,2000}$"  # printable ASCII but [ and ]


def python_stripped(text: pl.Expr) -> pl.Expr:
    """``text`` stripped as Python's ``str.strip()`` strips it: Rust's white space (``\\s``)
    and the separators U+001C-U+001F besides (Polars' ``strip_chars`` keeps those)."""
    return text.str.replace_all(r"^[\s\x1c-\x1f]+|[\s\x1c-\x1f]+$", "")


class StockColumns(Protocol):
    """The stock file joined to the products (``engine.sides.Stock``)."""

    def units(self, counted: frozenset[str] | None) -> pl.Expr: ...

    def at(self, code: str) -> pl.Expr: ...


class Cells:
    """Where each column sits in the file's header; a column the file lacks reads as "".
    ``stripped()`` adds each cell with white space stripped as the reader strips it (``s0``,
    ``s1``, …), once; the expressions read those. ``stock``: the stock file's columns, when
    the catalogue has one (it is then the stock, not the quantity column); ``sides``: the
    side files joined to the products."""

    def __init__(
        self,
        header: Sequence[str],
        stock: StockColumns | None = None,
        sides: Collection[str] = (),
    ) -> None:
        self.at = {name: i for i, name in reversed(list(enumerate(header))) if name}
        self.stock, self.sides = stock, sides

    def joined(self, side: str) -> pl.Expr:
        """Whether the row's SKU has rows in a side file (``engine.sides.Side.name``)."""
        return pl.col(f"{side}_row").is_not_null() if side in self.sides else pl.lit(False)

    def stripped(self) -> list[pl.Expr]:
        return [pl.col(f"c{at}").str.strip_chars().alias(f"s{at}") for at in self.at.values()]

    def __call__(self, name: str) -> pl.Expr:
        at = self.at.get(name)
        return pl.col(f"s{at}") if at is not None else pl.lit("")

    def units(self, counted: frozenset[str] | None) -> pl.Expr:
        """Units on hand over a channel's ``counted`` locations (``Product.on_hand``): the
        stock file's, else the quantity column's; null when stock is not tracked."""
        if self.stock is not None:
            return self.stock.units(counted)
        return self("quantity").cast(pl.Int64, strict=False)

    def category_target(self) -> pl.Expr:
        """The channel's category its rules map the row's path to (``RuleSet.category``):
        none without rules."""
        return pl.lit(None, pl.String)

    def units_at(self, code: str) -> pl.Expr:
        """Units at one location (``Product.stock.get(code, 0)``); needs the stock file."""
        assert self.stock is not None
        return self.stock.at(code)


def currency(cells: Cells, default: str | None) -> pl.Expr:
    """The price's currency: the row's, else the channel's setting ("" when neither)."""
    own = cells("currency")
    return pl.when(own != "").then(own).otherwise(pl.lit(default or ""))


def on_hand(cells: Cells, counted: frozenset[str] | None) -> pl.Expr:
    """Units the channel shows over its ``counted`` locations (``Channel.units``): on hand,
    after the channel's stock rule when ``cells`` is its view (``engine.rules.Shown``)."""
    return cells.units(counted)


def in_stock(cells: Cells, counted: frozenset[str] | None) -> pl.Expr:
    """Whether the channel shows the product available: stock untracked or above 0
    (``Channel.units`` without a stock rule)."""
    units = on_hand(cells, counted)
    return units.is_null() | (units > 0)


def on_sale(cells: Cells) -> pl.Expr:
    """``Product.on_sale`` for plain prices (above 0 by ``PRICE``): a sale price below the
    regular one."""
    sale = cells("sale_price")
    return (sale != "") & (cents(sale) < cents(cells("price")))


def selling(cells: Cells) -> pl.Expr:
    """``Product.selling_price``: the sale price when on sale, else the regular price."""
    return pl.when(on_sale(cells)).then(cells("sale_price")).otherwise(cells("price"))


def category_parts(cells: Cells) -> pl.Expr:
    """The category path's parts, trimmed, the empty ones left out (``tabular._split``)."""
    parts = cells("category").str.split(">").list.eval(pl.element().str.strip_chars())
    return parts.list.eval(pl.element().filter(pl.element() != ""))


def category_path(cells: Cells) -> pl.Expr:
    """The category path as one text, its parts joined with " > " (``rules._path``; Google's
    product_type)."""
    return category_parts(cells).list.join(" > ")


def under(path: pl.Expr, prefix: str) -> pl.Expr:
    """``rules._under``: the path is ``prefix`` or lies below it."""
    return (path == prefix) | path.str.starts_with(prefix + " > ")


def cents(price: pl.Expr) -> pl.Expr:
    """A plain price (``PRICE``) in cents, to compare two exactly."""
    whole = price.str.extract(r"^([0-9]+)").cast(pl.Int64, strict=False)  # null past 2^63
    fraction = (price.str.extract(r"\.([0-9]+)$").fill_null("") + "00").str.slice(0, 2)
    return whole * 100 + fraction.cast(pl.Int64, strict=False)


def amount(price: pl.Expr) -> pl.Expr:
    """``15990`` → ``15990.00``: a plain price with two decimals."""
    whole = price.str.extract(r"^([0-9]+)")
    fraction = (price.str.extract(r"\.([0-9]+)$").fill_null("") + "00").str.slice(0, 2)
    return pl.concat_str(whole, pl.lit("."), fraction)


def money(price: pl.Expr, currency: pl.Expr) -> pl.Expr:
    """``15990`` → ``15990.00 KZT`` (``text.money`` for a plain price)."""
    return pl.concat_str(amount(price), pl.lit(" "), currency)


def url_plain(url: pl.Expr) -> pl.Expr:
    return url.str.contains(URL_CHARS) & url.str.contains(URL)


def clean(value: pl.Expr) -> pl.Expr:
    """The value holds no character a writer would change or a reader refuse."""
    return ~value.str.contains(CONTROL)


def source_plain(cells: Cells, used: Sequence[str]) -> pl.Expr:
    """Rows the reader would build with no problem, each of ``used`` as the cell holds it:
    the required cells present, a SKU every channel keeps, a plain price and quantity, URLs
    without user info (``values.check_urls``), nothing a writer cleans away."""
    sale, quantity = cells("sale_price"), cells("quantity")
    checks = [
        cells("sku").str.contains(SKU),
        cells("title") != "",
        cells("price").str.contains(PRICE),
        (sale == "") | sale.str.contains(PRICE),
        (quantity == "") | quantity.str.contains(QUANTITY),
        *(url_plain(cells(name)) for name in ("url", "image_url")),
        cells("item_group_id").str.contains(r"^[A-Za-z0-9_-]{0,50}$"),
        clean(pl.concat_str([cells(name) for name in used], separator=" ")),
    ]
    return pl.all_horizontal(checks)


def text_as_is(value: pl.Expr, limit: int) -> pl.Expr:
    """Text the mapping writes as it is: no markup to clean (no "<" or "&"), not cut."""
    return ~value.str.contains("[<&]") & (value.str.len_chars() <= limit)


def gtin_normalized(raw: pl.Expr) -> pl.Expr:
    """``checks.normalize_gtin``: Google ignores spaces and dashes."""
    return raw.str.replace_all(" ", "", literal=True).str.replace_all("-", "", literal=True)


def image_type(url: pl.Expr) -> pl.Expr:
    """``checks.image_type_problem``: the path's last segment has no extension, or one naming
    an image type (a name ending in "." goes the per-item way)."""
    types = "|".join(sorted(IMAGE_TYPES))
    return url.str.contains(
        rf"(?i)^[^:]*://[^/?#]*(?:/[^?#]*/)?(?:[^./?#]*|[^/?#]*\.(?:{types}))(?:[?#].*)?$"
    )
