"""A CSV catalogue's side files as the engine joins them to the products: each a table with
one row per SKU, joined to every batch of the products file on the SKU (as the per-row reader
strips it), so a product's stock arrives as columns and no side file is held as Python objects
by SKU.

* **stock** (``stock.csv``): its rows summed per SKU and location in the engine's threads —
  one column of units per location, and which locations a SKU has rows for. The few rows the
  engine does not read as plain (a negative or decimal quantity, an unknown location, an empty
  cell) are read by the per-row code (``sidefiles.StockIndex``) with its problems, and their
  SKUs' products go row by row.
* **city prices, reviews**: read by their per-row index (``sidefiles``) for its checks and
  problems; city prices joined with each SKU's prices (Kaspi writes them), reviews only to
  learn which SKUs have a product row. Rows the engine hands over one by one take their values
  from the index.

Rows whose SKU has no product row are reported at the end, as the per-row reader reports them
(``SideIndex.report_leftovers``), in the order the file first names them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from omnisync.engine import pl
from omnisync.engine.products import QUANTITY, python_stripped
from omnisync.models import Problem, Severity
from omnisync.sources.base import ProblemSink
from omnisync.sources.csvengine import EngineFrame
from omnisync.sources.csvfile import CsvSource
from omnisync.sources.csvrows import CsvTable
from omnisync.sources.sidefiles import CityPriceIndex, ReviewIndex, SideIndex, StockIndex
from omnisync.text import amount

# Locations the stock table holds as columns (8 bytes a SKU each): a catalogue with more goes
# row by row until the table holds them otherwise (docs/architecture.md, "The side files in the
# engine").
LOCATIONS_MAX = 16


@dataclass
class Side:
    """One side file joined to the products: ``table`` has ``key`` (the SKU), ``{name}_row``
    (its position) and the values the engine reads; ``order`` and ``line`` (one per table row)
    say where the file first names the SKU, and which line a leftover warning names."""

    name: str
    file: str
    leftover_code: str
    table: pl.DataFrame
    order: pl.Series
    line: pl.Series
    matched: list[pl.Series] = field(default_factory=list)

    @property
    def row(self) -> str:
        return f"{self.name}_row"

    def match(self, batch: pl.DataFrame) -> None:
        """The table rows ``batch``'s products take (any product row takes its SKU's)."""
        self.matched.append(batch[self.row].drop_nulls())

    def leftovers(self) -> Iterator[Problem]:
        """A warning for each SKU no product row took, in the order the file first names
        them (``SideIndex.report_leftovers``)."""
        taken = pl.concat([pl.Series(self.row, [], pl.UInt32), *self.matched]).unique()
        left = pl.DataFrame({"key": self.table["key"], "order": self.order, "line": self.line})
        left = left.with_row_index(self.row).filter(~pl.col(self.row).is_in(taken.implode()))
        for sku, line in left.sort("order").select("key", "line").iter_rows():
            yield Problem(
                code=self.leftover_code,
                severity=Severity.WARNING,
                sku=sku,
                field="sku",
                file=self.file,
                line=line,
                message="rows for a SKU with no readable product row; ignored",
            )


class Stock:
    """``stock.csv`` as columns: ``stock_q0``, ``stock_q1``, … (units at each of
    ``locations``) and ``stock_p0``, ``stock_p1``, … (whether the SKU has rows there)."""

    def __init__(self, side: Side, locations: list[str], rare: StockIndex) -> None:
        self.side, self.locations, self.rare = side, locations, rare

    def units(self, counted: frozenset[str] | None) -> pl.Expr:
        """Units on hand over ``counted`` (every location when None): 0 for a product without
        stock rows, as ``Product.on_hand`` has it."""
        columns = [
            pl.col(f"stock_q{i}")
            for i, code in enumerate(self.locations)
            if counted is None or code in counted
        ]
        return pl.sum_horizontal(columns).fill_null(0) if columns else pl.lit(0, pl.Int64)

    def at(self, code: str) -> pl.Expr:
        """Units at one location (``Product.stock.get(code, 0)``)."""
        if code not in self.locations:
            return pl.lit(0, pl.Int64)
        return pl.col(f"stock_q{self.locations.index(code)}").fill_null(0)

    def rare_skus(self) -> list[str]:
        """SKUs with a row the engine did not sum: their products go row by row."""
        return list(self.rare.values)

    def of(self, batch: pl.DataFrame, at: int, sku: str) -> dict[str, int]:
        """The stock of the product at row ``at``: its summed rows and its rare ones."""
        stock = {
            code: batch[f"stock_q{i}"][at]
            for i, code in enumerate(self.locations)
            if batch[f"stock_p{i}"][at]  # null: the SKU has rare rows only
        }
        for code, units in self.rare.values.get(sku, {}).items():
            stock[code] = stock.get(code, 0) + units
        return stock


@dataclass
class Sides:
    """The catalogue's side files joined to the products: ``stock`` (its columns), the indexes
    of the others (their values for the rows handed over one by one) and every side's table."""

    stock: Stock | None
    indexes: dict[str, SideIndex[Any]]
    joined: list[Side]
    taken: set[str] = field(default_factory=set)  # SKUs whose stock a row has taken

    def tables(self) -> list[pl.DataFrame]:
        return [side.table for side in self.joined]

    def match(self, batch: pl.DataFrame) -> None:
        for side in self.joined:
            side.match(batch)

    def take(self, sku: str, batch: pl.DataFrame, at: int) -> dict[str, Any]:
        """The product fields the side files hold for the row at ``at`` (``_Sides.take``): its
        SKU's stock for the first row that asks (a later row of the SKU has none)."""
        fields: dict[str, Any] = {}
        if self.stock is not None:
            fields["stock"] = {} if sku in self.taken else self.stock.of(batch, at, sku)
            self.taken.add(sku)
        if "city_prices" in self.indexes:
            fields["city_prices"] = self.indexes["city_prices"].take(sku)
        review = self.indexes["reviews"].take(sku) if "reviews" in self.indexes else None
        if review is not None:
            fields["rating"], fields["review_count"] = review
        return fields

    def report_leftovers(self, on_problem: ProblemSink) -> None:
        for side in self.joined:
            for problem in side.leftovers():
                on_problem(problem)


def read_sides(source: CsvSource, on_problem: ProblemSink) -> Sides | None:
    """The side files of ``source`` for the engine; None when it cannot join the stock file
    (then the run reads row by row)."""
    stock = read_stock(source, on_problem) if source.side("stock") is not None else None
    if source.side("stock") is not None and stock is None:
        return None
    joined = [stock.side] if stock is not None else []
    indexes: dict[str, SideIndex[Any]] = {}
    city_prices, reviews = source.side("city_prices"), source.side("reviews")
    if city_prices is not None:
        indexes["city_prices"] = CityPriceIndex(city_prices)
        side = read_indexed("city", indexes["city_prices"], on_problem, _city_prices)
        joined.append(side)
    if reviews is not None:
        indexes["reviews"] = ReviewIndex(reviews)
        joined.append(read_indexed("reviews", indexes["reviews"], on_problem))
    return Sides(stock, indexes, joined)


def read_stock(source: CsvSource, on_problem: ProblemSink) -> Stock | None:
    """The stock file summed per SKU and location; None when the engine cannot read it
    (``engine_frame``), or it names more locations than the table holds."""
    table = source.side("stock")
    if not isinstance(table, CsvTable):
        return None
    index = StockIndex(table, source.location_codes)  # sets the columns the file must have
    frame = table.engine_frame()
    if frame is None or table.widened:
        return None
    sku, location, quantity = (
        python_stripped(pl.col(f"c{table.index(name)}")) for name in index.columns
    )
    known = source.location_codes
    locations = sorted(known) if known is not None else _named(frame, location)
    if len(locations) > LOCATIONS_MAX:
        return None
    plain = (
        (sku != "")
        & location.is_in(locations)
        & ((quantity == "") | quantity.str.contains(QUANTITY))
    )
    lazy = frame.frame.with_columns(key=sku, plain=plain)
    first = _fold_rare(frame, lazy, index, on_problem)
    summed = _summed(lazy.filter("plain"), location, quantity, locations)
    side = _stock_side(table.name, frame, summed, (index, first), locations)
    return Stock(side, locations, index)


def _named(frame: EngineFrame, location: pl.Expr) -> list[str]:
    """The locations the file names (no locations file to check them against)."""
    found = frame.frame.select(location.unique()).collect(engine="streaming")
    return sorted(code for code in found.to_series().to_list() if code)


def _fold_rare(
    frame: EngineFrame, lazy: pl.LazyFrame, index: StockIndex, on_problem: ProblemSink
) -> dict[str, int]:
    """The rows the engine does not sum, read by the per-row code in file order (its problems,
    its sums); blank lines left out, as the csv module leaves them. Returns the record each
    of their SKUs is first named on."""
    cells = [f"c{index.table.index(name)}" for name in index.columns]
    rare = lazy.filter(~pl.col("plain")).select("record", *cells).collect(engine="streaming")
    rare = rare.with_columns(line=frame.lines.gather(rare["record"])).filter(pl.col("line") != 0)
    first: dict[str, int] = {}
    for record, raw_sku, raw_location, raw_quantity, line in rare.iter_rows():
        sku = raw_sku.strip()
        if sku:  # the per-row index adds a SKU at its first row, even one it rejects
            first.setdefault(sku, record)
        index.fold(line, sku, [raw_location.strip(), raw_quantity.strip()], on_problem)
    return first


def _summed(
    plain: pl.LazyFrame, location: pl.Expr, quantity: pl.Expr, locations: list[str]
) -> pl.DataFrame:
    """One row a SKU: its first record, and for each location its units and whether it has
    rows there. Streaming, keyed on the SKU's text, each aggregate one the streaming engine
    keeps per key (sum, min, max), measured at 3M rows: 0.5 s and a 300 MB peak. A bit mask
    of the locations (``bitwise_or``) measured 470 MB; the group order kept, +90 MB (so the
    order is the first record's)."""
    units = quantity.cast(pl.Int64, strict=False).fill_null(0)
    parts = plain.select(
        "key",
        "record",
        *(pl.when(location == code).then(units).otherwise(0).alias(f"q{i}")
          for i, code in enumerate(locations)),
        *((location == code).alias(f"p{i}") for i, code in enumerate(locations)),
    )  # fmt: skip
    found = parts.group_by("key").agg(
        pl.col("record").min().alias("first"),
        *(pl.col(f"q{i}").sum().alias(f"stock_q{i}") for i in range(len(locations))),
        *(pl.col(f"p{i}").max().alias(f"stock_p{i}") for i in range(len(locations))),
    )
    return found.collect(engine="streaming")


def _stock_side(
    file: str,
    frame: EngineFrame,
    summed: pl.DataFrame,
    rare: tuple[StockIndex, dict[str, int]],
    locations: list[str],
) -> Side:
    """The summed SKUs and those with rare rows only, each with the record the file first
    names it on (a rejected row's too: the per-row index adds its SKU) and the line of its
    first row taken (a leftover warning names it; none when every row was rejected)."""
    index, first = rare
    named = pl.DataFrame(
        {
            "key": list(first),
            "rare_first": list(first.values()),
            "rare_line": [index.line_of(sku) for sku in first],
        },
        schema={"key": pl.String, "rare_first": pl.UInt32, "rare_line": pl.Int64},
    )
    whole = summed.join(named, on="key", how="full", coalesce=True)
    plain_line = frame.lines.gather(whole["first"].fill_null(0)).cast(pl.Int64)
    whole = whole.with_columns(
        order=pl.min_horizontal("first", "rare_first"),
        line=pl.when(pl.col("first").is_null())
        .then(pl.col("rare_line"))
        .when(pl.col("rare_line").is_null())
        .then(plain_line)
        .otherwise(pl.min_horizontal(plain_line, "rare_line")),
    )
    row = pl.int_range(pl.len(), dtype=pl.UInt32).alias("stock_row")
    table = whole.select("key", row, pl.col("^stock_[qp][0-9]+$"))
    return Side("stock", file, StockIndex.leftover_code, table, whole["order"], whole["line"])


def read_indexed(
    name: str,
    index: SideIndex[Any],
    on_problem: ProblemSink,
    values: Callable[[SideIndex[Any]], pl.Series] | None = None,
) -> Side:
    """A side file read by its per-row index (its checks and problems), joined as ``name``:
    its SKUs, to find those without a product row, and ``values`` of the index, a column
    with an entry per SKU."""
    index.load(on_problem)
    skus = list(index.values)
    frame = pl.DataFrame({"key": skus}, schema={"key": pl.String})
    if values is not None:
        frame = frame.with_columns(values(index))
    frame = frame.with_row_index(f"{name}_row")
    order = pl.Series(range(len(skus)), dtype=pl.UInt32)
    line = pl.Series([index.line_of(sku) for sku in skus], dtype=pl.Int64)
    return Side(name, index.table.name, index.leftover_code, frame, order, line)


def _city_prices(index: SideIndex[Any]) -> pl.Series:
    """Each SKU's city prices for Kaspi: city id and amount (as ``text.amount`` writes it),
    by city id."""
    rows = [
        [{"city": city, "amount": amount(price)} for city, price in sorted(prices.items())]
        for prices in index.values.values()
    ]
    kind = pl.List(pl.Struct({"city": pl.String, "amount": pl.String}))
    return pl.Series("city_prices", rows, dtype=kind)
