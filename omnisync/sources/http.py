"""``catalog: {source: http}``: the catalogue read from a paginated JSON API (an ERP's, a PIM's).

Each item of the API becomes a row of text cells under the keys of ``fields`` (each cell the
value at its dotted path), read by the same reader as the CSV files (``tabular``): the same
checks, the same problems, with "products API" and the item's position in the whole stream
where a CSV file has its name and line. An item's own stock list becomes its product's stock
(``row_fields``) by the rules stock.csv's rows follow. The pages (``httppages``) are read as
the products are taken, one at a time: memory stays flat however long the catalogue.
"""

from __future__ import annotations

from collections.abc import Collection, Generator, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

from omnisync.catalogs import HttpCatalog, StockItems
from omnisync.http import Sleep
from omnisync.models import Problem, Product, Severity
from omnisync.sources.base import LiveRead, ProblemSink
from omnisync.sources.csvrows import CsvTable
from omnisync.sources.httppages import MISSING, NAME, PageReader, dotted, find, kind, lookup
from omnisync.sources.sidefiles import add_stock
from omnisync.sources.tabular import Row, TableSource
from omnisync.sources.values import RowError, cell

STOCK_NAME = "stock in products API"  # what stock problems name as their file
SEPARATORS = {"additional_image_urls": "|", "category": " > "}  # as the CSV cells write them


class ItemsTable:
    """One row per item (``tabular.Table``): the cells at the paths of ``fields``, under their
    keys. It keeps the value at ``stock_path`` of the item whose row it yielded last."""

    def __init__(self, reader: PageReader, fields: dict[str, str], stock_path: str | None) -> None:
        self.reader, self.name = reader, NAME
        # The header is the settings' (HttpCatalog requires every column TableSource does).
        self.header = [name.strip().lower() for name in fields]
        self.required: tuple[str, ...] = ()
        self.columns = [(dotted(path), SEPARATORS.get(name, ", ")) for name, path in fields.items()]
        self.stock_path = None if stock_path is None else dotted(stock_path)
        self._stock: tuple[int, Any] = (0, MISSING)  # (line, stock list) of the last row

    def index(self, column: str) -> int:
        return self.header.index(column) if column in self.header else -1

    def rows(
        self, on_problem: ProblemSink, only: Collection[str] | None = None
    ) -> Generator[Row, None, None]:
        with closing(self.reader.items()) as items:  # a read cut short closes the client now
            for line, item in items:
                if not isinstance(item, dict):
                    message = f"the item is {kind(item)}, not an object; skipped"
                    on_problem(Problem("bad_item", message, file=self.name, line=line))
                    continue
                if self.stock_path is not None:
                    self._stock = (line, find(item, self.stock_path))
                yield line, [cell(lookup(item, path), sep) for path, sep in self.columns]

    def stock_list(self, line: int) -> Any:
        """The stock list of the row at ``line`` (MISSING when the item has none at the path):
        always the row last yielded, asked for before the next one is read."""
        held, entries = self._stock
        if held != line:  # a row skipped (a repeated SKU) never gets here: the pairing holds
            raise RuntimeError(f"stock of item {line} asked for while item {held} is read")
        return entries


class ItemStock:
    """An item's stock list → {location: units}, by the rules of ``sidefiles.StockIndex``:
    a location is required (and known, when a locations file is given: ``known``), negative
    counts are 0 with a warning, entries for one location add up; a bad entry is reported with
    the item's line and SKU and skipped, the rest of the item's entries still count."""

    def __init__(self, settings: StockItems) -> None:
        self.path = settings.items
        self.location, self.quantity = dotted(settings.location), dotted(settings.quantity)
        self.known: frozenset[str] | None = None

    def parse(self, entries: Any, line: int, sku: str, sink: ProblemSink) -> dict[str, int]:
        if entries is None:
            return {}  # null: none listed, as an empty list
        if not isinstance(entries, list):
            sink(_bad(f"{self.path}: {kind(entries)}, not a list of stock entries", line, sku))
            return {}
        stock: dict[str, int] = {}
        for entry in entries:
            try:
                self._add(stock, entry, line, sku, sink)
            except RowError as err:
                sink(_bad(f"{err.field}: {err}", line, sku, err.field))
        return stock

    def _add(
        self, stock: dict[str, int], entry: Any, line: int, sku: str, sink: ProblemSink
    ) -> None:
        if not isinstance(entry, dict):
            raise RowError(self.path, "not_an_object", f"an entry is {kind(entry)}, not an object")
        location = cell(lookup(entry, self.location)).strip()
        raw = cell(lookup(entry, self.quantity)).strip()
        add_stock(stock, location, raw, self.known, (STOCK_NAME, line, sku), sink)


def _bad(message: str, line: int, sku: str, field: str | None = None) -> Problem:
    return Problem("bad_stock_row", message, sku=sku, field=field, file=STOCK_NAME, line=line)


class HttpSource(LiveRead, TableSource):
    def __init__(self, settings: HttpCatalog, config: Path, sleep: Sleep | None = None) -> None:
        self.settings = settings
        self.item_stock = ItemStock(settings.stock) if settings.stock else None
        stock_path = settings.stock.items if settings.stock else None
        self.items = ItemsTable(PageReader(settings, config, sleep), settings.fields, stock_path)
        locations = CsvTable(settings.locations) if settings.locations else None
        self.stocked, self.unlisted = 0, 0  # items given stock, of them without the path
        super().__init__(self.items, locations=locations)

    def read(self, on_problem: ProblemSink) -> Iterator[Product]:
        self.stocked, self.unlisted = 0, 0
        yield from super().read(on_problem)
        if self.unlisted:
            on_problem(self._unlisted_warning())

    def row_fields(self, line: int, sku: str, on_problem: ProblemSink) -> dict[str, Any]:
        """The item's stock (when ``stock`` is set): none on hand when it lists none."""
        if self.item_stock is None:
            return {}
        entries = self.items.stock_list(line)
        if not sku:
            return {"stock": {}}  # the row is refused (no SKU): its stock with it
        self.stocked += 1
        if entries is MISSING:
            self.unlisted += 1
            return {"stock": {}}
        self.item_stock.known = self._location_codes  # read by locations(), before the products
        return {"stock": self.item_stock.parse(entries, line, sku, on_problem)}

    def _unlisted_warning(self) -> Problem:
        path = self.settings.stock.items if self.settings.stock else ""
        message = (
            f"{self.unlisted} of {self.stocked} items have no value at {path!r}: their stock "
            "counted as none; check catalog.stock.items"
        )
        return Problem(
            code="stock_path_missing", message=message, severity=Severity.WARNING,
            field="stock.items", file=NAME,
        )  # fmt: skip
