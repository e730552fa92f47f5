"""``locations.csv`` and ``stock.csv`` for CSV catalogues.

Stock is indexed in memory by SKU before the products stream past, because stock files are not
sorted like the products file. Entries are removed as products take them, so what is left at the
end is stock for SKUs the catalogue does not have — reported, never silently ignored.
"""

from __future__ import annotations

from omnisync.models import Location, Problem, Severity
from omnisync.sources.base import ProblemSink
from omnisync.sources.csvrows import CsvTable
from omnisync.sources.values import RowError, parse_quantity

LOCATION_TYPES = frozenset({"warehouse", "store"})
YES = frozenset({"yes", "true", "1", "да", "y"})
NO = frozenset({"no", "false", "0", "нет", "n", ""})


def read_locations(table: CsvTable, on_problem: ProblemSink) -> list[Location]:
    table.required = ("code", "name", "type")
    found: dict[str, Location] = {}
    for line, cells in table.rows(on_problem):
        row = {k: v.strip() for k, v in zip(table.header, cells, strict=True)}
        reason = _location_problem(row, found)
        if reason:
            field, message = reason
            on_problem(
                Problem(
                    code="bad_location", message=message, field=field, file=table.name, line=line
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
    """SKU → {location: on-hand units}."""

    def __init__(self, table_name: str) -> None:
        self.table_name = table_name
        self.levels: dict[str, dict[str, int]] = {}

    @classmethod
    def load(
        cls, table: CsvTable, known: frozenset[str] | None, on_problem: ProblemSink
    ) -> StockIndex:
        index = cls(table.name)
        rows = table.rows(on_problem)
        sku_at, loc_at, qty_at = (table.index(c) for c in ("sku", "location", "quantity"))
        for line, cells in rows:
            sku, location, raw = cells[sku_at].strip(), cells[loc_at].strip(), cells[qty_at].strip()
            try:
                quantity = parse_quantity(raw) if raw else 0
            except RowError as err:
                if err.code != "negative":
                    index._reject(on_problem, line, sku, "quantity", f"quantity: {err}")
                    continue
                quantity = 0  # negative on-hand (an ERP oversell) shows as zero
                index._warn(on_problem, line, sku, f"quantity {raw} is negative; counted as 0")
            if not sku or not location:
                index._reject(on_problem, line, sku, "sku" if not sku else "location", "is empty")
            elif known is not None and location not in known:
                index._reject(
                    on_problem,
                    line,
                    sku,
                    "location",
                    f"location {location!r} is not in locations.csv",
                )
            else:
                index.add(sku, location, quantity)
        return index

    def add(self, sku: str, location: str, quantity: int) -> None:
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
                    file=self.table_name,
                    message="stock rows for a SKU with no readable product row; they are ignored",
                )
            )

    def _reject(
        self, on_problem: ProblemSink, line: int, sku: str, field: str, message: str
    ) -> None:
        on_problem(
            Problem(
                code="bad_stock_row",
                message=message,
                sku=sku or None,
                field=field,
                file=self.table_name,
                line=line,
            )
        )

    def _warn(self, on_problem: ProblemSink, line: int, sku: str, message: str) -> None:
        on_problem(
            Problem(
                code="negative_quantity",
                severity=Severity.WARNING,
                sku=sku or None,
                field="quantity",
                file=self.table_name,
                line=line,
                message=message,
            )
        )
