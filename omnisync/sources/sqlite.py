"""``catalog: {source: sqlite}``: the catalogue snapshot in the central store, as imported by
``omnisync catalog import``. Products come in SKU order, one at a time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from omnisync.errors import SourceError
from omnisync.models import Location, Product
from omnisync.sources.base import ProblemSink, Source
from omnisync.store import Store, open_store
from omnisync.store.catalog import read_locations, read_products, snapshot_taken


class StoreSource(Source):
    def __init__(self, state: Path) -> None:
        self.state = state

    def _open(self) -> Store:
        if not self.state.exists():
            raise SourceError(
                self.state.name,
                None,
                "the state file does not exist yet; run omnisync catalog import",
            )
        return open_store(self.state, readonly=True)  # reading never migrates: writers do

    def locations(self, on_problem: ProblemSink) -> list[Location]:
        store = self._open()
        try:
            return read_locations(store)
        finally:
            store.close()

    def snapshot_time(self) -> datetime | None:
        """When the snapshot was imported."""
        if not self.state.exists():
            return None
        store = self._open()
        try:
            return snapshot_taken(store.db)
        finally:
            store.close()

    def skus(self, on_problem: ProblemSink) -> Iterator[str]:
        store = self._open()
        try:
            yield from (sku for (sku,) in store.db.execute("SELECT sku FROM products"))
        finally:
            store.close()

    def read(self, on_problem: ProblemSink) -> Iterator[Product]:
        store = self._open()
        try:
            count = store.db.execute("SELECT count(*) FROM products").fetchone()[0]
            if count == 0:
                raise SourceError(
                    self.state.name,
                    None,
                    "the store holds no products; run omnisync catalog import",
                )
            yield from read_products(store)
        finally:
            store.close()
