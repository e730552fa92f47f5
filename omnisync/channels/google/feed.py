"""Streaming writers for the Google primary feed: RSS 2.0 (channels.md §1.2) and TSV.

Items are written one at a time by lxml's incremental serializer, so escaping is never ours
and memory does not grow with the catalogue.
"""

from __future__ import annotations

import csv
import io
from contextlib import ExitStack
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

from lxml import etree

from omnisync.channels.base import Record
from omnisync.text import one_line
from omnisync.xmlinput import iter_elements

G = "http://base.google.com/ns/1.0"
CENT = Decimal("0.01")
# Output order. In Google's RSS example title, link and description carry no prefix [GMC 160589].
COLUMNS = (
    "id",
    "title",
    "description",
    "link",
    "image_link",
    "additional_image_link",
    "availability",
    "availability_date",
    "price",
    "sale_price",
    "brand",
    "gtin",
    "mpn",
    "identifier_exists",
    "condition",
    "google_product_category",
    "product_type",
    "item_group_id",
    "color",
    "size",
)
UNPREFIXED = frozenset({"title", "link", "description"})
TAGS = {name: name if name in UNPREFIXED else f"{{{G}}}{name}" for name in COLUMNS}


def format_price(amount: Decimal | None, currency: str) -> str:
    """``15990`` → ``15990.00 KZT`` [GMC 6324371]; empty when there is no amount."""
    return "" if amount is None else f"{amount.quantize(CENT)} {currency}"


def cells(record: Record) -> dict[str, Any]:
    """The record's values as feed strings (lists stay lists: one element per value in XML)."""
    f = record.fields
    out = {name: f.get(name, "") for name in COLUMNS}
    out["price"] = format_price(f["price"], f["currency"])
    out["sale_price"] = format_price(f["sale_price"], f["currency"])
    return out


class RssWriter:
    def __init__(self, stream: BinaryIO, title: str, link: str | None, description: str) -> None:
        self.stream, self.header = (
            stream,
            {"title": title, "link": link, "description": description},
        )
        self._stack = ExitStack()
        self._xf: Any = None

    def __enter__(self) -> RssWriter:
        # A constant declaration in the spelling of Google's examples; lxml writes the rest.
        self.stream.write(b'<?xml version="1.0" encoding="UTF-8"?>\n')
        self._xf = xf = self._stack.enter_context(etree.xmlfile(self.stream, encoding="utf-8"))
        self._stack.enter_context(xf.element("rss", version="2.0", nsmap={"g": G}))
        xf.write("\n")
        self._stack.enter_context(xf.element("channel"))
        for name, value in self.header.items():
            if value:
                self._element(name, value, "\n")
        return self

    def write(self, record: Record) -> None:
        xf = self._xf
        xf.write("\n")
        with xf.element("item"):
            for name, value in cells(record).items():
                for one in value if isinstance(value, list) else (value,):
                    if one:
                        self._element(TAGS[name], one, "\n  ")
            xf.write("\n")

    def _element(self, tag: str, text: str, indent: str) -> None:
        self._xf.write(indent)
        with self._xf.element(tag):
            self._xf.write(text)

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self._xf.write("\n")
        self._stack.__exit__(*exc)  # type: ignore[arg-type]


class TsvWriter:
    """Header of attribute names, one row per item; multiple values joined by commas
    [GMC 6324370]; tabs and line breaks inside values become spaces."""

    def __init__(self, stream: BinaryIO) -> None:
        self.text = io.TextIOWrapper(stream, encoding="utf-8", newline="", write_through=False)
        self.writer = csv.writer(self.text, delimiter="\t", lineterminator="\n")

    def __enter__(self) -> TsvWriter:
        self.writer.writerow(COLUMNS)
        return self

    def write(self, record: Record) -> None:
        row = cells(record)
        self.writer.writerow(
            [one_line(",".join(v) if isinstance(v, list) else v) for v in row.values()]
        )

    def __exit__(self, *exc: object) -> None:
        self.text.flush()
        self.text.detach()  # the caller owns (and fsyncs, and closes) the binary stream


def count_rss_items(path: Path) -> int:
    """Items in an existing feed. A damaged file counts the items before the damage, so the
    publish gate still protects what was readable."""
    count = 0
    try:
        for _ in iter_elements(path, "item"):
            count += 1
    except etree.XMLSyntaxError:
        pass
    return count


def count_tsv_rows(path: Path) -> int:
    with path.open("rb") as f:
        return max(sum(1 for line in f if line.strip()) - 1, 0)
