"""Reading CSV files row by row with a line number, for every CSV-based source.

UTF-8 with or without BOM. A row with bytes that are not UTF-8, a wrong number of fields or a
CSV syntax error becomes a Problem naming file and line; the rest of the file is still read.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from omnisync.errors import SourceError
from omnisync.models import Problem
from omnisync.sources.base import ProblemSink

# A 100 KB description is normal; the csv module's default cap is 128 KiB per field.
FIELD_LIMIT = 16 * 1024 * 1024
csv.field_size_limit(FIELD_LIMIT)

_UNDECODABLE = re.compile("[\udc80-\udcff]")  # what surrogateescape turns bad bytes into


class CsvTable:
    """One CSV file: ``header`` (lower-cased names) and ``rows()`` as (line, cells)."""

    def __init__(self, path: Path, delimiter: str = ",", required: tuple[str, ...] = ()) -> None:
        self.path, self.delimiter, self.required = path, delimiter, required
        self.name = path.name
        self.header: list[str] = []

    def index(self, column: str) -> int:
        """Position of ``column``, -1 when the file does not have it."""
        return self.header.index(column) if column in self.header else -1

    def rows(self, on_problem: ProblemSink) -> Iterator[tuple[int, list[str]]]:
        """Read the header now (so ``header`` and ``index()`` work at once), the rest lazily."""
        f = self.path.open(encoding="utf-8-sig", errors="surrogateescape", newline="")
        reader = csv.reader(f, delimiter=self.delimiter, strict=True)
        try:
            self.header = self._read_header(reader)
        except BaseException:
            f.close()
            raise
        return self._body(f, reader, on_problem)

    def _read_header(self, reader: Any) -> list[str]:
        try:
            first = next(reader, None)
        except csv.Error as exc:
            raise SourceError(self.name, 1, f"cannot read the header: {exc}") from exc
        if not first or not any(cell.strip() for cell in first):
            raise SourceError(self.name, 1, "the file is empty; expected a header row")
        header = [cell.strip().lower() for cell in first]
        if _UNDECODABLE.search(",".join(header)):
            raise SourceError(self.name, 1, "the header is not valid UTF-8; save the file as UTF-8")
        missing = [c for c in self.required if c not in header]
        if missing:
            raise SourceError(self.name, 1, f"missing required column(s): {', '.join(missing)}")
        duplicated = sorted({c for c in header if c and header.count(c) > 1})
        if duplicated:
            raise SourceError(self.name, 1, f"column(s) appear twice: {', '.join(duplicated)}")
        return header

    def _body(
        self, f: TextIO, reader: Any, on_problem: ProblemSink
    ) -> Iterator[tuple[int, list[str]]]:
        with f:
            yield from self._cells(reader, on_problem)

    def _cells(self, reader: Any, on_problem: ProblemSink) -> Iterator[tuple[int, list[str]]]:
        # csv.reader's line_num is the physical line where the last record ended: the next
        # record starts on the line after it, even when a quoted field spans several lines.
        width, line = len(self.header), 1
        while True:
            start = line + 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                line = reader.line_num
                on_problem(self._problem(start, "csv_syntax", f"cannot parse the row: {exc}"))
                continue
            line = reader.line_num
            if not cells or (len(cells) == 1 and not cells[0].strip()):
                continue  # a blank line is not a row
            if len(cells) != width:
                on_problem(
                    self._problem(
                        start,
                        "field_count",
                        self._count_message(len(cells)),
                        sku=cells[0].strip() or None,
                    )
                )
                continue
            if _UNDECODABLE.search("\x00".join(cells)):
                on_problem(
                    self._problem(
                        start,
                        "invalid_utf8",
                        "the row has bytes that are not UTF-8; save as UTF-8",
                        sku=_printable(cells[0]),
                    )
                )
                continue
            yield start, cells

    def _count_message(self, got: int) -> str:
        return f"the row has {got} fields but the header has {len(self.header)}"

    def _problem(
        self, line: int, code: str, message: str, sku: str | None = None, field: str | None = None
    ) -> Problem:
        return Problem(code=code, message=message, sku=sku, field=field, file=self.name, line=line)


def _printable(cell: str) -> str | None:
    text = _UNDECODABLE.sub("\ufffd", cell).strip()
    return text or None
