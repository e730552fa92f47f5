"""CSV catalogue: ``products.csv`` plus optional side files (``stock.csv``, ``city_prices.csv``,
``reviews.csv``) and ``locations.csv``, read as tables (``tabular``)."""

from __future__ import annotations

from collections.abc import Container, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import get_args

from omnisync.catalogs import CsvFileKey
from omnisync.engine.keys import SortedKeys
from omnisync.sources.base import ProblemSink
from omnisync.sources.csvrows import CsvTable
from omnisync.sources.tabular import TableSource

FILE_KEYS: tuple[CsvFileKey, ...] = get_args(CsvFileKey)


class CsvSource(TableSource):
    """The files, by path (the engine reads a plain one itself: ``sources/csvengine.py``)."""

    def __init__(
        self,
        products: Path,
        *,
        stock: Path | None = None,
        locations: Path | None = None,
        city_prices: Path | None = None,
        reviews: Path | None = None,
        delimiter: str = ",",
        delimiters: Mapping[CsvFileKey, str] | None = None,
        encoding: str = "utf-8",
        merge_sides: bool = False,
    ) -> None:
        self.paths = {"stock": stock, "city_prices": city_prices, "reviews": reviews}
        self.locations_path, self.encoding = locations, encoding
        # Each file's delimiter by its key (catalog.delimiters), else the catalogue's.
        self.delimiters: dict[str, str] = dict.fromkeys(FILE_KEYS, delimiter)
        for key, own in (delimiters or {}).items():
            self.delimiters[key] = own
        self.delimiter = self.delimiters["products"]

        def table(path: Path, key: str) -> CsvTable:
            setting = "catalog.delimiter" if key == "products" else f"catalog.delimiters.{key}"
            return CsvTable(path, self.delimiters[key], encoding=encoding, setting=setting)

        tables = {k: table(p, k) if p else None for k, p in self.paths.items()}
        super().__init__(
            table(products, "products"),
            locations=table(locations, "locations") if locations else None,
            merge_sides=merge_sides,
            **tables,
        )
        self.table: CsvTable = self.table

    def skus(self, on_problem: ProblemSink) -> Iterator[str]:
        """The SKU column alone, read by the engine when the file is plain (``orders pull``
        matches order lines against it): no row's other cells cross into Python."""
        engine = self.table.engine_frame()
        if engine is None or self.table.widened:
            return super().skus(on_problem)
        found = engine.select(engine.sku().alias("sku"))["sku"]
        return (sku for sku in found.to_list() if sku)

    def sku_set(self, on_problem: ProblemSink) -> Container[str]:
        """The SKU column sorted, looked up by binary search, when the engine reads the file:
        a million SKUs in a fraction of a second, where adding them one by one to a set took
        four."""
        engine = self.table.engine_frame()
        if engine is None or self.table.widened:
            return super().sku_set(on_problem)
        return SortedKeys(engine.select(engine.sku().alias("sku"))["sku"])

    def snapshot_time(self) -> datetime | None:
        """The stock file's (else the products file's) modification time."""
        path = self.paths["stock"] or self.table.path
        return datetime.fromtimestamp(path.stat().st_mtime, UTC) if path.exists() else None
