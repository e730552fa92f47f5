"""Building blocks for feed writers: one output per channel, XML documents, delimited text.

Every writer streams: one record in, its bytes out, nothing kept but counters. XML goes through
``XmlDocument``, the one serializer (it escapes every value; callers never pass markup);
delimited text through the csv module.
"""

from __future__ import annotations

import csv
import io
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import BinaryIO

from lxml import etree

from omnisync.channels.base import Record
from omnisync.channels.capabilities import FeedWriter, FileFeed
from omnisync.text import one_line, xml_allowed
from omnisync.xmlinput import UnsafeXml, iter_elements


class SingleFileFeed(FileFeed):
    """A channel with one output, ``<channel name>.<suffix>``."""

    name: str
    suffix: str

    def outputs(self) -> list[str]:
        return [f"{self.name}.{self.suffix}"]

    def open_writer(self, streams: Mapping[str, BinaryIO]) -> FeedWriter:
        (output,) = self.outputs()
        return self.open_stream(output, streams[output])

    @abstractmethod
    def open_stream(self, output: str, stream: BinaryIO) -> FeedWriter:
        """The writer for the one output."""


class CountingWriter(ABC):
    """A single-output writer that counts what it wrote."""

    def __init__(self, output: str) -> None:
        self.output = output
        self.written = 0

    def __enter__(self) -> CountingWriter:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close(failed=exc[0] is not None)

    def write(self, record: Record) -> None:
        self.write_record(record)
        self.written += 1

    def counts(self) -> Mapping[str, int]:
        return {self.output: self.written}

    @abstractmethod
    def open(self) -> None: ...

    @abstractmethod
    def write_record(self, record: Record) -> None: ...

    @abstractmethod
    def close(self, failed: bool) -> None: ...


class XmlFeedWriter(CountingWriter):
    """A writer of one ``XmlDocument`` (``doc``, made in ``open``), whose items the engine
    may serialise itself (``engine/google.py``, ``engine/kaspi.py``)."""

    doc: XmlDocument

    def write_items(self, markup: bytes, count: int) -> None:
        """``count`` items the engine serialised, as one UTF-8 text."""
        self.doc.markup(markup)
        self.written += count

    def close(self, failed: bool) -> None:
        self.doc.finish(failed)


# (tag, attributes, content): content is text, child nodes, or None (an empty element).
Node = tuple[str, Mapping[str, str] | None, "str | list[Node] | None"]


class XmlDocument:
    """An XML document written element by element; ``open(tag)`` nests, ``text()`` leaves.

    Indentation is written as text so that feeds diff well and stream at the same time.

    The one XML serializer of the feeds, and the only place that escapes: callers hand over
    names and values, never markup, and every value goes through ``escape_text`` or
    ``escape_attr`` (which YML offers, spilled as markup, use too); they escape exactly as
    libxml2 does (so the bytes equal what lxml's ``xmlfile`` wrote before,
    at a quarter of the cost per element — issue 7). Tags are Clark names (``{uri}local``),
    resolved to the prefixes declared with ``nsmap`` on an ancestor. Characters XML 1.0
    forbids are refused, as lxml refuses them: writers pass text through ``text.xml_safe``.
    """

    FLUSH = 1 << 16  # characters buffered before they are encoded and written

    def __init__(self, stream: BinaryIO, declaration: bytes) -> None:
        self.stream = stream
        stream.write(declaration + b"\n")  # a constant, in the spelling the channel's docs show
        self._open: list[str] = []
        self._prefixes: dict[str, str | None] = {}
        self._names: dict[str, str] = {}  # Clark name → prefixed name, once per tag
        self._parts: list[str] = []
        self._size = 0

    def open(
        self,
        tag: str,
        attrib: Mapping[str, str] | None = None,
        nsmap: Mapping[str | None, str] | None = None,
    ) -> None:
        self.newline()
        declared = ""
        for prefix, uri in (nsmap or {}).items():
            self._prefixes[uri] = prefix
            self._names.clear()
            declared += (
                f' xmlns:{prefix}="{escape_attr(uri)}"'
                if prefix
                else f' xmlns="{escape_attr(uri)}"'
            )
        name = self._name(tag)
        self._write(f"<{name}{declared}{self._attributes(attrib)}>")
        self._open.append(name)

    def close(self) -> None:
        """Close the innermost open element."""
        name = self._open.pop()
        self.newline()
        self._write(f"</{name}>")

    def text(self, tag: str, value: str, attrib: Mapping[str, str] | None = None) -> None:
        name = self._name(tag)
        indent = "\n" + "  " * len(self._open)
        self._write(f"{indent}<{name}{self._attributes(attrib)}>{escape_text(value)}</{name}>")

    def leaves(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Several ``text`` elements without attributes, in one write (a feed item's fields)."""
        indent, names, parts = "\n" + "  " * len(self._open), self._names, []
        for tag, value in pairs:
            name = names.get(tag) or self._name(tag)
            parts.append(f"{indent}<{name}>{escape_text(value)}</{name}>")
        self._write("".join(parts))

    def element(self, node: Node) -> None:
        """A whole element in one write (a feed item): ``(tag, attributes, content)`` where
        content is text, a list of child nodes, or None for an element with no content
        (``<a x="1"></a>``, as lxml writes it). The bytes are those of the equivalent
        ``open``/``text``/``close`` calls, at a third of the cost."""
        self.newline()
        self._write(self._markup(node, len(self._open)))

    def _markup(self, node: Node, depth: int) -> str:
        tag, attrib, content = node
        name = self._names.get(tag) or self._name(tag)
        head = f"<{name}{self._attributes(attrib)}>"
        if content is None:
            return f"{head}</{name}>"
        if isinstance(content, str):
            return f"{head}{escape_text(content)}</{name}>"
        indent = "\n" + "  " * (depth + 1)
        inner = "".join(indent + self._markup(child, depth + 1) for child in content)
        return f"{head}{inner}\n{'  ' * depth}</{name}>"

    def markup(self, data: bytes) -> None:
        """Elements serialised elsewhere as UTF-8, each with its leading line break and
        indentation: the engine's items (``engine/xml.py`` writes what ``element`` would)."""
        self._flush()
        self.stream.write(data)

    def newline(self) -> None:
        if self._open:  # nothing may precede the root element
            self._write("\n" + "  " * len(self._open))

    def finish(self, failed: bool) -> None:
        """Close every open element. After a failure the file is discarded: leave it."""
        if failed:
            return
        while self._open:
            self.close()
        self._write("\n")
        self._flush()

    def _name(self, tag: str) -> str:
        found = self._names.get(tag)
        if found is None:
            found = self._names[tag] = self._qualified(tag)
        return found

    def _qualified(self, tag: str) -> str:
        if tag[0] != "{":
            return tag
        uri, local = tag[1:].split("}", 1)
        prefix = self._prefixes[uri]  # a KeyError: a namespace no ancestor declared
        return f"{prefix}:{local}" if prefix else local

    def _attributes(self, attrib: Mapping[str, str] | None) -> str:
        if not attrib:
            return ""
        return "".join(f' {self._name(k)}="{escape_attr(v)}"' for k, v in attrib.items())

    def _write(self, text: str) -> None:
        self._parts.append(text)
        self._size += len(text)
        if self._size > self.FLUSH:
            self._flush()

    def _flush(self) -> None:
        self.stream.write("".join(self._parts).encode("utf-8"))
        self._parts, self._size = [], 0


# "&" first. str.replace behind an ``in`` test beats str.translate for non-ASCII text by far.
_ATTR = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("\r", "&#13;"), ('"', "&quot;"),
         ("\n", "&#10;"), ("\t", "&#9;"))  # fmt: skip


def escape_text(value: str) -> str:
    """Element content, escaped as libxml2 escapes it. Written out: it runs per field."""
    if not xml_allowed(value):
        _refuse()
    if "&" in value:
        value = value.replace("&", "&amp;")
    if "<" in value:
        value = value.replace("<", "&lt;")
    if ">" in value:
        value = value.replace(">", "&gt;")
    if "\r" in value:
        value = value.replace("\r", "&#13;")
    return value


def escape_attr(value: str) -> str:
    """An attribute value, escaped as libxml2 escapes it."""
    if not xml_allowed(value):
        _refuse()
    for char, entity in _ATTR:
        if char in value:
            value = value.replace(char, entity)
    return value


def cdata(value: str) -> str:
    """A CDATA section (HTML stays readable); text holding ``]]>`` is escaped instead."""
    if "]]>" in value:
        return escape_text(value)
    if not xml_allowed(value):
        _refuse()
    return f"<![CDATA[{value}]]>"


def _refuse() -> None:
    raise ValueError("All strings must be XML compatible: Unicode or ASCII, no NULL bytes "
                     "or control characters")  # fmt: skip


class DelimitedWriter:
    """TSV or CSV with a header row; ``rows(record)`` gives a record's rows (usually one).
    Cells are made one-line; quoting follows RFC 4180, which is what Google's "quoted fields"
    [GMC 14998273] and Meta's CSV import expect. ``counts()`` counts rows."""

    def __init__(
        self,
        output: str,
        stream: BinaryIO,
        columns: Sequence[str],
        rows: Callable[[Record], Iterable[Sequence[str]]],
        delimiter: str,
    ) -> None:
        self.output, self.columns, self.rows = output, columns, rows
        self.written = 0
        self.text = io.TextIOWrapper(stream, encoding="utf-8", newline="", write_through=False)
        self.writer = csv.writer(self.text, delimiter=delimiter, lineterminator="\n")

    def __enter__(self) -> DelimitedWriter:
        self.writer.writerow(self.columns)
        return self

    def write(self, record: Record) -> None:
        for row in self.rows(record):
            self.writer.writerow([one_line(cell) for cell in row])
            self.written += 1

    def counts(self) -> Mapping[str, int]:
        return {self.output: self.written}

    def write_items(self, markup: bytes, count: int) -> None:
        """``count`` rows the engine serialised (``engine/meta.py``), as one UTF-8 text."""
        self.text.flush()  # the rows written before, first
        self.text.buffer.write(markup)
        self.written += count

    def __exit__(self, *exc: object) -> None:
        self.text.flush()
        self.text.detach()  # the caller owns (and fsyncs, and closes) the binary stream


def count_rows(path: Path, delimiter: str) -> int:
    """Data rows of an existing delimited file (header excluded)."""
    with path.open(encoding="utf-8", errors="replace", newline="") as f:
        return max(sum(1 for row in csv.reader(f, delimiter=delimiter) if row) - 1, 0)


def count_xml(path: Path, tag: str) -> int:
    """Elements named ``tag`` in an existing XML file. A damaged file counts the elements before
    the damage, so the publish gate still protects what was readable; a file with a DOCTYPE is
    none of ours (our writers never emit one) and counts nothing."""
    count = 0
    try:
        for _ in iter_elements(path, tag):
            count += 1
    except (etree.XMLSyntaxError, UnsafeXml):
        pass
    return count
