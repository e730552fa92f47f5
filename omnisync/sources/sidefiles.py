"""Per-SKU side files of a CSV catalogue: stock, city prices, reviews.

Side files are not sorted like the products file, so each is indexed in memory by SKU before the
products stream past (a known cost, see docs/architecture.md). Entries are removed as products
take them; what is left at the end belongs to SKUs without a readable product row and is
reported, never silently ignored.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from decimal import Decimal
from pathlib import Path
from typing import Generic, Self, TypeVar

from omnisync.models import Problem, Severity
from omnisync.sources.base import ProblemSink
from omnisync.sources.csvrows import CsvTable
from omnisync.sources.values import RowError, parse_money, parse_on_hand

V = TypeVar("V")


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


class SideIndex(ABC, Generic[V]):
    """SKU → value built from one CSV file with ``columns`` (``sku`` first)."""

    columns: tuple[str, ...]
    code: str  # problem code for a rejected row
    leftover_code: str  # warning code for rows whose SKU has no product

    def __init__(self, path: Path, delimiter: str) -> None:
        self.table = CsvTable(path, delimiter, self.columns)
        self.values: dict[str, V] = {}

    def load(self, on_problem: ProblemSink) -> Self:
        rows = self.table.rows(on_problem)
        positions = [self.table.index(c) for c in self.columns]
        for line, cells in rows:
            sku, *rest = (cells[i].strip() for i in positions)
            try:
                if not sku:
                    raise RowError("sku", "missing_value", "is empty")
                self.add(line, sku, rest, on_problem)
            except RowError as err:
                on_problem(
                    Problem(
                        code=self.code,
                        message=f"{err.field}: {err}",
                        sku=sku or None,
                        field=err.field,
                        file=self.table.name,
                        line=line,
                    )
                )
        return self

    @abstractmethod
    def add(self, line: int, sku: str, cells: list[str], on_problem: ProblemSink) -> None:
        """Fold one row (the cells after ``sku``) into ``values``; RowError rejects it."""

    def take(self, sku: str) -> V | None:
        """The SKU's value, removed from the index."""
        return self.values.pop(sku, None)

    def report_leftovers(self, on_problem: ProblemSink) -> None:
        for sku in self.values:
            on_problem(
                Problem(
                    code=self.leftover_code,
                    severity=Severity.WARNING,
                    sku=sku,
                    field="sku",
                    file=self.table.name,
                    message="rows for a SKU with no readable product row; ignored",
                )
            )


class StockIndex(SideIndex[dict[str, int]]):
    """``stock.csv``: SKU → {location: on-hand}. Rows for one SKU and location add up."""

    columns = ("sku", "location", "quantity")
    code = "bad_stock_row"
    leftover_code = "stock_unknown_sku"

    def __init__(self, path: Path, delimiter: str, known: frozenset[str] | None) -> None:
        super().__init__(path, delimiter)
        self.known = known

    def add(self, line: int, sku: str, cells: list[str], on_problem: ProblemSink) -> None:
        location, raw = cells
        if not location:
            raise RowError("location", "missing_value", "is empty")
        if self.known is not None and location not in self.known:
            raise RowError("location", "unknown_location", f"{location!r} is not in locations.csv")
        quantity, negative = parse_on_hand(raw) if raw else (0, False)
        if negative:
            on_problem(negative_warning(self.table.name, line, sku, raw))
        per_sku = self.values.setdefault(sku, {})
        per_sku[location] = per_sku.get(location, 0) + quantity


class CityPriceIndex(SideIndex[dict[str, Decimal]]):
    """``city_prices.csv``: SKU → {city id: price} (Kaspi's per-city prices, channels.md §2.1)."""

    columns = ("sku", "city_id", "price")
    code = "bad_city_price_row"
    leftover_code = "city_price_unknown_sku"

    def add(self, line: int, sku: str, cells: list[str], on_problem: ProblemSink) -> None:
        city, raw = cells
        if not city.isdigit() or not city.isascii():
            raise RowError("city_id", "not_a_city_id", f"{city!r} is not a numeric city id")
        per_sku = self.values.setdefault(sku, {})
        if city in per_sku:
            raise RowError("city_id", "duplicate", f"city {city} is already priced for this SKU")
        per_sku[city] = parse_money(raw, "price")


class ReviewIndex(SideIndex[tuple[Decimal, int]]):
    """``reviews.csv``: SKU → (average rating 0 to 5, review count)."""

    columns = ("sku", "rating", "count")
    code = "bad_review_row"
    leftover_code = "review_unknown_sku"

    def add(self, line: int, sku: str, cells: list[str], on_problem: ProblemSink) -> None:
        rating = parse_money(cells[0], "rating")
        if rating > 5:
            raise RowError("rating", "out_of_range", f"{cells[0]!r} is above 5")
        count, negative = parse_on_hand(cells[1], "count")
        if negative:
            raise RowError("count", "negative", f"{cells[1]!r} is negative")
        self.values[sku] = (rating, count)
