"""``locations.csv`` and ``stock.csv`` for CSV catalogues.

Stock is indexed in memory by SKU before the products stream past, because stock files are not
sorted like the products file. Entries are removed as products take them, so what is left at the
end is stock for SKUs without a readable product row — reported, never silently ignored.
"""

from __future__ import annotations

from pathlib import Path

from omnisync.models import Location, Problem, Severity
from omnisync.sources.base import ProblemSink
from omnisync.sources.csvrows import CsvTable
from omnisync.sources.values import RowError, parse_on_hand

LOCATION_TYPES = frozenset({"warehouse", "store"})
YES = frozenset({"yes", "true", "1", "да", "y"})
NO = frozenset({"no", "false", "0", "нет", "n", ""})


def negative_warning(file: str, line: int, sku: str, raw: str) -> Problem:
    return Problem(
        code="negative_quantity",
        severity=Severity.WARNING,
        sku=sku or None,
        field="quantity",
        file=file,
        line=line,
        message=f"quantity {raw} is negative; counted as 0",
    )


def read_locations(path: Path, delimiter: str, on_problem: ProblemSink) -> list[Location]:
    table = CsvTable(path, delimiter, ("code", "name", "type"))
    found: dict[str, Location] = {}
    for line, cells in table.rows(on_problem):
        row = {k: v.strip() for k, v in zip(table.header, cells, strict=True)}
        reason = _location_problem(row, found)
        if reason:
            on_problem(
                Problem(
                    code="bad_location",
                    field=reason[0],
                    message=reason[1],
                    file=table.name,
                    line=line,
                )
            )
            continue
        found[row["code"]] = Location(
            code=row["code"],
            name=row["name"],
            type=row["type"].lower(),
            city=row.get("city", ""),
            address=row.get("address", ""),
            pickup=row.get("pickup", "").lower() in YES,
        )
    return list(found.values())


def _location_problem(row: dict[str, str], found: dict[str, Location]) -> tuple[str, str] | None:
    if not row["code"]:
        return "code", "code is empty"
    if row["code"] in found:
        return "code", f"location {row['code']} appears twice; the first row is kept"
    if row["type"].lower() not in LOCATION_TYPES:
        return "type", f"type {row['type']!r} must be warehouse or store"
    if row.get("pickup", "").lower() not in YES | NO:
        return "pickup", f"pickup {row['pickup']!r} must be yes or no"
    return None


class StockIndex:
    """SKU → {location: on-hand units}. Rows for the same SKU and location are added up."""

    def __init__(self, path: Path, delimiter: str, known: frozenset[str] | None) -> None:
        self.table = CsvTable(path, delimiter, ("sku", "location", "quantity"))
        self.known = known
        self.levels: dict[str, dict[str, int]] = {}

    def load(self, on_problem: ProblemSink) -> StockIndex:
        rows = self.table.rows(on_problem)
        columns = [self.table.index(c) for c in ("sku", "location", "quantity")]
        for line, cells in rows:
            sku, location, raw = (cells[i].strip() for i in columns)
            try:
                self._add(line, sku, location, raw, on_problem)
            except RowError as err:
                on_problem(
                    Problem(
                        code="bad_stock_row",
                        message=f"{err.field}: {err}",
                        sku=sku or None,
                        field=err.field,
                        file=self.table.name,
                        line=line,
                    )
                )
        return self

    def _add(self, line: int, sku: str, location: str, raw: str, on_problem: ProblemSink) -> None:
        if not sku or not location:
            field = "sku" if not sku else "location"
            raise RowError(field, "missing_value", "is empty")
        if self.known is not None and location not in self.known:
            raise RowError("location", "unknown_location", f"{location!r} is not in locations.csv")
        quantity, negative = parse_on_hand(raw) if raw else (0, False)
        if negative:
            on_problem(negative_warning(self.table.name, line, sku, raw))
        per_sku = self.levels.setdefault(sku, {})
        per_sku[location] = per_sku.get(location, 0) + quantity

    def take(self, sku: str) -> dict[str, int]:
        """The product's stock, removed from the index (a product without rows has none)."""
        return self.levels.pop(sku, {})

    def report_leftovers(self, on_problem: ProblemSink) -> None:
        for sku in self.levels:
            on_problem(
                Problem(
                    code="stock_unknown_sku",
                    severity=Severity.WARNING,
                    sku=sku,
                    field="sku",
                    file=self.table.name,
                    message="stock rows for a SKU with no readable product row; they are ignored",
                )
            )
