"""Streaming writers for the Google primary feed: RSS 2.0 (channels.md §1.2) and TSV."""

from __future__ import annotations

from typing import Any, BinaryIO

from omnisync.channels.base import Record
from omnisync.channels.writers import DelimitedWriter, XmlDocument, XmlFeedWriter
from omnisync.text import money

G = "http://base.google.com/ns/1.0"
# Output order. In Google's RSS example title, link and description carry no prefix [GMC 160589].
COLUMNS = (
    "id", "title", "description", "link", "image_link", "additional_image_link", "availability",
    "availability_date", "price", "sale_price", "brand", "gtin", "mpn", "identifier_exists",
    "condition", "google_product_category", "product_type", "item_group_id", "color", "size",
)  # fmt: skip
UNPREFIXED = frozenset({"title", "link", "description"})
TAGS = {name: name if name in UNPREFIXED else f"{{{G}}}{name}" for name in COLUMNS}


def cells(record: Record) -> dict[str, Any]:
    """The record's values as feed strings (lists stay lists: one element per value in XML)."""
    f = record.fields
    out = {name: f.get(name, "") for name in COLUMNS}
    out["price"] = money(f["price"], f["currency"])  # "15990.00 KZT" [GMC 6324371]
    out["sale_price"] = money(f["sale_price"], f["currency"])
    return out


class RssWriter(XmlFeedWriter):
    def __init__(self, output: str, stream: BinaryIO, header: dict[str, str | None]) -> None:
        super().__init__(output)
        self.stream, self.header = stream, header

    def open(self) -> None:
        self.doc = XmlDocument(self.stream, b'<?xml version="1.0" encoding="UTF-8"?>')
        self.doc.open("rss", {"version": "2.0"}, nsmap={"g": G})
        self.doc.open("channel")
        for name, value in self.header.items():
            if value:
                self.doc.text(name, value)

    def write_record(self, record: Record) -> None:
        pairs: list[tuple[str, str]] = []
        for name, value in cells(record).items():
            if isinstance(value, list):
                pairs.extend((TAGS[name], one) for one in value if one)
            elif value:
                pairs.append((TAGS[name], value))
        self.doc.open("item")
        self.doc.leaves(pairs)
        self.doc.close()


def tsv_writer(output: str, stream: BinaryIO) -> DelimitedWriter:
    """Header of attribute names, one row per item; several values joined by commas
    [GMC 6324370]."""

    def row(record: Record) -> list[list[str]]:
        return [[",".join(v) if isinstance(v, list) else v for v in cells(record).values()]]

    return DelimitedWriter(output, stream, COLUMNS, row, "\t")
