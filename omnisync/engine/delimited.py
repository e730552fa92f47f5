"""A row of a delimited feed (Meta's CSV, Google's local inventory TSV) as a column: each
line as ``channels.writers.DelimitedWriter`` writes it — cells made one line
(``text.one_line``), then quoted by the csv module's minimal rule (RFC 4180)."""

from __future__ import annotations

from collections.abc import Sequence

from omnisync.engine import pl


def cell(value: pl.Expr, delimiter: str) -> pl.Expr:
    """Tabs and line breaks as one space, then quoted, inner quotes doubled, when the cell
    holds the delimiter or a quote (the line breaks are gone by then)."""
    one_line = value.str.replace_all(r"[\t\r\n]+", " ")
    quoted = pl.concat_str(
        pl.lit('"'), one_line.str.replace_all('"', '""', literal=True), pl.lit('"')
    )
    special = "[" + "".join(sorted({delimiter, '"'})) + "]"
    return pl.when(one_line.str.contains(special)).then(quoted).otherwise(one_line)


def line(cells: Sequence[pl.Expr], delimiter: str) -> pl.Expr:
    """The cells as one line, its line break included."""
    quoted = [cell(value, delimiter) for value in cells]
    return pl.concat_str([pl.concat_str(quoted, separator=delimiter), pl.lit("\n")])
