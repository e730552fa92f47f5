"""Building blocks for feed writers: one output per channel, XML documents, delimited text.

Every writer streams: one record in, its bytes out, nothing kept but counters. XML goes through
lxml's incremental serializer (escaping is never ours); delimited text through the csv module.
"""

from __future__ import annotations

import csv
import io
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from lxml import etree

from omnisync.channels.base import FeedWriter, FileFeed, Record
from omnisync.text import one_line
from omnisync.xmlinput import iter_elements


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


class XmlDocument:
    """An XML document written element by element; ``open(tag)`` nests, ``text()`` leaves.

    Indentation is written as text so that feeds diff well and stream at the same time.
    """

    def __init__(self, stream: BinaryIO, declaration: bytes) -> None:
        self.stream = stream
        stream.write(declaration + b"\n")  # a constant, in the spelling the channel's docs show
        self._file = etree.xmlfile(stream, encoding="utf-8")
        self.xf: Any = self._file.__enter__()
        self._open: list[Any] = []

    def open(
        self,
        tag: str,
        attrib: Mapping[str, str] | None = None,
        nsmap: Mapping[str | None, str] | None = None,
    ) -> None:
        self.newline()
        element = self.xf.element(tag, attrib or {}, nsmap=nsmap)
        element.__enter__()
        self._open.append(element)

    def close(self) -> None:
        """Close the innermost open element."""
        element = self._open.pop()
        self.newline()
        element.__exit__(None, None, None)

    def text(self, tag: str, value: str, attrib: Mapping[str, str] | None = None) -> None:
        self.newline()
        with self.xf.element(tag, attrib or {}):
            self.xf.write(value)

    def empty(self, tag: str, attrib: Mapping[str, str]) -> None:
        """An element with attributes and no content."""
        self.newline()
        with self.xf.element(tag, attrib):
            pass

    def element(self, element: etree._Element) -> None:
        """Write a prepared element (for CDATA, or empty elements with attributes)."""
        self.newline()
        self.xf.write(element)

    def newline(self) -> None:
        if self._open:  # nothing may precede the root element
            self.xf.write("\n" + "  " * len(self._open))

    def finish(self, failed: bool) -> None:
        """Close every open element. After a failure the file is discarded: leave it."""
        if failed:
            return
        while self._open:
            self.close()
        self._file.__exit__(None, None, None)
        self.stream.write(b"\n")


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

    def __exit__(self, *exc: object) -> None:
        self.text.flush()
        self.text.detach()  # the caller owns (and fsyncs, and closes) the binary stream


def count_rows(path: Path, delimiter: str) -> int:
    """Data rows of an existing delimited file (header excluded)."""
    with path.open(encoding="utf-8", errors="replace", newline="") as f:
        return max(sum(1 for row in csv.reader(f, delimiter=delimiter) if row) - 1, 0)


def count_xml(path: Path, tag: str) -> int:
    """Elements named ``tag`` in an existing XML file. A damaged file counts the elements before
    the damage, so the publish gate still protects what was readable."""
    count = 0
    try:
        for _ in iter_elements(path, tag):
            count += 1
    except etree.XMLSyntaxError:
        pass
    return count
