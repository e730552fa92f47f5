"""Per-SKU side files of a CSV catalogue: stock, city prices, reviews.

Two ways to pair side rows with products (docs/architecture.md, "Memory stays flat"):

* **merged** (``stream``): ERPs export products and stock in the same order, so the side file is
  read alongside the products, a bounded window ahead: memory stays flat however large the
  catalogue. A row for a product that has already passed proves the order differs; then
  :class:`SideFilesUnordered` is raised and the run is redone with the index.
* **indexed** (``load``): the whole file indexed by SKU in memory before the products stream
  past. Always right, and its memory grows with the file.

Entries are removed as products take them; what is left at the end belongs to SKUs without a
readable product row and is reported, never silently ignored.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Container, Generator, Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar

from omnisync.errors import Redo
from omnisync.models import Problem, Severity
from omnisync.sources.base import ProblemSink
from omnisync.sources.values import RowError, parse_money, parse_on_hand, parse_price

if TYPE_CHECKING:
    from omnisync.sources.tabular import Table

V = TypeVar("V")
# SKUs a merged side file may read ahead of the products (about 300 bytes each in memory).
WINDOW = 20_000


class SideFilesUnordered(Redo):
    """A side file is not in the products' order: the run must be redone with the index."""

    def __init__(self, file: str) -> None:
        super().__init__(f"{file} is not in the order of the products file")
        self.file = file

    def adjust(self, run: Any) -> None:
        run.index_side_files(self.file)


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

    def __init__(self, table: Table) -> None:
        self.table = table
        self.table.required = self.columns
        self.values: dict[str, V] = {}
        self._lines: dict[str, int] = {}  # each indexed SKU's first line: leftovers name it
        # Merged: the rows not read yet (None when indexed), the next one, the products passed.
        self._rows: Iterator[tuple[int, str, list[str]]] | None = None
        self._ahead: tuple[int, str, list[str]] | None = None
        self._passed: Container[str] = frozenset()
        self._checked = ""  # the last SKU found not passed
        self._on_problem: ProblemSink = lambda problem: None

    def load(self, on_problem: ProblemSink, wanted: Container[str] | None = None) -> Self:
        """Index the whole file now; ``wanted``: only the rows of these SKUs."""
        rows = self._parsed(on_problem, wanted)
        for line, sku, rest in rows:
            self.fold(line, sku, rest, on_problem)
        return self

    def stream(self, on_problem: ProblemSink, passed: Container[str]) -> Self:
        """Read the file alongside the products; ``passed`` holds the SKUs already read."""
        self._on_problem, self._passed = on_problem, passed
        self._rows = self._parsed(on_problem)
        self._ahead = next(self._rows, None)
        return self

    def _parsed(
        self, on_problem: ProblemSink, wanted: Container[str] | None = None
    ) -> Iterator[tuple[int, str, list[str]]]:
        rows = self.table.rows(on_problem, wanted if isinstance(wanted, Collection) else None)
        first, *positions = [self.table.index(c) for c in self.columns]
        for line, cells in rows:
            sku = cells[first].strip()
            if wanted is None or sku in wanted:
                yield line, sku, [cells[i].strip() for i in positions]

    def fold(self, line: int, sku: str, rest: list[str], on_problem: ProblemSink) -> None:
        """Add one row to ``values``, or report why it is rejected."""
        try:
            if not sku:
                raise RowError("sku", "missing_value", "is empty")
            self.add(line, sku, rest, on_problem)
            self._lines.setdefault(sku, line)
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

    def line_of(self, sku: str) -> int | None:
        """The line of the SKU's first row taken into the index (None: every row refused)."""
        return self._lines.get(sku)

    def _read_for(self, sku: str) -> None:
        """Merged: read on until ``sku``'s rows are complete, or the window is full."""
        while self._ahead is not None:
            if self._ahead[1] != sku and (sku in self.values or len(self.values) >= WINDOW):
                return
            self._advance()

    def _advance(self) -> None:
        assert self._rows is not None and self._ahead is not None
        line, sku, rest = self._ahead
        if sku != self._checked:  # a rejected row too: indexed, it would meet its SKU
            if sku and sku in self._passed:
                raise SideFilesUnordered(self.table.name)
            # The rest of its run needs no check: it cannot pass meanwhile. Any other row ends
            # the run, an empty SKU's too (the products may take this SKU's rows at it).
            self._checked = sku
        self.fold(line, sku, rest, self._on_problem)
        self._ahead = next(self._rows, None)

    @abstractmethod
    def add(self, line: int, sku: str, cells: list[str], on_problem: ProblemSink) -> None:
        """Fold one row (the cells after ``sku``) into ``values``; RowError rejects it."""

    def take(self, sku: str) -> V | None:
        """The SKU's value, removed from the index."""
        if self._rows is not None:
            self._read_for(sku)
        self._lines.pop(sku, None)
        return self.values.pop(sku, None)

    def close(self) -> None:
        """Merged: close the file now (a redo can cut the read short)."""
        if isinstance(self._rows, Generator):
            self._rows.close()

    def report_leftovers(self, on_problem: ProblemSink) -> None:
        while self._rows is not None and self._ahead is not None:
            self._advance()  # merged: the rest of the file, still checked against the products
        for sku in self.values:
            on_problem(
                Problem(
                    code=self.leftover_code,
                    severity=Severity.WARNING,
                    sku=sku,
                    field="sku",
                    file=self.table.name,
                    line=self._lines.get(sku),
                    message="rows for a SKU with no readable product row; ignored",
                )
            )


class StockIndex(SideIndex[dict[str, int]]):
    """``stock.csv``: SKU → {location: on-hand}. Rows for one SKU and location add up."""

    columns = ("sku", "location", "quantity")
    code = "bad_stock_row"
    leftover_code = "stock_unknown_sku"

    def __init__(self, table: Table, known: frozenset[str] | None) -> None:
        super().__init__(table)
        self.known = known

    def add(self, line: int, sku: str, cells: list[str], on_problem: ProblemSink) -> None:
        location, raw = cells
        where = (self.table.name, line, sku)
        add_stock(self.values.setdefault(sku, {}), location, raw, self.known, where, on_problem)


def add_stock(
    stock: dict[str, int],
    location: str,
    raw: str,
    known: frozenset[str] | None,
    where: tuple[str, int, str],
    on_problem: ProblemSink,
) -> None:
    """One stock entry (a stock.csv row, an API item's entry) into ``stock``: entries of one
    location add up, negative on-hand counts as 0 with a warning; RowError rejects it."""
    if not location:
        raise RowError("location", "missing_value", "is empty")
    if known is not None and location not in known:
        raise RowError("location", "unknown_location", f"{location!r} is not in locations.csv")
    quantity, negative = parse_on_hand(raw) if raw else (0, False)
    if negative:
        on_problem(negative_warning(*where, raw))
    stock[location] = stock.get(location, 0) + quantity


class CityPriceIndex(SideIndex[dict[str, Decimal]]):
    """``city_prices.csv``: SKU → {city id: price} (Kaspi's per-city prices, channels.md §2.1)."""

    columns = ("sku", "city_id", "price")
    code = "bad_city_price_row"
    leftover_code = "city_price_unknown_sku"

    def add(self, line: int, sku: str, cells: list[str], on_problem: ProblemSink) -> None:
        city, raw = cells
        if not city.isdigit() or not city.isascii():
            raise RowError("city_id", "not_a_city_id", f"{city!r} is not a numeric city id")
        if city in self.values.get(sku, ()):
            raise RowError("city_id", "duplicate", f"city {city} is already priced for this SKU")
        price = parse_price(raw, "price")  # before the SKU gets an entry: a refused row adds none
        self.values.setdefault(sku, {})[city] = price


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
