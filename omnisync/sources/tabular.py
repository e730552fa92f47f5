"""A catalogue read as tables of text cells: the products table plus optional per-SKU side
tables (stock, city prices, reviews) and a locations table. CSV files are such tables
(``csvfile``), and so are the rows of SQL queries (``sql``): one reader gives both the same
columns, the same checks and the same problems.

Column reference: README → "Catalogue format". Only ``sku,title,price,url,image_url`` must be
present; unknown columns are kept as custom attributes. When a stock table is given it *is* the
stock: a product without rows there has none.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Container, Generator, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from omnisync.keyset import KeySet
from omnisync.models import EMPTY, Location, Problem, Product
from omnisync.sources.base import ProblemSink, Source, duplicate_sku
from omnisync.sources.locations import read_locations
from omnisync.sources.sidefiles import (
    CityPriceIndex,
    ReviewIndex,
    SideIndex,
    StockIndex,
    negative_warning,
)
from omnisync.sources.values import (
    RowError,
    check_id,
    check_urls,
    parse_on_hand,
    parse_price,
    shown,
)

Row = tuple[int, list[str]]


class Table(Protocol):
    """Rows of text cells under a header: a CSV file, a query's result."""

    name: str  # what problems name as their file
    header: list[str]  # lower-case column names, known once rows() was called
    required: tuple[str, ...]  # columns rows() insists on

    def index(self, column: str) -> int:
        """Position of ``column``, -1 when the table does not have it."""

    def rows(
        self, on_problem: ProblemSink, only: Collection[str] | None = None
    ) -> Generator[Row, None, None]:
        """Read the header now (raising when it lacks a required column), the rows lazily, each
        with its line (or row) number. ``only``: the caller wants the rows of these SKUs
        alone; a table may leave the others out (the engine does, before they cross into
        Python), and the caller still checks."""


REQUIRED = ("sku", "title", "price", "url", "image_url")
TEXT_COLUMNS = (
    "description", "brand", "gtin", "mpn", "currency", "google_category", "condition",
    "item_group_id", "color", "size", "availability", "availability_date",
)  # fmt: skip
KNOWN = frozenset(
    (*REQUIRED, *TEXT_COLUMNS, "sale_price", "additional_image_urls", "category", "quantity")
)


@dataclass(slots=True)
class _Sides:
    stock: StockIndex | None
    city_prices: CityPriceIndex | None
    reviews: ReviewIndex | None

    def all(self) -> list[Any]:
        return [s for s in (self.stock, self.city_prices, self.reviews) if s is not None]

    def take(self, sku: str) -> dict[str, Any]:
        """The product fields the side files hold for ``sku``."""
        fields: dict[str, Any] = {}
        if self.stock is not None:
            fields["stock"] = self.stock.take(sku) or {}  # stock.csv is the stock: none is 0
        if self.city_prices is not None:
            fields["city_prices"] = self.city_prices.take(sku)
        review = self.reviews.take(sku) if self.reviews is not None else None
        if review is not None:
            fields["rating"], fields["review_count"] = review
        return fields


class TableSource(Source):
    """``merge_sides``: read the side tables alongside the products, in bounded memory, and
    raise :class:`~omnisync.sources.sidefiles.SideFilesUnordered` when they turn out to be in
    another order (the caller then reads again without it, indexing them)."""

    unique_skus = True  # read() reports and skips a repeated SKU itself

    def __init__(
        self,
        products: Table,
        *,
        stock: Table | None = None,
        locations: Table | None = None,
        city_prices: Table | None = None,
        reviews: Table | None = None,
        merge_sides: bool = False,
    ) -> None:
        self.table = products
        self.table.required = REQUIRED
        self.sides = {"stock": stock, "city_prices": city_prices, "reviews": reviews}
        self.location_table = locations
        self.merge_sides = merge_sides
        self._location_codes: frozenset[str] | None = None

    def side(self, name: str) -> Table | None:
        """The side table ``name``, when the catalogue has it and the run reads it."""
        return self.sides[name] if name == "stock" or self.reads(name) else None

    def locations(self, on_problem: ProblemSink) -> list[Location]:
        if self.location_table is None:
            return []
        found = read_locations(self.location_table, on_problem)
        self._location_codes = frozenset(loc.code for loc in found)
        return found

    @property
    def location_codes(self) -> frozenset[str] | None:
        """The codes of the locations read (``locations()``); None without a locations table:
        then any location a stock row names counts."""
        return self._location_codes

    def read(self, on_problem: ProblemSink) -> Iterator[Product]:
        """Products in file order; a SKU seen before is reported and skipped (first row
        wins) before it takes any side rows."""
        return self._products(on_problem, None)

    def stock_of(self, skus: Container[str], on_problem: ProblemSink) -> Iterator[Product]:
        """Only the rows of ``skus`` are built, and only their stock rows kept (indexed: memory
        grows with ``skus``, and no file order is relied on); city prices and reviews are not
        read. What is left costs a scan of the files, not a product per row."""
        return self._products(on_problem, skus)

    def _products(
        self, on_problem: ProblemSink, wanted: Container[str] | None
    ) -> Iterator[Product]:
        seen, failed = KeySet(), KeySet(bits=4)  # bounded memory: 8 bytes a SKU
        sides = self._sides(on_problem, _Taken(seen, failed), wanted)
        only = wanted if isinstance(wanted, Collection) else None
        with (
            _closing(sides),
            closing(self.table.rows(on_problem, only)) as rows,
        ):  # a redo cuts it short
            columns = _Columns(self.table.header)
            for line, cells in rows:
                sku = cells[columns.sku].strip()
                if wanted is not None and sku not in wanted:
                    continue
                if sku in seen:
                    on_problem(duplicate_sku(sku, self.table.name, line))
                    continue
                product = self._product(line, cells, columns, sides.take, on_problem)
                if product is None:
                    failed.add(sku)  # its side rows are taken (and lost with it), as indexed
                else:
                    seen.add(sku)
                    yield product
            for index in sides.all():
                index.report_leftovers(on_problem)

    def builder(
        self, header: list[str], on_problem: ProblemSink
    ) -> Callable[[Row, Callable[[str], dict[str, Any]]], Product | None]:
        """Build products one row at a time, as ``read`` does, for a reader that hands over
        only some rows (the engine's rare ones; every row of a repeated SKU among them, so the
        repeats are found here as ``read`` finds them). ``take(sku)``: the product fields the
        side tables hold for the row's SKU, asked for when ``read`` would take them."""
        seen, columns = KeySet(), _Columns(header)

        def build(row: Row, take: Callable[[str], dict[str, Any]]) -> Product | None:
            line, cells = row
            sku = cells[columns.sku].strip()
            if sku in seen:
                on_problem(duplicate_sku(sku, self.table.name, line))
                return None
            product = self._product(line, cells, columns, take, on_problem)
            if product is not None:
                seen.add(sku)
            return product

        return build

    def skus(self, on_problem: ProblemSink) -> Iterator[str]:
        """The SKU column alone: no side files, no product building (``orders pull``)."""
        column = -1
        for _, cells in self.table.rows(on_problem):
            column = column if column >= 0 else self.table.index("sku")
            sku = cells[column].strip()
            if sku:
                yield sku

    def _sides(
        self, on_problem: ProblemSink, passed: Container[str], wanted: Container[str] | None
    ) -> _Sides:
        """The side tables to take from; ``wanted``: the stock of those SKUs alone."""
        if self.location_table is not None and self._location_codes is None:
            self.locations(lambda _: None)  # the contract calls locations() first; this guards
        stock, cities, reviews = (self.side(k) for k in ("stock", "city_prices", "reviews"))
        if wanted is not None:
            cities = reviews = None

        def opened(index: SideIndex[Any]) -> Any:
            if wanted is not None:
                return index.load(on_problem, wanted)
            return index.stream(on_problem, passed) if self.merge_sides else index.load(on_problem)

        return _Sides(
            stock=opened(StockIndex(stock, self._location_codes)) if stock else None,
            city_prices=opened(CityPriceIndex(cities)) if cities else None,
            reviews=opened(ReviewIndex(reviews)) if reviews else None,
        )

    def _product(
        self,
        line: int,
        cells: list[str],
        columns: _Columns,
        take: Callable[[str], dict[str, Any]],
        on_problem: ProblemSink,
    ) -> Product | None:
        row = [cell.strip() for cell in cells]
        extra = take(row[columns.sku])
        extra.update(self.row_fields(line, row[columns.sku], on_problem))
        try:
            return self._build(row, columns, extra, on_problem, line)
        except RowError as err:
            on_problem(
                Problem(
                    code=err.code,
                    message=f"{err.field}: {err}",
                    sku=shown(row[columns.sku]) or None,
                    field=err.field,
                    file=self.table.name,
                    line=line,
                )
            )
            return None

    def row_fields(self, line: int, sku: str, on_problem: ProblemSink) -> dict[str, Any]:
        """Product fields the row just read carries besides its cells (an API item's own
        stock list): none here."""
        return {}

    def _build(
        self,
        row: list[str],
        at: _Columns,
        extra: dict[str, Any],
        on_problem: ProblemSink,
        line: int,
    ) -> Product:
        for column in ("sku", "title", "price"):
            if not row[at.named[column]]:
                raise RowError(column, "missing_value", "is empty; every row needs one")
        check_id(row[at.sku], "sku")
        if at.group is not None:
            check_id(row[at.group], "item_group_id")
        sale = at.cell(row, "sale_price")
        url, image_url = row[at.named["url"]], row[at.named["image_url"]]
        additional = _split(at.cell(row, "additional_image_urls"), "|")
        check_urls(url, image_url, additional)
        texts: dict[str, Any] = {name: row[i] for name, i in at.texts}
        attributes = {name: row[i] for name, i in at.extra if row[i]}
        return Product(
            sku=row[at.sku], title=row[at.named["title"]],
            price=parse_price(row[at.named["price"]], "price"),
            url=url, image_url=image_url,
            sale_price=parse_price(sale, "sale_price") if sale else None,
            additional_image_urls=additional,
            category=_split(at.cell(row, "category"), ">"),
            quantity=self._quantity(at.cell(row, "quantity"), row[at.sku], on_problem, line),
            attributes=attributes or EMPTY,
            file=self.table.name, line=line,
            **texts,
            **extra,
        )  # fmt: skip

    def _quantity(self, raw: str, sku: str, on_problem: ProblemSink, line: int) -> int | None:
        if not raw:
            return None
        quantity, negative = parse_on_hand(raw)
        if negative:
            on_problem(negative_warning(self.table.name, line, sku, raw))
        return quantity


@contextmanager
def _closing(sides: _Sides) -> Iterator[None]:
    try:
        yield
    finally:
        for index in sides.all():
            index.close()


class _Taken:
    """The SKUs whose rows have taken their side rows: the products read, and the rows that
    failed to build (a later row for one proves the side file is in another order)."""

    def __init__(self, seen: KeySet, failed: KeySet) -> None:
        self.seen, self.failed = seen, failed

    def __contains__(self, sku: object) -> bool:
        return sku in self.seen or sku in self.failed


class _Columns:
    """Where each product field sits in this file's rows: worked out once from the header, so
    a row is read by position (a dict per row cost more than the rest of reading it)."""

    def __init__(self, header: list[str]) -> None:
        self.named = {name: i for i, name in enumerate(header)}
        self.sku = self.named["sku"]
        self.group = self.named.get("item_group_id")
        self.texts = [(name, self.named[name]) for name in TEXT_COLUMNS if name in self.named]
        self.extra = [(name, i) for i, name in enumerate(header) if name and name not in KNOWN]

    def cell(self, row: list[str], name: str) -> str:
        """The row's value of an optional column; empty when the file has no such column."""
        i = self.named.get(name)
        return "" if i is None else row[i]


def _split(raw: str, separator: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(separator) if part.strip()) if raw else ()
