"""Reading CSV files row by row with a line number, for every CSV-based source.

UTF-8 with or without BOM unless ``catalog.encoding`` names another encoding (1C and Excel in
Kazakhstan write windows-1251). A row with bytes the encoding does not have, a wrong number of
fields or a CSV syntax error becomes a Problem naming file and line; the rest of the file is
still read.
"""

from __future__ import annotations

import codecs
import csv
import itertools
import os
import re
import tempfile
import weakref
from collections.abc import Collection, Generator
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from omnisync.errors import SourceError
from omnisync.models import Problem
from omnisync.sources import csvengine
from omnisync.sources.base import ProblemSink
from omnisync.sources.csvengine import EngineFrame

# A 100 KB description is normal; the csv module's default cap is 128 KiB per field.
FIELD_LIMIT = 16 * 1024 * 1024
csv.field_size_limit(FIELD_LIMIT)

DELIMITERS = ",;\t|"  # those the settings offer
_UNDECODABLE = re.compile("[\udc80-\udcff]")  # what surrogateescape turns bad bytes into
Row = tuple[int, list[str]]
# Excel's first line naming the delimiter; one character, not a quote or a line break.
_SEP_LINE = re.compile(r'sep=([^"\r\n])\r?\n?', re.IGNORECASE)
SNIFF_BYTES = 64 * 1024  # what the encoding check reads of a file
UTF16 = (
    'the file is UTF-16 (Excel\'s "Unicode text", tab-separated): save it as "CSV UTF-8", '
    "or set catalog.encoding: utf-16"
)
_SURROGATEESCAPE = codecs.lookup_error("surrogateescape")
_BAD_BYTES = [0]  # how many times the decoder met bytes that are not UTF-8, in any file


def _surrogateescape_counted(exc: UnicodeError) -> tuple[str, int]:
    """surrogateescape that counts: while the count stays put, no row can hold an escaped
    byte, and rows need no scan for one (a regex over every row was a fifth of reading)."""
    _BAD_BYTES[0] += 1
    replaced, resume = _SURROGATEESCAPE(exc)
    return str(replaced), resume


codecs.register_error("omnisync-counted", _surrogateescape_counted)


def codec(encoding: str) -> str:
    """The codec to open a file in ``encoding`` with: UTF-8 may start with a BOM (Excel's
    "CSV UTF-8" writes one), which is no part of the first column's name."""
    found = codecs.lookup(encoding).name
    return "utf-8-sig" if found == "utf-8" else found


class CsvTable:
    """One CSV file: ``header`` (lower-cased names) and ``rows()`` as (line, cells)."""

    def __init__(
        self,
        path: Path,
        delimiter: str = ",",
        required: tuple[str, ...] = (),
        encoding: str = "utf-8",
        setting: str = "catalog.delimiter",
    ) -> None:
        self.path, self.delimiter, self.required = path, delimiter, required
        self.setting = setting  # what sets this file's delimiter, for the hint
        self.encoding, self.codec = encoding, codec(encoding)
        self.name = path.name
        self.header: list[str] = []
        self.raw_width = 0  # the header record's cells, the empty ones at its end included
        self._scanned: tuple[tuple[Any, ...], EngineFrame | None] | None = None

    @property
    def widened(self) -> bool:
        """The header has empty cells at its end (a spreadsheet's): a row with text under
        them is reported, which a read of one column would not see."""
        return self.raw_width > len(self.header)

    def index(self, column: str) -> int:
        """Position of ``column``, -1 when the file does not have it."""
        return self.header.index(column) if column in self.header else -1

    def rows(
        self, on_problem: ProblemSink, only: Collection[str] | None = None
    ) -> Generator[Row, None, None]:
        """Read the header now (so ``header`` and ``index()`` work at once), the rest lazily:
        through the engine when the file lets it (``engine_frame``), else row by row.
        ``only``: rows of other SKUs may be left out (the engine leaves them out)."""
        clean = _BAD_BYTES[0]  # before the first read: it decodes ahead of the header
        f, reader, newline = self._opened()
        try:
            engine = self._engine(reader, newline)
        except BaseException:
            f.close()
            raise
        if engine is not None:
            f.close()
            return engine.rows(on_problem, only)
        return self._body(f, reader, on_problem, clean)

    def engine_frame(self) -> EngineFrame | None:
        """The file for the engine (``csvengine``); None when it is of CR-only lines, has a
        row the csv module reports, or bytes its encoding lacks. Its header is read now
        either way."""
        f, reader, newline = self._opened()
        with f:
            return self._engine(reader, newline)

    def _engine(self, reader: Any, newline: str) -> EngineFrame | None:
        """The engine's reading of the file, scanned once while the file stays as it was (a
        run reads a file more than once: ``orders pull`` its SKUs, then a few SKUs' rows)."""
        if newline != "\n":
            return None
        stat = self.path.stat()
        key = (
            reader.dialect.delimiter,
            reader.line_num,
            stat.st_ino,
            stat.st_size,
            stat.st_mtime_ns,
        )
        if self._scanned is None or self._scanned[0] != key:
            path = self.path if self.codec.startswith("utf-8") else self._in_utf8()
            found = None
            if path is not None:
                found = csvengine.frame(self, reader.dialect.delimiter, reader.line_num, path)
            self._scanned = key, found
        return self._scanned[1]

    def _in_utf8(self) -> Path | None:
        """A UTF-8 copy of a file in another encoding (1C and Excel in Kazakhstan write
        windows-1251), line for line, for the engine, which reads UTF-8 alone; removed with
        the table, or at exit. None when a byte is not in the encoding: the csv module then
        reads the file and reports each such row."""
        decoder = codecs.getincrementaldecoder(self.codec)(errors="strict")
        fd, name = tempfile.mkstemp(prefix="omnisync-", suffix=".utf8.csv")
        copy = Path(name)
        weakref.finalize(self, copy.unlink, missing_ok=True)
        try:
            with self.path.open("rb") as f, os.fdopen(fd, "wb") as out:
                for chunk in iter(lambda: f.read(1 << 22), b""):
                    out.write(decoder.decode(chunk).encode("utf-8"))
                out.write(decoder.decode(b"", final=True).encode("utf-8"))
        except UnicodeDecodeError:
            copy.unlink(missing_ok=True)
            return None
        return copy

    def _opened(self) -> tuple[TextIO, Any, str]:
        """The file open past its header (read), its csv reader and its line ends."""
        try:
            newline = _newline(self._check_encoding())
            f = self.path.open(encoding=self.codec, errors="omnisync-counted", newline=newline)
        except OSError as exc:
            raise SourceError(self.name, None, f"cannot open: {exc.strerror}") from exc
        try:
            reader = self._reader(f)
            self.header = self._read_header(reader)
        except BaseException:
            f.close()
            raise
        return f, reader, newline

    def _reader(self, f: TextIO) -> Any:
        """A csv reader of ``f``, by its own ``sep=`` line if it starts with one: Excel writes
        that line to name the delimiter and reads a file by it, so it says what this very file
        uses and wins over catalog.delimiter(s). The line is read as a blank one, so the lines
        after it keep their numbers."""
        first = f.readline()
        found = _SEP_LINE.fullmatch(first)
        delimiter = found.group(1) if found else self.delimiter
        return csv.reader(
            itertools.chain(["\n" if found else first], f), delimiter=delimiter, strict=True
        )

    def _check_encoding(self) -> bytes:
        """The file's first bytes, once they show it is not plainly in another encoding than
        the one declared: read as windows-1251, UTF-8 text is published as "Р§Р°Р№РЅРёРє" with
        no byte out of place, so no row would ever be refused for it."""
        with self.path.open("rb") as f:
            head = f.read(SNIFF_BYTES)
            letters = head if self.codec.startswith("utf") else _first_letters(f, head)
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            if not self.codec.startswith("utf-16"):
                raise SourceError(self.name, None, UTF16)
        elif not self.codec.startswith("utf-8") and _looks_utf8(letters):
            raise SourceError(
                self.name,
                None,
                f"the file looks like UTF-8, not {self.encoding}: set catalog.encoding: utf-8",
            )
        return head

    def _read_header(self, reader: Any) -> list[str]:
        line, first = self._first_record(reader)
        self.raw_width = len(first)
        header = [cell.strip().lower() for cell in first]
        while header and not header[-1]:
            header.pop()  # spreadsheets leave trailing empty columns
        if not header:
            raise SourceError(self.name, 1, "the file is empty; expected a header row")
        if _UNDECODABLE.search(",".join(header)):
            raise SourceError(self.name, line, f"the header {self._undecodable()[1]}")
        self._check_columns(header, line)
        return header

    def _first_record(self, reader: Any) -> tuple[int, list[str]]:
        """The first record with any text, and its line: Excel and 1C exports may start with
        empty lines, or lines of delimiters only (";;;;"), above the header."""
        line = 1
        try:
            for cells in reader:
                if any(cell.strip() for cell in cells):
                    return line, cells
                line = reader.line_num + 1
        except csv.Error as exc:
            raise SourceError(self.name, line, f"cannot read the header: {exc}") from exc
        return 1, []

    def _check_columns(self, header: list[str], line: int) -> None:
        missing = [c for c in self.required if c not in header]
        if missing:
            hint = ""
            if len(header) == 1 and any(d in header[0] for d in DELIMITERS):
                hint = f"; the file looks delimited differently: set {self.setting}"
            raise SourceError(
                self.name, line, f"missing required column(s): {', '.join(missing)}{hint}"
            )
        duplicated = sorted({c for c in header if c and header.count(c) > 1})
        if duplicated:
            raise SourceError(self.name, line, f"column(s) appear twice: {', '.join(duplicated)}")

    def _body(
        self, f: TextIO, reader: Any, on_problem: ProblemSink, clean: int
    ) -> Generator[Row, None, None]:
        # csv.reader's line_num is the physical line where the last record ended: the next
        # record starts on the line after it, even when a quoted field spans several lines
        # (a problem names a record's first line).
        with f:
            start, width = reader.line_num + 1, len(self.header)
            while True:
                try:
                    for cells in reader:
                        if len(cells) == width and _BAD_BYTES[0] == clean:
                            yield start, cells  # the common case, checked by the two tests
                        else:
                            row = self.checked(start, cells, on_problem)
                            if row is not None:
                                yield row
                        start = reader.line_num + 1
                    return
                except csv.Error as exc:
                    on_problem(self._problem(start, "csv_syntax", _syntax(exc)))
                    start = reader.line_num + 1

    def checked(self, line: int, cells: list[str], on_problem: ProblemSink) -> Row | None:
        """The row when it can be used; blank lines are skipped, broken rows reported."""
        if not cells or (len(cells) == 1 and not cells[0].strip()):
            return None
        width = len(self.header)
        if len(cells) > width and not any(c.strip() for c in cells[width:]):
            cells = cells[:width]  # trailing empty cells under no header
        if len(cells) != width:
            message = f"the row has {len(cells)} fields but the header has {width}"
            on_problem(self._problem(line, "field_count", message, _printable(cells[0])))
            return None
        if _UNDECODABLE.search("\x00".join(cells)):
            code, message = self._undecodable()
            on_problem(self._problem(line, code, f"the row {message}", _printable(cells[0])))
            return None
        return line, cells

    def _undecodable(self) -> tuple[str, str]:
        """The problem code and the end of the message for bytes the encoding does not have."""
        if self.codec.startswith("utf-8"):
            return "invalid_utf8", (
                "has bytes that are not UTF-8; if the file is in another encoding (1C and Excel "
                "often write windows-1251), set catalog.encoding: windows-1251, else save the "
                "file as UTF-8"
            )
        return "invalid_encoding", (
            f"has bytes that are not {self.encoding}; set catalog.encoding to the encoding the "
            "file is in, or save it as UTF-8"
        )

    def _problem(self, line: int, code: str, message: str, sku: str | None = None) -> Problem:
        return Problem(code=code, message=message, sku=sku, file=self.name, line=line)


def _printable(cell: str) -> str | None:
    text = _UNDECODABLE.sub("\ufffd", cell).strip()
    return text or None


def _looks_utf8(head: bytes) -> bool:
    """Whether a file's first bytes are UTF-8 with letters beyond ASCII in it: a UTF-8 BOM,
    or multi-byte sequences that all decode. Cyrillic in windows-1251 almost never does (a
    letter there is a byte from C0 up, and two in a row are no UTF-8 sequence); plain ASCII
    reads the same in either, so it is no sign."""
    if head.startswith(codecs.BOM_UTF8):
        return True
    if head.isascii():
        return False
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)  # the cut may split one
    except UnicodeDecodeError:
        return False
    return True


def _first_letters(f: BinaryIO, head: bytes) -> bytes:
    """The first block of the file that holds a byte beyond ASCII (``head`` itself unless
    it is plain ASCII): a UTF-8 file whose first rows are English would otherwise pass as
    windows-1251 and publish its later Cyrillic garbled. ``isascii`` runs at memory speed, so
    the scan costs one read of the file, and only when another encoding than UTF-8 is set."""
    block = head
    while block.isascii():
        block = f.read(SNIFF_BYTES)
        if not block:
            return head
    return block.lstrip(bytes(range(0x80, 0xC0)))  # a sequence the block boundary cut


def _newline(head: bytes) -> str:
    """How the file's lines end, as ``open(newline=...)`` takes it. Lines ending in LF (or CR
    LF) end only there: a lone CR (a stray one in a cell pasted from an old Mac app) is no
    line break, so it neither shifts line numbers nor, unquoted, makes a product of half a
    row (the csv reader refuses that row whole). A file of CR-only lines (old Mac Excel)
    splits at any line break, as before."""
    return "" if b"\r" in head and b"\n" not in head else "\n"


def _syntax(exc: csv.Error) -> str:
    """A row the csv reader cannot parse, in the user's words."""
    if "new-line character" in str(exc):  # a lone CR outside quotes, in a file of LF lines
        return (
            "cannot parse the row: it has a line break (a lone CR) outside quotes; the row is "
            "refused whole: remove the line break or quote the cell"
        )
    return f"cannot parse the row: {exc}"
