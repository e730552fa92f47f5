"""CSV catalogue: ``products.csv`` plus optional side files (``stock.csv``, ``city_prices.csv``,
``reviews.csv``) and ``locations.csv``, read as tables (``tabular``)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from omnisync.sources.csvrows import CsvTable
from omnisync.sources.tabular import TableSource


class CsvSource(TableSource):
    """The files, by path: incremental planning scans their raw bytes (``rawscan``)."""

    def __init__(
        self,
        products: Path,
        *,
        stock: Path | None = None,
        locations: Path | None = None,
        city_prices: Path | None = None,
        reviews: Path | None = None,
        delimiter: str = ",",
        encoding: str = "utf-8",
        merge_sides: bool = False,
    ) -> None:
        self.paths = {"stock": stock, "city_prices": city_prices, "reviews": reviews}
        self.locations_path, self.delimiter, self.encoding = locations, delimiter, encoding

        def table(path: Path) -> CsvTable:
            return CsvTable(path, delimiter, encoding=encoding)

        tables = {k: table(p) if p else None for k, p in self.paths.items()}
        super().__init__(
            table(products),
            locations=table(locations) if locations else None,
            merge_sides=merge_sides,
            **tables,
        )
        self.table: CsvTable = self.table

    @property
    def bytes_scannable(self) -> bool:
        """Whether incremental planning may scan these files' bytes (``rawscan``): it reads
        SKUs as UTF-8 bytes, so a file in another encoding is read whole every run."""
        return self.table.codec.startswith("utf-8")

    def snapshot_time(self) -> datetime | None:
        """The stock file's (else the products file's) modification time."""
        path = self.paths["stock"] or self.table.path
        return datetime.fromtimestamp(path.stat().st_mtime, UTC) if path.exists() else None
