"""Satu.kz / Prom YML import file (channels.md §3.1, §7). Satu reads YML by URL or upload;
``quantity_in_stock`` and ``portal_category_id`` are Prom/Satu extensions (unconfirmed, §3.1).

The written file is checked against the YML checklist (§7.5) before it replaces the old one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, Literal

from lxml import etree
from pydantic import BaseModel, ConfigDict, Field, model_validator

from omnisync import markup
from omnisync.channels import limits, satu_orders
from omnisync.channels.base import Channel, ChannelConfig, Record
from omnisync.channels.capabilities import FeedWriter, PullsOrders, PushSettings  # fmt: skip
from omnisync.channels.satu_api import SatuPushes
from omnisync.channels.writers import (
    SingleFileFeed,
    cdata,
    count_xml,
    escape_attr,
    escape_text,
)
from omnisync.channels.yml import DESCRIPTION_MARKUP, CategoryTree, YmlWriter, checklist
from omnisync.checks import ascii_url, currency_mismatch, image_type_problem, url_problem
from omnisync.models import Problem, Product, Severity
from omnisync.secrets import Secret
from omnisync.text import amount, xml_safe

# Yandex allows only letters and digits (§7.2); Satu's own rule is unconfirmed, so '-' and '_'
# (common in SKUs, and the id Satu's API edits by) only warn.
STRICT_ID = re.compile(r"[A-Za-z0-9]{1,20}")
LOOSE_ID = re.compile(r"[A-Za-z0-9_-]{1,20}")
FILE_ID = re.compile(r"[^\s]{1,64}")  # what the publish check insists on


class Shop(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(min_length=1)
    company: str = Field(min_length=1)
    url: str = Field(pattern=r"^https?://\S+$")


class SatuConfig(ChannelConfig, PushSettings):
    """``shop`` makes the YML file; ``base_url`` + ``token`` the API pushes; either or both."""

    type: Literal["satu"]
    shop: Shop | None = None
    currency: str = Field(default="KZT", pattern=r"^[A-Z]{3}$")
    # Yandex's rule (letters and digits only) as an error; off by default because Satu's own
    # rule is unconfirmed and SKUs with '-' are the norm.
    strict_ids: bool = False
    base_url: str | None = Field(default=None, pattern=r"^https?://\S+$")
    token: Secret | None = None
    requests_per_minute: float = Field(default=limits.SATU_API_REQUESTS_PER_MINUTE, gt=0)

    @model_validator(mode="after")
    def _file_or_api(self) -> SatuConfig:
        if (self.base_url is None) != (self.token is None):
            raise ValueError("base_url and token go together (the API needs both)")
        if self.shop is None and self.base_url is None:
            raise ValueError("give shop (for the YML file) or base_url and token (for pushes)")
        return self


class Satu(SatuPushes, PullsOrders, SingleFileFeed):
    config_model = SatuConfig
    config: SatuConfig
    label = "Satu"
    suffix = "xml"

    def to_record(self, product: Product) -> Record:
        record = self.new_record(product)
        units = self.units(product)
        record.fields = {
            # Not "false": YML reads that as made to order (limits.SATU_OUT_OF_STOCK_AVAILABLE).
            "available": "true" if units is None or units > 0
                         else limits.SATU_OUT_OF_STOCK_AVAILABLE,
            "url": ascii_url(product.url),
            "price": product.selling_price,
            "oldprice": product.price if product.on_sale else None,
            "currency": product.currency or self.config.currency,
            "category": tuple(xml_safe(c) for c in product.category),
            "portal_category_id": self.rules.category(product),
            "pictures": self._pictures(record, product),
            "name": self.cut(record, "name", self.title(record, product, "name"),
                             limits.SATU_NAME_MAX),
            "vendor": xml_safe(product.brand),
            "vendorCode": xml_safe(product.mpn),
            "description": self._description(record, xml_safe(product.description)),
            "params": _params(product),
            "quantity_in_stock": units,
        }  # fmt: skip
        return record

    def _pictures(self, record: Record, product: Product) -> list[str]:
        """The main picture, then the additional ones that are images of a type Google and Meta
        take (checks.IMAGE_TYPES; Satu lists none we could confirm): a PDF or SVG among them is
        left out with a warning. A main picture of another type is refused (``_checks``)."""
        pictures = [product.image_url] if product.image_url else []
        for url in product.additional_image_urls:
            kind = image_type_problem(url) if url else None
            if kind:
                record.notes.append(self.problem(
                    record, "picture", "picture_dropped", f"{url!r} {kind}; left out",
                    Severity.WARNING,
                ))  # fmt: skip
            elif url:
                pictures.append(url)
        return [ascii_url(u) for u in pictures[: limits.YML_PICTURES_MAX]]

    def _description(self, record: Record, raw: str) -> str:
        """Safe HTML for the CDATA section; as plain text when it must be shortened."""
        cleaned = markup.clean(raw, DESCRIPTION_MARKUP)
        if cleaned.unsafe:
            self._note(record, markup.UNSAFE_CODE, markup.UNSAFE_MESSAGE)
        limit = limits.SATU_DESCRIPTION_MAX
        if len(cleaned.text) <= limit:
            return cleaned.text
        if markup.tagged(cleaned.text):  # cutting through markup would leave it broken
            self._note(record, "description_html_removed",
                       f"description is over {limit} characters with HTML; the tags were "
                       "removed so it could be shortened cleanly")  # fmt: skip
        return markup.shortened(
            raw, cleaned.text, limit, lambda text, room, length: self.cut(
                record, "description", text, room, documented=limit, length=length
            ),
        )  # fmt: skip

    def _note(self, record: Record, code: str, message: str) -> None:
        record.notes.append(self.problem(record, "description", code, message, Severity.WARNING))

    def writes_files(self) -> bool:
        return self.config.shop is not None

    def can_pull(self) -> bool:
        return self.can_push()

    def orders_api(self, budget: Any) -> Any:
        return self.open_api(budget)

    def pull_orders(self, api: Any, since: datetime, until: datetime) -> Iterator[list[Any]]:
        return satu_orders.pages(self, api, since, until)

    def validate(self, record: Record) -> list[Problem]:
        if not self.writes_files():  # API only: what the API takes is a price and stock
            return _price_problems(self, record)
        found = [self.problem(record, *finding, severity=sev) for finding, sev in _checks(record)]
        if self.config.strict_ids and not STRICT_ID.fullmatch(record.key):
            found.append(
                self.problem(
                    record,
                    "id",
                    "offer_id_strict",
                    "strict_ids: offer ids must be 1-20 letters and digits",
                )
            )
        mismatch = currency_mismatch(
            record.fields["currency"], self.config.currency, "this YML declares only"
        )
        if mismatch:
            found.append(self.problem(record, "currency", "currency_mismatch", mismatch))
        return [*record.notes, *found]

    def open_stream(self, output: str, stream: BinaryIO) -> FeedWriter:
        return YmlWriter(output, stream, self._header(), _offer)

    def _header(self) -> etree._Element:
        root = etree.Element("yml_catalog", date=self.context.now.strftime(limits.YML_DATE_FORMAT))
        shop = etree.SubElement(root, "shop")
        for tag in ("name", "company", "url"):
            etree.SubElement(shop, tag).text = xml_safe(getattr(self.config.shop, tag, ""))
        currencies = etree.SubElement(shop, "currencies")
        etree.SubElement(currencies, "currency", id=self.config.currency, rate="1")
        return root

    def count_items(self, output: str, path: Path) -> int:
        return count_xml(path, "offer")

    def verify(self, output: str, path: Path) -> str | None:
        problems = checklist(path, FILE_ID, limits.SATU_NAME_MAX)
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        return f"fails the YML checklist: {problems[0]}{more}" if problems else None


def _price_problems(channel: Channel, record: Record) -> list[Problem]:
    if record.fields["price"] > 0:
        return []
    return [channel.problem(record, "price", "price_not_positive", "price must be greater than 0")]


def _params(product: Product) -> list[tuple[str, str]]:
    """Characteristics: colour and size, then the catalogue's custom columns by name."""
    named = [("Цвет", product.color), ("Размер", product.size)]
    named += sorted(product.attributes.items())
    return [(xml_safe(name), xml_safe(value)) for name, value in named if value]


def _checks(record: Record) -> list[tuple[tuple[str, str, str], Severity]]:
    """Item-level §3.3 / §7.5 checks."""
    f, found = record.fields, []
    error, warning = Severity.ERROR, Severity.WARNING
    if not LOOSE_ID.fullmatch(record.key):
        found.append(
            (
                (
                    "id",
                    "offer_id_format",
                    "YML offer ids are up to 20 Latin letters, digits, '-' and '_'",
                ),
                error,
            )
        )
    if not f["name"]:
        found.append((("name", "name_missing", "name (the title) is empty"), error))
    if f["price"] <= 0:
        found.append((("price", "price_not_positive", "price must be greater than 0"), error))
    if not f["category"]:
        found.append((("category", "category_missing", "YML offers need a category"), error))
    for field, url in [("url", f["url"]), *(("picture", p) for p in f["pictures"])]:
        reason = url_problem(url) if url else None
        if reason:
            found.append(((field, f"{field}_invalid", f"{field} {reason}"), error))
    if not f["pictures"]:
        found.append((("picture", "picture_missing", "no picture"), warning))
    elif kind := image_type_problem(f["pictures"][0]):  # the rule Google and Meta apply
        found.append((("picture", "picture_type", f"picture {kind}"), error))
    return found


def _offer(record: Record, categories: CategoryTree) -> str:
    """One ``<offer>``, indented as it sits in the file (three levels deep), as markup."""
    f = record.fields
    key, available = escape_attr(record.key), escape_attr(f["available"])
    lines = [f'      <offer id="{key}" available="{available}">']
    leaf = _Leaves(lines)
    leaf("url", f["url"])
    leaf("price", amount(f["price"]))
    if f["oldprice"] is not None:
        leaf("oldprice", amount(f["oldprice"]))
    leaf("currencyId", f["currency"])
    leaf("categoryId", str(categories.add(f["category"])))
    leaf("portal_category_id", f["portal_category_id"] or "")
    for picture in f["pictures"]:
        leaf("picture", picture)
    for tag in ("name", "vendor", "vendorCode"):
        leaf(tag, f[tag])
    if f["description"]:
        # CDATA keeps description HTML readable (escaped instead when it holds "]]>": only plain
        # text can, as cleaned HTML writes ">" as &gt;).
        lines.append(f"        <description>{cdata(f['description'])}</description>")
    for name, value in f["params"]:
        lines.append(f'        <param name="{escape_attr(name)}">{escape_text(value)}</param>')
    if f["quantity_in_stock"] is not None:
        leaf("quantity_in_stock", str(f["quantity_in_stock"]))
    lines.append("      </offer>\n")
    return "\n".join(lines)


class _Leaves:
    """Appends ``<tag>text</tag>`` lines (none for empty text) one level inside an offer."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines

    def __call__(self, tag: str, text: str) -> None:
        if text:
            self.lines.append(f"        <{tag}>{escape_text(text)}</{tag}>")
