"""Declarative per-channel rules: filters, field templates, price, category mapping, stock.

Written in the channel's ``rules:`` block, validated at config load (key-path errors), compiled
once into a :class:`RuleSet`, applied to every product. No eval, no user code: templates accept
only ``{field}`` placeholders, filters only the listed criteria.

Order: ``include``/``exclude`` decide whether a product goes to the channel at all; then field
templates, the price rule and the category mapping produce the channel's view of the product;
stock rules apply to units *after* the channel's locations are summed (or per store, for
channels that list stores): buffer, then allocation share, then cap, then floor.
"""

from __future__ import annotations

import dataclasses
import re
import string
from collections.abc import Iterable
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from fnmatch import fnmatchcase
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from omnisync.models import Product

# Fields a template may set, and the product fields (plus custom attributes) it may read.
TEMPLATE_TARGETS = frozenset(
    {"title", "description", "brand", "mpn", "color", "size", "url", "image_url", "item_group_id"}
)
TEXT_FIELDS = frozenset(
    {
        "sku",
        "title",
        "description",
        "brand",
        "gtin",
        "mpn",
        "currency",
        "url",
        "image_url",
        "google_category",
        "condition",
        "item_group_id",
        "color",
        "size",
    }
)
_SPACES = re.compile(r" {2,}")
_ROUNDING = {"nearest": ROUND_HALF_UP, "up": ROUND_CEILING, "down": ROUND_FLOOR}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Filter(_Strict):
    """Criteria on a product. In ``include`` all given must hold; in ``exclude`` any one."""

    category: list[str] = []  # path prefixes: "Электроника" matches "Электроника > Аудио"
    brand: list[str] = []  # exact, ignoring case
    sku: list[str] = []  # glob patterns: "HP-*", "*-REF"
    in_stock: bool | None = None  # units available to this channel > 0 (or stock untracked)
    min_price: Decimal | None = Field(default=None, ge=0)  # on the selling (sale) price


class PriceRule(_Strict):
    markup_percent: Decimal = Field(default=Decimal(0), ge=-100)
    add: Decimal = Decimal(0)
    round_to: Decimal | None = Field(default=None, gt=0)  # a step such as 10 (tenge)
    rounding: Literal["nearest", "up", "down"] = "nearest"


class StockRule(_Strict):
    buffer: int = Field(default=0, ge=0)  # units held back
    allocate_percent: Decimal = Field(default=Decimal(100), ge=0, le=100)  # share, rounded down
    max: int | None = Field(default=None, ge=0)  # never show more than this
    floor: int = Field(default=0, ge=0)  # at or below this, show 0


class Rules(_Strict):
    include: Filter | None = None
    exclude: Filter | None = None
    fields: dict[str, str] = {}
    price: PriceRule | None = None
    categories: dict[str, str] = {}  # our category path (prefix) → the channel's category
    stock: StockRule | None = None

    @field_validator("fields")
    @classmethod
    def _templates(cls, fields: dict[str, str]) -> dict[str, str]:
        for target, template in fields.items():
            if target not in TEMPLATE_TARGETS:
                raise ValueError(
                    f"{target!r} cannot be templated; use one of "
                    + ", ".join(sorted(TEMPLATE_TARGETS))
                )
            template_names(template)
        return fields


def template_names(template: str) -> list[str]:
    """The placeholders of ``template``; ValueError for anything but plain ``{name}``."""
    names = []
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(f"template {template!r}: {exc}") from None
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise ValueError(f"template {template!r}: use plain placeholders like {{title}}")
        names.append(name)
    return names


def render(template: str, product: Product) -> str:
    """Fill ``template`` from the product's text fields and custom attributes; empty values
    leave no double spaces behind."""
    out = []
    for literal, name, _, _ in string.Formatter().parse(template):
        out.append(literal)
        if name:
            value = getattr(product, name) if name in TEXT_FIELDS else product.attributes.get(name)
            out.append(str(value or ""))
    # An empty value must not leave a double or leading space; line breaks stay.
    return _SPACES.sub(" ", "".join(out)).strip(" ")


class RuleSet:
    """Compiled rules of one channel."""

    def __init__(self, rules: Rules) -> None:
        self.rules = rules
        self._include = _Criteria(rules.include) if rules.include else None
        self._exclude = _Criteria(rules.exclude) if rules.exclude else None
        # Normalised paths, longest first, so "A > B" wins over "A".
        mapping = {_path(key.split(">")): value for key, value in rules.categories.items()}
        self.categories = sorted(mapping.items(), key=lambda kv: -len(kv[0]))

    def admits(self, product: Product, units: int | None) -> bool:
        """Whether the product goes to this channel; ``units`` is its stock for the channel.

        ``include``: every criterion it gives must hold. ``exclude``: any criterion it gives
        that holds leaves the product out."""
        if self._include is not None and not all(self._include.results(product, units)):
            return False
        return self._exclude is None or not any(self._exclude.results(product, units))

    def apply(self, product: Product) -> Product:
        """The product as this channel shows it (templates, price rule)."""
        changes: dict[str, object] = {
            target: render(template, product) for target, template in self.rules.fields.items()
        }
        rule = self.rules.price
        if rule is not None:
            changes["price"] = adjust_price(product.price, rule)
            if product.sale_price is not None:
                changes["sale_price"] = adjust_price(product.sale_price, rule)
            if product.city_prices:
                changes["city_prices"] = {
                    city: adjust_price(amount, rule) for city, amount in product.city_prices.items()
                }
        return dataclasses.replace(product, **changes) if changes else product  # type: ignore[arg-type]

    def category(self, product: Product) -> str | None:
        """The channel category mapped from the product's category path, if any."""
        path = _path(product.category)
        for prefix, target in self.categories:
            if _under(path, prefix):
                return target
        return None

    def units(self, on_hand: int | None) -> int | None:
        """Units to show after the stock rule; None stays None (stock not tracked)."""
        rule = self.rules.stock
        if on_hand is None or rule is None:
            return on_hand
        units = max(on_hand - rule.buffer, 0)
        units = int((units * rule.allocate_percent / 100).to_integral_value(ROUND_FLOOR))
        if rule.max is not None:
            units = min(units, rule.max)
        return 0 if units <= rule.floor else units


def adjust_price(price: Decimal, rule: PriceRule) -> Decimal:
    value = price * (1 + rule.markup_percent / 100) + rule.add
    if rule.round_to is not None:
        steps = (value / rule.round_to).to_integral_value(_ROUNDING[rule.rounding])
        value = steps * rule.round_to
    return max(value.quantize(Decimal("0.01")), Decimal(0))


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + " > ")


def _path(parts: Iterable[str]) -> str:
    return " > ".join(part.strip() for part in parts if part.strip())


class _Criteria:
    """One include or exclude filter, prepared once."""

    def __init__(self, rule: Filter) -> None:
        self.rule = rule
        self.categories = [_path(c.split(">")) for c in rule.category]
        self.brands = {b.casefold() for b in rule.brand}

    def results(self, product: Product, units: int | None) -> list[bool]:
        """One result per criterion the filter gives (none given: an empty list)."""
        rule, found = self.rule, []
        if self.categories:
            path = _path(product.category)
            found.append(any(_under(path, prefix) for prefix in self.categories))
        if self.brands:
            found.append(product.brand.casefold() in self.brands)
        if rule.sku:
            found.append(any(fnmatchcase(product.sku, pattern) for pattern in rule.sku))
        if rule.in_stock is not None:
            found.append((units is None or units > 0) == rule.in_stock)
        if rule.min_price is not None:
            found.append(product.selling_price >= rule.min_price)
        return found
