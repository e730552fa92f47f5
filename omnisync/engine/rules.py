"""A channel's rules (``omnisync/rules.py``) as expressions: its filters as a mask; its
templates, category map, price and stock rules in a view of the catalogue's columns
(``Shown``) its mapping reads instead of the cells, so the mapping needs no rule of its own.

The engine takes every rule but SKU patterns with ``[`` (``fnmatch``'s classes) and a category
target holding a character a feed cleans away. Templates are rendered as ``rules.render``
renders them, and the rows whose rendered text a reader would have refused (an empty title, a
URL with user info, a control character) go per item, where the channel says so. Money is
exact: prices in cents, the rule's numbers scaled to integers (Int128), each
rounding as ``Decimal`` rounds it (half up, ceiling, floor; cents half to even).
"""

from __future__ import annotations

import re
import string
from decimal import ROUND_CEILING, Decimal

from omnisync.engine import pl
from omnisync.engine.products import (
    CONTROL,
    Cells,
    category_path,
    cents,
    clean,
    selling,
    under,
    url_plain,
)
from omnisync.rules import TEXT_FIELDS, Filter, PriceRule, Rules, RuleSet, StockRule, _path
from omnisync.sources.tabular import KNOWN

I128 = pl.Int128
DECIMALS_MAX = 6  # a rule's numbers with more go per item (Int128 stays far from overflow)


def takes(rules: Rules) -> bool:
    """Whether the engine applies ``rules`` itself."""
    if any(re.search(CONTROL, target) for target in rules.categories.values()):
        return False
    if any("[" in pattern for f in (rules.include, rules.exclude) if f for pattern in f.sku):
        return False
    numbers: list[Decimal] = []
    if rules.price is not None:
        price = rules.price
        numbers += [price.markup_percent, price.add, price.round_to or Decimal(0)]
    if rules.stock is not None:
        numbers.append(rules.stock.allocate_percent)
    return all(_decimals(n) <= DECIMALS_MAX for n in numbers)


class Shown(Cells):
    """The catalogue's columns as a channel shows them: prices after its price rule (as
    ``15990.00``), units after its stock rule. ``plain()``: rows whose prices stay above 0."""

    def __init__(self, cells: Cells, rules: Rules) -> None:
        self.base, self.rules = cells, rules
        self.at, self.stock, self.sides = cells.at, cells.stock, cells.sides

    def stripped(self) -> list[pl.Expr]:
        return self.base.stripped()

    def joined(self, side: str) -> pl.Expr:
        return self.base.joined(side)

    def __call__(self, name: str) -> pl.Expr:
        if name in self.rules.fields:
            return _rendered(self.base, self.rules.fields[name])
        rule = self.rules.price
        if rule is None or name not in ("price", "sale_price"):
            return self.base(name)
        raw = self.base(name)
        shown = _text(adjusted(cents(raw).cast(I128), rule))
        return pl.when(raw == "").then(pl.lit("")).otherwise(shown)

    def units(self, counted: frozenset[str] | None) -> pl.Expr:
        return _units(self.base.units(counted), self.rules.stock)

    def units_at(self, code: str) -> pl.Expr:
        return _units(self.base.units_at(code), self.rules.stock)

    def category_target(self) -> pl.Expr:
        found, path = pl.lit(None, pl.String), category_path(self.base)
        for prefix, target in reversed(RuleSet(self.rules).categories):  # the longest wins
            found = pl.when(under(path, prefix)).then(pl.lit(target)).otherwise(found)
        return found

    def plain(self) -> pl.Expr:
        """The shown prices are above 0 (a rule can take one to 0: the channel refuses it),
        and each rendered field is what the reader would have taken in its cell."""
        checks = [pl.lit(True)]
        for target in self.rules.fields:
            checks += _readable(target, self(target))
        if self.rules.price is not None:
            sale = self("sale_price")
            checks += [cents(self("price")) > 0, (sale == "") | (cents(sale) > 0)]
        return pl.all_horizontal(checks)


def shown(cells: Cells, rules: Rules) -> Cells:
    changes = rules.price or rules.stock or rules.fields or rules.categories
    return Shown(cells, rules) if changes else cells


def _rendered(cells: Cells, template: str) -> pl.Expr:
    """``rules.render``: the text fields and the catalogue's own columns in their places; an
    empty value leaves no double or leading space behind."""
    parts: list[pl.Expr] = []
    for literal, name, _, _ in string.Formatter().parse(template):
        parts.append(pl.lit(literal))
        if name:
            own = name not in KNOWN  # a column of the shop's own: a custom attribute
            parts.append(cells(name) if name in TEXT_FIELDS or own else pl.lit(""))
    joined = pl.concat_str(parts).str.replace_all(" {2,}", " ")
    return joined.str.strip_chars(" ")


def _readable(target: str, value: pl.Expr) -> list[pl.Expr]:
    """What ``products.source_plain`` asks of the cell a template fills."""
    found = [clean(value)]
    if target == "title":
        found.append(value != "")
    elif target in ("url", "image_url"):
        found.append(url_plain(value))
    elif target == "item_group_id":
        found.append(value.str.contains(r"^[A-Za-z0-9_-]{0,50}$"))
    return found


def admitted(cells: Cells, view: Cells, rules: Rules, counted: frozenset[str] | None) -> pl.Expr:
    """``RuleSet.admits``: whether a row goes to the channel (null where the engine cannot
    say as Python would: a brand beyond ASCII, which ``casefold`` may read otherwise). The
    criteria read the row as it is, the units as the channel shows them."""
    units = view.units(counted)
    found = pl.lit(True)
    included = _criteria(cells, units, rules.include) if rules.include else []
    excluded = _criteria(cells, units, rules.exclude) if rules.exclude else []
    if included:
        found = found & pl.all_horizontal(included)
    if excluded:
        found = found & ~pl.any_horizontal(excluded)
    return found


def _criteria(cells: Cells, units: pl.Expr, rule: Filter) -> list[pl.Expr]:
    """One mask per criterion the filter gives (``rules._Criteria.results``)."""
    found: list[pl.Expr] = []
    if rule.category:
        path = category_path(cells)
        prefixes = [_path(c.split(">")) for c in rule.category]
        found.append(pl.any_horizontal([under(path, p) for p in prefixes]))
    if rule.brand:
        brand = cells("brand")
        known = brand.str.to_lowercase().is_in(sorted({b.casefold() for b in rule.brand}))
        found.append(pl.when(brand.str.contains(r"^[\x00-\x7f]*$")).then(known))
    if rule.sku:
        found.append(pl.any_horizontal([cells("sku").str.contains(_glob(p)) for p in rule.sku]))
    if rule.in_stock is not None:
        found.append((units.is_null() | (units > 0)) == rule.in_stock)
    if rule.min_price is not None:
        least = (rule.min_price * 100).to_integral_value(ROUND_CEILING)  # whole cents
        found.append(cents(selling(cells)) >= int(least))
    return found


def _glob(pattern: str) -> str:
    """``fnmatchcase``'s ``*`` and ``?`` (patterns with ``[`` go per item: ``takes``)."""
    parts = {"*": ".*", "?": "."}
    return "^" + "".join(parts.get(ch) or pl.escape_regex(ch) for ch in pattern) + "$"


def adjusted(price: pl.Expr, rule: PriceRule) -> pl.Expr:
    """``rules.adjust_price`` of a price in cents, in cents: ``price * (1 + markup / 100) +
    add``, rounded to ``round_to`` by ``rounding``, quantized to cents half to even, not
    below 0 — in integers scaled by 10^e."""
    dm = _decimals(rule.markup_percent)
    e = max(4 + dm, _decimals(rule.add), _decimals(rule.round_to or Decimal(0)))
    markup = _scaled(100 + rule.markup_percent, dm)
    value = price * markup * pl.lit(10 ** (e - 4 - dm), I128) + pl.lit(_scaled(rule.add, e), I128)
    if rule.round_to is not None:
        step = _scaled(rule.round_to, e)
        value = _rounded(value, step, rule.rounding) * step
    quantum = 10 ** (e - 2)
    whole, rest = value // quantum, value % quantum
    odd = (whole % 2) == 1
    up = (rest * 2 > quantum) | ((rest * 2 == quantum) & odd)
    found = whole + up.cast(I128)
    return pl.when(found > 0).then(found).otherwise(pl.lit(0, I128))


def _rounded(value: pl.Expr, step: int, rounding: str) -> pl.Expr:
    """``value / step`` to an integer as ``Decimal.to_integral_value`` rounds it."""
    if rounding == "down":  # ROUND_FLOOR
        return value // step
    if rounding == "up":  # ROUND_CEILING
        return (value + (step - 1)) // step
    # ROUND_HALF_UP: ties away from zero
    positive, negative = (value * 2 + step) // (2 * step), (value * 2 + step - 1) // (2 * step)
    return pl.when(value >= 0).then(positive).otherwise(negative)


def _units(units: pl.Expr, rule: StockRule | None) -> pl.Expr:
    """``RuleSet.units``: less the buffer (not below 0), the allocated share rounded down,
    at most ``max``, 0 at or below ``floor``; null stays null."""
    if rule is None:
        return units
    kept = pl.max_horizontal(units - rule.buffer, pl.lit(0)).cast(I128)
    d = _decimals(rule.allocate_percent)
    share = (kept * _scaled(rule.allocate_percent, d)) // (100 * 10**d)
    if rule.max is not None:
        share = pl.min_horizontal(share, pl.lit(rule.max, I128))
    shown = pl.when(share <= rule.floor).then(pl.lit(0, I128)).otherwise(share)
    return pl.when(units.is_null()).then(None).otherwise(shown).cast(pl.Int64)


def _text(found: pl.Expr) -> pl.Expr:
    """Cents as the price text a mapping reads: ``1599000`` → ``15990.00``."""
    whole, fraction = (found // 100).cast(pl.String), (found % 100).cast(pl.String)
    return pl.concat_str([whole, pl.lit("."), fraction.str.zfill(2)])


def _decimals(number: Decimal) -> int:
    exponent = number.as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _scaled(number: Decimal, decimals: int) -> int:
    return int(number.scaleb(decimals))
