"""CSV catalogue: ``products.csv`` plus optional ``stock.csv`` and ``locations.csv``.

Column reference: README → "Catalogue format". Only ``sku,title,price,url,image_url`` must be
present as columns; unknown columns are kept as custom attributes. When ``stock.csv`` is given it
*is* the stock: a product without rows there has none.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from omnisync.models import Location, Problem, Product
from omnisync.sources.base import ProblemSink, Source
from omnisync.sources.csvrows import CsvTable
from omnisync.sources.stock import StockIndex, negative_warning, read_locations
from omnisync.sources.values import RowError, parse_money, parse_on_hand

REQUIRED = ("sku", "title", "price", "url", "image_url")
TEXT_COLUMNS = (
    "description",
    "brand",
    "gtin",
    "mpn",
    "currency",
    "google_category",
    "condition",
    "item_group_id",
    "color",
    "size",
    "availability",
    "availability_date",
)
KNOWN = frozenset(
    (*REQUIRED, *TEXT_COLUMNS, "sale_price", "additional_image_urls", "category", "quantity")
)


class CsvSource(Source):
    def __init__(
        self,
        products: Path,
        stock: Path | None = None,
        locations: Path | None = None,
        delimiter: str = ",",
    ) -> None:
        self.table = CsvTable(products, delimiter, REQUIRED)
        self.stock_path, self.locations_path = stock, locations
        self.delimiter = delimiter
        self._location_codes: frozenset[str] | None = None

    def locations(self, on_problem: ProblemSink) -> list[Location]:
        if self.locations_path is None:
            return []
        found = read_locations(self.locations_path, self.delimiter, on_problem)
        self._location_codes = frozenset(loc.code for loc in found)
        return found

    def read(self, on_problem: ProblemSink) -> Iterator[Product]:
        stock = self._stock(on_problem)
        for line, cells in self.table.rows(on_problem):
            product = self._product(line, cells, stock, on_problem)
            if product is not None:
                yield product
        if stock is not None:
            stock.report_leftovers(on_problem)

    def _stock(self, on_problem: ProblemSink) -> StockIndex | None:
        if self.stock_path is None:
            return None
        if self.locations_path is not None and self._location_codes is None:
            self.locations(lambda _: None)  # its problems were (or will be) reported by locations()
        return StockIndex(self.stock_path, self.delimiter, self._location_codes).load(on_problem)

    def _product(
        self, line: int, cells: list[str], stock: StockIndex | None, on_problem: ProblemSink
    ) -> Product | None:
        row = {name: cell.strip() for name, cell in zip(self.table.header, cells, strict=True)}
        levels = stock.take(row["sku"]) if stock is not None else None
        try:
            return self._build(row, levels, on_problem, line)
        except RowError as err:
            on_problem(
                Problem(
                    code=err.code,
                    message=f"{err.field}: {err}",
                    sku=row["sku"] or None,
                    field=err.field,
                    file=self.table.name,
                    line=line,
                )
            )
            return None

    def _build(
        self, row: dict[str, str], levels: dict[str, int] | None, on_problem: ProblemSink, line: int
    ) -> Product:
        for column in ("sku", "title", "price"):
            if not row[column]:
                raise RowError(column, "missing_value", "is empty; every row needs one")
        sale = row.get("sale_price", "")
        return Product(
            sku=row["sku"],
            title=row["title"],
            price=parse_money(row["price"], "price"),
            url=row["url"],
            image_url=row["image_url"],
            sale_price=parse_money(sale, "sale_price") if sale else None,
            additional_image_urls=_split(row.get("additional_image_urls", ""), "|"),
            category=_split(row.get("category", ""), ">"),
            quantity=self._quantity(row, on_problem, line),
            stock=levels,
            attributes={k: v for k, v in row.items() if k not in KNOWN and k and v},
            file=self.table.name,
            line=line,
            **{name: row.get(name, "") for name in TEXT_COLUMNS},
        )

    def _quantity(self, row: dict[str, str], on_problem: ProblemSink, line: int) -> int | None:
        raw = row.get("quantity", "")
        if not raw:
            return None
        quantity, negative = parse_on_hand(raw)
        if negative:
            on_problem(negative_warning(self.table.name, line, row["sku"], raw))
        return quantity


def _split(raw: str, separator: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(separator) if part.strip()) if raw else ()
