"""A CSV file as the engine reads it: Polars' CSV reader in batches, each row given the line
its record starts on (``csvshape``'s scan), for files the scan finds plain — every record as
wide as the header, RFC 4180 quoting, UTF-8. ``csvrows.CsvTable`` is the file (its header,
its encoding) and reads every other file row by row with the csv module.
"""

from __future__ import annotations

from collections.abc import Collection, Generator, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from omnisync.engine import pl
from omnisync.engine.products import python_stripped
from omnisync.errors import SourceError
from omnisync.sources import csvshape
from omnisync.sources.base import ProblemSink

if TYPE_CHECKING:
    from omnisync.sources.csvrows import CsvTable, Row

BATCH = 5000  # rows the engine's reader hands over at a time


def frame(table: CsvTable, delimiter: str, skip: int, path: Path) -> EngineFrame | None:
    """``table`` past its header (``skip`` lines) for the engine, read from ``path`` (the
    file, or its UTF-8 copy), when its shape lets Polars read it exactly as the csv module
    does; None otherwise."""
    widths = frozenset({len(table.header), table.raw_width})
    shape = csvshape.scan(path, delimiter, skip, widths)
    if not shape.plain:
        return None
    lazy = pl.scan_csv(
        path,
        has_header=False,
        separator=delimiter,
        skip_lines=skip,
        empty_string_is_null=False,
        # The header's width, whatever the first line after it holds (a blank line).
        schema=dict.fromkeys((f"c{i}" for i in range(table.raw_width)), pl.String),
        missing_columns="insert",
        encoding="utf8",
        raise_if_empty=False,
    )
    return EngineFrame(table, lazy, shape.lines)


class EngineFrame:
    """A plain CSV file as the engine reads it: ``frame`` (every record, the header's cells as
    ``c0``, ``c1``, …, and its ``record`` number from 0) and ``lines`` (each record's first
    line, 0 for a blank line)."""

    def __init__(self, table: CsvTable, frame: pl.LazyFrame, lines: pl.Series) -> None:
        self.table, self.lines = table, lines
        self.frame = frame.with_row_index("record")
        self.cells = [f"c{i}" for i in range(len(table.header))]

    def batches(
        self,
        on_problem: ProblemSink,
        stages: Sequence[Sequence[pl.Expr]] = (),
        tables: Sequence[pl.DataFrame] = (),
    ) -> Iterator[pl.DataFrame]:
        """The rows in batches: ``c0``, ``c1``, … (the header's cells), ``line`` (the row's
        first), ``record``, then the columns of ``tables`` and of ``stages``, blank lines left
        out. ``tables``: each joined on ``key`` (one row a SKU) to the row's SKU as the per-row
        reader strips it (``key`` is then a column too). ``stages``: expressions the engine's
        threads compute as they read, each stage over the columns before it."""
        frame, added = self.frame, []
        if tables:
            frame = frame.with_columns(key=self.sku())
            added.append("key")
        for table in tables:
            frame = frame.join(table.lazy(), on="key", how="left", maintain_order="left")
            added += [name for name in table.columns if name != "key"]
        for columns in stages:
            frame = frame.with_columns(columns)
            added += [column.meta.output_name() for column in columns]
        read = 0
        for batch in frame.collect_batches(chunk_size=BATCH, engine="streaming"):
            batch = batch.with_columns(line=self.lines.gather(batch["record"]))
            read += batch.height
            batch = batch.filter(pl.col("line") != 0)  # blank lines: the csv module skips them
            batch = self._trimmed(batch, on_problem)
            yield batch.select(*self.cells, "line", "record", *added)
        expected = len(self.lines)
        if read != expected:  # the two reads must see the same records; never seen
            raise SourceError(self.table.name, None, f"read {read} records, expected {expected}")

    def sku(self) -> pl.Expr:
        """The SKU cells stripped as the per-row reader strips them (Python's ``strip``)."""
        return python_stripped(pl.col(f"c{self.table.index('sku')}"))

    def rows(
        self, on_problem: ProblemSink, only: Collection[str] | None = None
    ) -> Generator[Row, None, None]:
        """The rows one by one (line, cells) for a per-row reader; ``only``: the rows of
        these SKUs alone, the others left in the engine."""
        wanted = None
        if only is not None and self.table.index("sku") >= 0:
            wanted = self.sku().is_in(list(only))
        for batch in self.batches(on_problem):
            if wanted is not None:
                batch = batch.filter(wanted)
            for cells in batch.select(*self.cells, "line").iter_rows():
                yield cells[-1], list(cells[:-1])

    def select(self, *columns: pl.Expr) -> pl.DataFrame:
        """``columns`` (expressions over the cells) of every row, blank lines left out, with
        its ``record``: a narrow read, for what the engine must know of the whole file before
        it streams it (repeats), or what a caller wants of one column (the SKUs)."""
        found = self.frame.select(*columns, "record").collect(engine="streaming")
        return found.filter(self.lines != 0)

    def _trimmed(self, batch: pl.DataFrame, on_problem: ProblemSink) -> pl.DataFrame:
        """Rows with text under the header's empty trailing cells are reported (``checked``,
        row by row: they are rare) and left out."""
        extra = [f"c{i}" for i in range(len(self.cells), self.table.raw_width)]
        if not extra:
            return batch
        broken = pl.any_horizontal(pl.col(c).str.strip_chars() != "" for c in extra)
        for row in batch.filter(broken).select(*self.cells, *extra, "line").iter_rows():
            self.table.checked(row[-1], list(row[:-1]), on_problem)
        return batch.filter(~broken)
