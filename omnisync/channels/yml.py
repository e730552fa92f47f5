"""Yandex Market Language (YML) pieces shared by YML channels (channels.md §7).

YML wants ``<categories>`` before ``<offers>``, but categories are known only once every product
has been read. So the writer serializes each offer into a spill file as it streams, and at the
end writes the header (with the categories it saw) and copies the offers after it: still one
pass over the catalogue, memory bounded by the category tree.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, BinaryIO

from lxml import etree

from omnisync import markup
from omnisync.channels.base import Record
from omnisync.channels.writers import CountingWriter
from omnisync.checks import url_problem
from omnisync.keyset import KeySet
from omnisync.xmlinput import HARDENED

MARKER = "omnisync-offers"
# An offer's <description> may hold the XHTML tags <h3>, <ul><li>, <p> and <br/> inside CDATA
# (Yandex's description element, yandex.ru/support/partnermarket/elements/description.html, as
# quoted by integrators: third-party). <strong>, <em> and <ol> are what Prom/Satu's own editor
# writes (unconfirmed). Links are not allowed in a description, so <a> is unwrapped; other
# headings become <h3>; blocks YML has no tag for (div, tr) leave a <br>.
DESCRIPTION_MARKUP = markup.Profile(
    keep=frozenset({"h3", "ul", "ol", "li", "p", "br", "strong", "em"}),
    rename={"b": "strong", "i": "em"} | {f"h{level}": "h3" for level in (1, 2, 4, 5, 6)},
)
CATEGORY_ID_SPACE = 900_000_000  # ids are 9-digit numbers: 100000000-999999999


def category_id(path: tuple[str, ...]) -> int:
    """A stable id for a category path: the same path gets the same id in every run and every
    catalogue order, so channel-side category mappings survive re-imports."""
    digest = hashlib.blake2b(" > ".join(path).encode("utf-8"), digest_size=8).digest()
    return 100_000_000 + int.from_bytes(digest, "big") % CATEGORY_ID_SPACE


class CategoryTree:
    """Category paths seen so far, each prefix a category with its parent."""

    def __init__(self) -> None:
        self.ids: dict[tuple[str, ...], int] = {}
        self._taken: set[int] = set()

    def add(self, path: tuple[str, ...]) -> int | None:
        """The id of ``path`` (registering it and its parents); None for an empty path."""
        for depth in range(1, len(path) + 1):
            prefix = path[:depth]
            if prefix not in self.ids:
                self.ids[prefix] = self._free(category_id(prefix))
        return self.ids[path] if path else None

    def _free(self, wanted: int) -> int:
        while wanted in self._taken:  # a hash collision: rare, resolved deterministically
            wanted = 100_000_000 + (wanted - 99_999_999) % CATEGORY_ID_SPACE
        self._taken.add(wanted)
        return wanted

    def elements(self) -> Iterator[tuple[str, dict[str, str]]]:
        """(name, attributes) per category, parents first, in a stable order."""
        for path in sorted(self.ids):
            attrib = {"id": str(self.ids[path])}
            if len(path) > 1:
                attrib["parentId"] = str(self.ids[path[:-1]])
            yield path[-1], attrib


class YmlWriter(CountingWriter):
    """Streams offers to a spill file; on close writes ``header`` + categories + offers.

    ``offer(record, categories)`` gives one ``<offer>`` as indented markup (built with the
    escaping of ``writers``: lxml per offer cost a third of the run); ``header()`` builds
    ``<yml_catalog><shop>…`` up to (not including) categories and offers.
    """

    def __init__(self, output: str, stream: BinaryIO, header: etree._Element, offer: Any) -> None:
        super().__init__(output)
        self.stream, self.header, self.build_offer = stream, header, offer
        self.categories = CategoryTree()

    def open(self) -> None:
        self.spill = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()

    def write_record(self, record: Record) -> None:
        self.spill.write(self.build_offer(record, self.categories).encode("utf-8"))

    def write_items(self, markup: bytes, count: int) -> None:
        """``count`` offers the engine serialised (``engine/satu.py``), as one UTF-8 text."""
        self.spill.write(markup)
        self.written += count

    def close(self, failed: bool) -> None:
        try:
            if not failed:
                self._assemble()
        finally:
            self.spill.close()

    def _assemble(self) -> None:
        shop = self.header.find("shop")
        assert shop is not None
        categories = etree.SubElement(shop, "categories")
        for name, attrib in self.categories.elements():
            etree.SubElement(categories, "category", attrib).text = name
        offers = etree.SubElement(shop, "offers")
        offers.append(etree.Comment(MARKER))
        etree.indent(self.header, space="  ")
        head, tail = etree.tostring(self.header, encoding="utf-8").split(
            f"<!--{MARKER}-->".encode()
        )
        self.stream.write(b'<?xml version="1.0" encoding="UTF-8"?>\n' + head.rstrip() + b"\n")
        self.spill.seek(0)
        shutil.copyfileobj(self.spill, self.stream, 1 << 20)
        self.stream.write(b"    " + tail.lstrip() + b"\n")


def checklist(path: Path, id_pattern: re.Pattern[str], name_max: int) -> list[str]:
    """The file-level YML checks of channels.md §7.5, streamed over a written file."""
    state = _Checklist(id_pattern, name_max)
    try:
        # Only the elements read: an event for each of an offer's fields cost half the time.
        tags = ("currency", "category", "offer", "yml_catalog")
        for _, element in etree.iterparse(str(path), events=("end",), tag=tags, **HARDENED):
            state.see(element)
    except etree.XMLSyntaxError as exc:
        return [f"not well-formed XML: {exc.msg}"]
    return state.finish()


class _Checklist:
    def __init__(self, id_pattern: re.Pattern[str], name_max: int) -> None:
        self.id_pattern, self.name_max = id_pattern, name_max
        self.problems: list[str] = []
        self.currencies: dict[str, str] = {}
        self.categories: dict[str, str | None] = {}
        self.used: set[str] = set()
        self.offer_ids = KeySet()  # a million ids: 16 MB, not 110
        self.shop: set[str] = set()
        self.date = False

    def see(self, el: Any) -> None:
        tag = el.tag
        if tag == "currency":
            self.currencies[el.get("id", "")] = el.get("rate", "")
        elif tag == "category":
            self.categories[el.get("id", "")] = el.get("parentId")
        elif tag == "offer":
            self._offer(el)
            el.clear(keep_tail=False)
            parent = el.getparent()  # and the empty shells of the offers before it
            while parent is not None and el.getprevious() is not None:
                del parent[0]
        elif tag == "yml_catalog":
            self.date = bool(el.get("date"))
            for shop in el.iterchildren("shop"):  # its offers are gone by now; its name stays
                for field in ("name", "company", "url"):
                    if (shop.findtext(field) or "").strip():
                        self.shop.add(field)

    def _offer(self, el: Any) -> None:
        offer_id = el.get("id", "")
        say = self.problems.append
        if not self.id_pattern.fullmatch(offer_id) or offer_id in self.offer_ids:
            say(f"offer id {offer_id!r} is malformed or repeated")
        self.offer_ids.add(offer_id)
        self.used.add(el.findtext("currencyId") or "")
        self.used.add("category:" + (el.findtext("categoryId") or ""))
        name = el.findtext("name") or ""
        if not name or len(name) > self.name_max:
            say(f"offer {offer_id}: name is empty or over {self.name_max} characters")
        self._money(el, offer_id)
        quantity = el.findtext("quantity_in_stock")
        if quantity is not None and (
            not quantity.isdigit() or (el.get("available") == "true") != (int(quantity) > 0)
        ):
            say(f"offer {offer_id}: quantity_in_stock {quantity} disagrees with available")
        for url in [el.findtext("url") or "", *(p.text or "" for p in el.iter("picture"))]:
            if url and url_problem(url):
                say(f"offer {offer_id}: {url!r} {url_problem(url)}")

    def _money(self, el: Any, offer_id: str) -> None:
        try:
            price = Decimal(el.findtext("price") or "0")
            old = el.findtext("oldprice")
            if price <= 0 or (old is not None and Decimal(old) <= price):
                self.problems.append(f"offer {offer_id}: price must be > 0 and below oldprice")
        except InvalidOperation:
            self.problems.append(f"offer {offer_id}: price is not a number")

    def finish(self) -> list[str]:
        say = self.problems.append
        if not self.date:
            say("yml_catalog has no date")
        if self.shop != {"name", "company", "url"}:
            say("shop needs name, company and url")
        if sorted(self.currencies.values()).count("1") != 1:
            say("exactly one currency must have rate 1")
        for used in sorted(self.used):
            if used.startswith("category:"):
                if used[9:] not in self.categories:
                    say(f"categoryId {used[9:] or '(none)'} is not declared")
            elif used not in self.currencies:
                say(f"currencyId {used or '(none)'} is not declared")
        self._tree()
        return self.problems

    def _tree(self) -> None:
        for start in self.categories:
            seen: set[str] = set()
            node: str | None = start
            while node is not None:
                if node in seen or node not in self.categories:
                    self.problems.append(f"category {start}: parentId chain is broken or cyclic")
                    break
                seen.add(node)
                node = self.categories[node]
