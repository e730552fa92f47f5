"""The checks of channels.md §1.6, applied to one mapped item. Pure functions.

Each check returns ``(field, code, message)`` tuples; an error leaves the item out of the feed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime
from decimal import Decimal

from omnisync.channels.base import Record
from omnisync.checks import (
    brand_problem,
    decimal_places,
    gtin_problem,
    image_type_problem,
    url_problem,
)
from omnisync.models import Problem, Severity

ID_MAX = 50  # [GMC 6324405]
ID_CHARS = re.compile(r"^[A-Za-z0-9_-]+$")
LENGTH_LIMITS = {"brand": 70, "mpn": 70, "product_type": 750, "item_group_id": 50}
# The description HTML Google lists [GMC 6324468]; the channel writes descriptions within it
# (channel.DESCRIPTION_MARKUP), so no description is refused for its markup.
DESCRIPTION_TAGS = frozenset(
    {"strong", "em", "ul", "ol", "li", "br", "sub", "sup", "div", "span", "dl", "dt", "dd"}
)
AVAILABILITY = frozenset({"in_stock", "out_of_stock", "preorder", "backorder"})  # [GMC 6324448]
CONDITIONS = frozenset({"new", "refurbished", "used"})
CURRENCY = re.compile(r"^[A-Z]{3}$")

Finding = tuple[str, str, str]
_WARNING_CODES = frozenset({"id_characters", "item_group_id_characters"})


def check(record: Record, channel: str) -> list[Problem]:
    return [
        Problem(
            code=code,
            message=message,
            sku=record.key,
            channel=channel,
            field=field,
            severity=Severity.WARNING if code in _WARNING_CODES else Severity.ERROR,
            file=record.file,
            line=record.line,
        )
        for rule in RULES
        for field, code, message in rule(record.fields)
    ]


def _id(f: dict[str, object]) -> Iterator[Finding]:
    key = str(f["id"])
    if not 1 <= len(key) <= ID_MAX:
        yield "id", "id_length", f"id has {len(key)} characters; Google allows 1 to {ID_MAX}"
    elif not ID_CHARS.match(key):
        yield "id", "id_characters", "id has characters other than A-Z, a-z, 0-9, '_', '-'"


def _texts(f: dict[str, object]) -> Iterator[Finding]:
    if not str(f["title"]).strip():
        yield "title", "title_missing", "title is empty"
    description = str(f["description"])
    if not description.strip():
        yield "description", "description_missing", "description is empty; Google requires one"
    for field, limit in LENGTH_LIMITS.items():
        if len(str(f[field])) > limit:
            yield field, f"{field}_too_long", f"{field} is over {limit} characters"
    group = str(f["item_group_id"])
    if group and not ID_CHARS.match(group):
        yield (
            "item_group_id",
            "item_group_id_characters",
            "item_group_id should use only A-Z, a-z, 0-9, '_', '-'",
        )


def _links(f: dict[str, object]) -> Iterator[Finding]:
    for field in ("link", "image_link"):
        url = str(f[field])
        reason = "is empty" if not url else url_problem(url)
        if reason:
            yield field, f"{field}_invalid", f"{field} {reason}"
    reason = image_type_problem(str(f["image_link"]))  # [GMC 6324350]
    if reason:
        yield "image_link", "image_link_type", f"image_link {reason}"


def _availability(f: dict[str, object]) -> Iterator[Finding]:
    value = str(f["availability"])
    if value not in AVAILABILITY:
        yield (
            "availability",
            "availability_invalid",
            f"availability {value!r} is not one of " + ", ".join(sorted(AVAILABILITY)),
        )
    elif value in ("preorder", "backorder") and not f["availability_date"]:
        yield "availability_date", "availability_date_missing", f"{value} needs availability_date"
    date = str(f["availability_date"])
    if date and not _iso8601(date):
        yield (
            "availability_date",
            "availability_date_invalid",
            f"availability_date {date!r} is not an ISO 8601 date like 2026-06-01T00:00+0500",
        )


def _iso8601(text: str) -> bool:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def _prices(f: dict[str, object]) -> Iterator[Finding]:
    if not CURRENCY.match(str(f["currency"])):
        yield (
            "currency",
            "currency_invalid",
            f"currency {f['currency']!r} is not an ISO 4217 code; set it per row or on the channel",
        )
    price, sale = f["price"], f["sale_price"]
    assert isinstance(price, Decimal)
    yield from _amount("price", price)
    if isinstance(sale, Decimal):
        yield from _amount("sale_price", sale)
        if sale > price:
            yield (
                "sale_price",
                "sale_price_above_price",
                f"sale_price {sale} is above price {price}",
            )


def _amount(field: str, value: Decimal) -> Iterator[Finding]:
    if value <= 0:
        yield field, f"{field}_not_positive", f"{field} must be greater than 0 (got {value})"
    elif decimal_places(value) > 2:
        yield field, f"{field}_format", f"{field} {value} has more than 2 decimal places"


def _identifiers(f: dict[str, object]) -> Iterator[Finding]:
    gtin = str(f["gtin"])
    if gtin:
        reason = gtin_problem(gtin)
        if reason:
            yield "gtin", "gtin_invalid", f"GTIN {gtin} {reason}"
    reason = brand_problem(gtin, str(f["brand"]))  # [GMC 6324351]
    if reason:
        yield "brand", "brand_missing", reason
    condition = str(f["condition"])
    if condition and condition not in CONDITIONS:
        yield (
            "condition",
            "condition_invalid",
            f"condition {condition!r} is not new, refurbished or used",
        )


RULES: tuple[Callable[[dict[str, object]], Iterator[Finding]], ...] = (
    _id,
    _texts,
    _links,
    _availability,
    _prices,
    _identifiers,
)
