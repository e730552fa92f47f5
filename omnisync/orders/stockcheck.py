"""An order's oversell against a catalogue whose stock is not in the store.

Ingest compares an order's reservations with the store's stock — an imported catalogue's. A
CSV catalogue's stock is only in its files, so ingest marks such an order instead
(``orders.stock_unchecked``, in the transaction that stores it) and the pull compares the marked
orders with the catalogue's stock here, as the feed build compares them
(``reservations.oversold``): an oversell is the same alert whichever the catalogue — exit 1,
``status``, the metrics. A pull killed before it got here leaves the marks for the next.
"""

from __future__ import annotations

from omnisync.errors import SourceUnavailable
from omnisync.sources.base import Source
from omnisync.store import Store
from omnisync.store.orders import settle_unchecked, unchecked
from omnisync.store.reservations import held, oversold

Flagged = list[tuple[tuple[str, str, str], str]]  # (channel, account, external id), SKU


def check(store: Store, source: Source) -> Flagged:
    """Compare the marked orders with the catalogue's stock (``source``: the pull's, which has
    read its SKUs: a file is scanned once); returns those flagged oversell, each with its SKU.
    Only the waiting orders' SKUs are read (``Source.stock_of``), only when orders wait; while
    the catalogue is down they wait for the next pull."""
    waiting = unchecked(store)
    if not waiting:
        return []
    try:
        # Row problems are for validate and the build to report.
        products = {p.sku: p for p in source.stock_of(waiting.keys(), lambda _: None)}
    except SourceUnavailable:
        return []
    reserved = held(store.db, source.snapshot_time())
    found = {sku: oversold(p, reserved.get(sku, {})) for sku, p in products.items()}
    return settle_unchecked(store, waiting, {sku: at for sku, at in found.items() if at})
