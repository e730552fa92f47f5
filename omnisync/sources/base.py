"""The source contract.

A source streams :class:`~omnisync.models.Product` values in one pass. A row it cannot turn into
a product is handed to ``on_problem`` as a :class:`~omnisync.models.Problem` with file, line,
SKU and reason, and reading goes on; a source raises :class:`~omnisync.errors.SourceError` only
when nothing can be read at all (a missing header, a required column absent). ``locations()``
is small and is read whole before the products.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Container, Iterator
from datetime import UTC, datetime

from omnisync.keyset import KeySet
from omnisync.models import Location, Problem, Product

ProblemSink = Callable[[Problem], None]


def duplicate_sku(sku: str, file: str | None, line: int | None) -> Problem:
    return Problem(
        code="duplicate_sku",
        field="sku",
        sku=sku,
        file=file,
        line=line,
        message="an earlier row has this SKU; that row is kept, this one skipped",
    )


class Source(ABC):
    unique_skus = False  # True: read() itself reports and skips a repeated SKU
    # Read side files alongside the products (bounded memory) where the source has them; it
    # raises SideFilesUnordered when they are in another order. The pipeline turns it on.
    merge_sides = False
    # The side data the run's channels read besides products and stock (``Channel.reads``:
    # "city_prices", "reviews"); the others are not read, so their problems are reported by
    # the runs whose channels read them. None: every one (catalog import, a source alone).
    sides_read: frozenset[str] | None = None

    def reads(self, side: str) -> bool:
        return self.sides_read is None or side in self.sides_read

    @abstractmethod
    def locations(self, on_problem: ProblemSink) -> list[Location]:
        """Every stock location (warehouses and stores); empty when the catalogue has none."""

    @abstractmethod
    def read(self, on_problem: ProblemSink) -> Iterator[Product]:
        """Yield products one at a time; never hold the whole catalogue."""

    def skus(self, on_problem: ProblemSink) -> Iterator[str]:
        """Every SKU the catalogue has (what order lines are matched against). Sources override
        this with something cheaper than building every product."""
        return (product.sku for product in self.read(on_problem))

    def sku_set(self, on_problem: ProblemSink) -> Container[str]:
        """Every SKU, to look order lines up in: 8 bytes a SKU (a set held ~130 MB at a
        million)."""
        found = KeySet()
        for sku in self.skus(on_problem):
            found.add(sku)
        return found

    def stock_of(self, skus: Container[str], on_problem: ProblemSink) -> Iterator[Product]:
        """The products among ``skus`` (a few: the orders the order pull checks against the
        catalogue's stock), as ``read`` builds them, save what has no bearing on stock. Sources
        override this with something cheaper than building every product."""
        return (product for product in self.read(on_problem) if product.sku in skus)

    def snapshot_time(self) -> datetime | None:
        """When the stock this source reads was taken (orders delivered before it are already
        out of it); None when unknown."""
        return None


class LiveRead:
    """A mixin for sources read over a connection (a database, an API): what they read is the
    stock as of now. An order delivered before it is in that stock (an ERP deducts stock when it
    ships, well before the buyer has the parcel), so it no longer reserves units."""

    def snapshot_time(self) -> datetime | None:
        return datetime.now(UTC)
