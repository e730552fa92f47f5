"""Meta catalog CSV for Facebook and Instagram shops.

Field names and formats follow Meta's catalog field reference: availability is written with a
space (``in stock``), price as ``15990.00 KZT``, description is plain text. Length limits are
in ``limits`` (from third-party summaries of that reference).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, BinaryIO, Literal

from pydantic import Field

from omnisync import markup
from omnisync.channels import limits
from omnisync.channels.base import Channel, ChannelConfig, Record
from omnisync.channels.capabilities import FeedWriter
from omnisync.channels.writers import DelimitedWriter, SingleFileFeed, count_rows
from omnisync.checks import (
    ascii_url,
    brand_problem,
    image_type_problem,
    normalize_gtin,
    url_problem,
)
from omnisync.models import Problem, Product, Severity
from omnisync.text import money, xml_safe

COLUMNS = (
    "id", "title", "description", "availability", "condition", "price", "sale_price", "link",
    "image_link", "additional_image_link", "brand", "item_group_id",
    "quantity_to_sell_on_facebook",
)  # fmt: skip
CONDITIONS = frozenset({"new", "refurbished", "used"})
CURRENCY = re.compile(r"[A-Z]{3}")  # ISO 4217, matched whole (the channel's setting is checked)


class MetaConfig(ChannelConfig):
    type: Literal["meta"]
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")


class MetaCatalog(Channel, SingleFileFeed):
    config_model = MetaConfig
    config: MetaConfig
    label = "Meta"
    suffix = "csv"

    def to_record(self, product: Product) -> Record:
        record = self.new_record(product)
        units = self.units(product)
        currency = product.currency or self.config.currency or ""
        record.fields = {
            "id": record.key,
            "title": self.cut(record, "title", self.title(record, product), limits.META_TITLE_MAX),
            "description": self._description(record, xml_safe(product.description)),
            "availability": "in stock" if units is None or units > 0 else "out of stock",
            "condition": product.condition.lower() or "new",
            "price": money(product.price, currency),
            "sale_price": money(product.selling_price, currency) if product.on_sale else "",
            "link": ascii_url(product.url),
            "image_link": ascii_url(product.image_url),
            "additional_image_link": ",".join(
                ascii_url(u).replace(",", "%2C")
                for u in product.additional_image_urls[: limits.META_ADDITIONAL_IMAGES_MAX]
            ),
            "brand": xml_safe(product.brand),
            "item_group_id": xml_safe(product.item_group_id),
            "quantity_to_sell_on_facebook": "" if units is None else str(units),
        }  # fmt: skip
        record.fields["_currency"], record.fields["_amount"] = currency, product.price
        record.fields["_gtin"] = normalize_gtin(product.gtin)  # not a column: for the brand check
        return record

    def _description(self, record: Record, raw: str) -> str:
        """Plain text, one line (a CSV cell is one anyway): Meta's description "must not contain
        HTML tags or character entities" (developers.facebook.com/docs/commerce-platform/catalog/
        best-practices), so tags go, entities are decoded and blocks leave a space."""
        cleaned = markup.clean(raw, markup.TEXT)
        if cleaned.unsafe:
            record.notes.append(self.problem(record, "description", markup.UNSAFE_CODE,
                                             markup.UNSAFE_MESSAGE, Severity.WARNING))  # fmt: skip
        text = " ".join(cleaned.text.split())
        return self.cut(record, "description", text, limits.META_DESCRIPTION_MAX)

    def validate(self, record: Record) -> list[Problem]:
        return [*record.notes, *(self.problem(record, *f) for f in _checks(record))]

    def open_stream(self, output: str, stream: BinaryIO) -> FeedWriter:
        return DelimitedWriter(
            output, stream, COLUMNS, lambda r: [[r.fields[c] for c in COLUMNS]], ","
        )

    def count_items(self, output: str, path: Path) -> int:
        return count_rows(path, ",")


def _checks(record: Record) -> list[tuple[str, str, str]]:
    f, found = record.fields, []
    if len(record.key) > limits.META_ID_MAX:
        found.append(("id", "id_too_long", f"id is over {limits.META_ID_MAX} characters"))
    if not f["title"].strip():
        found.append(("title", "title_missing", "title is empty"))
    if not f["description"].strip():
        found.append(("description", "description_missing", "description is empty"))
    currency = _currency_problem(f["_currency"])
    if currency:
        found.append(("price", "currency_invalid", currency))
    elif f["_amount"] <= 0:
        found.append(("price", "price_not_positive", "price must be greater than 0"))
    if f["condition"] not in CONDITIONS:
        found.append((
            "condition", "condition_invalid",
            f"condition {f['condition']!r} must be one of new, refurbished or used",
        ))  # fmt: skip
    if len(f["brand"]) > limits.META_BRAND_MAX:
        found.append(("brand", "brand_too_long", f"brand is over {limits.META_BRAND_MAX}"))
    return found + _links_and_brand(f)


def _currency_problem(currency: str) -> str | None:
    """Why the price's currency (the row's, else the channel's) is unusable, or None."""
    if not currency:
        return "no currency: set it per row or on the channel"
    if not CURRENCY.fullmatch(currency):
        return f"the row's currency {currency!r} is not an ISO 4217 code like KZT"
    return None


def _links_and_brand(f: dict[str, Any]) -> list[tuple[str, str, str]]:
    found = []
    for field in ("link", "image_link"):
        reason = url_problem(f[field]) if f[field] else "is empty"
        if reason:
            found.append((field, f"{field}_invalid", f"{field} {reason}"))
    kind = image_type_problem(f["image_link"])  # Google's list: checks.IMAGE_TYPES
    if kind:
        found.append(("image_link", "image_link_type", f"image_link {kind}"))
    brand = brand_problem(f["_gtin"], f["brand"])
    if brand:
        found.append(("brand", "brand_missing", brand))
    return found
