"""Available-to-sell: on hand less the units orders reserve (order ingest writes the
``reservations`` table). Reservations are few — the open orders — so they are read whole.

An open order reserves its units. A delivered order keeps them reserved until the central
stock reflects the sale: until a catalogue snapshot newer than the moment omnisync saw it
delivered (``status_changed_at``; channels report no delivery time) — a ``catalog import``, or
a stock CSV written after it. A cancelled order reserves nothing.

All readers — the feed build (``load_reserved``), the oversell check at ingest against an
imported catalogue's stock (``reserved_units``) and the order pull's against a CSV catalogue's
(``held``, ``oversold``) — count through ``_HOLDING``, so they always agree.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from omnisync.models import Product
from omnisync.store.db import open_store

# Reservations still holding stock as of a snapshot taken at the bound time (ISO, UTC).
_HOLDING = (
    "FROM reservations r LEFT JOIN orders o "
    "ON o.channel = r.channel AND o.account = r.account AND o.external_id = r.order_id "
    "WHERE (o.status IS NULL OR o.status != 'delivered' OR "
    "coalesce(o.status_changed_at, o.updated_at) > ?)"
)


def _since(snapshot: datetime | None) -> str:
    return (snapshot or datetime.min.replace(tzinfo=UTC)).astimezone(UTC).isoformat()


def load_reserved(state: Path, snapshot: datetime | None = None) -> dict[str, dict[str, int]]:
    """SKU → {location: reserved units}; empty when there is no state file yet.
    ``snapshot``: when the catalogue's stock was taken (delivered orders before it are in it)."""
    if not state.exists():
        return {}
    store = open_store(state, readonly=True)
    try:
        return held(store.db, snapshot)
    finally:
        store.close()


def held(db: Any, snapshot: datetime | None) -> dict[str, dict[str, int]]:
    """``load_reserved`` on an open store (the order pull's check against the catalogue)."""
    rows = db.execute(
        f"SELECT r.sku, r.location, sum(r.quantity) {_HOLDING} GROUP BY r.sku, r.location",
        (_since(snapshot),),
    )
    reserved: dict[str, dict[str, int]] = {}
    for sku, location, quantity in rows:
        reserved.setdefault(sku, {})[location] = quantity
    return reserved


def reserved_units(db: Any, sku: str, location: str, snapshot: datetime | None) -> int:
    """Units of ``sku`` at ``location`` still reserved against a snapshot taken at ``snapshot``."""
    found = db.execute(
        f"SELECT coalesce(sum(r.quantity), 0) {_HOLDING} AND r.sku = ? AND r.location = ?",
        (_since(snapshot), sku, location),
    ).fetchone()[0]
    return int(found)


def available_to_sell(product: Product, reserved: Mapping[str, int]) -> Product:
    """The product with reserved units taken off its stock, never below zero."""
    if product.stock is not None:
        stock = {loc: max(qty - reserved.get(loc, 0), 0) for loc, qty in product.stock.items()}
        return dataclasses.replace(product, stock=stock)
    if product.quantity is not None:
        return dataclasses.replace(
            product, quantity=max(product.quantity - sum(reserved.values()), 0)
        )
    return product


def oversold(product: Product, reserved: Mapping[str, int]) -> list[str]:
    """Locations where orders reserve more than the catalogue has on hand (``*`` for a product
    with a single quantity): the stock was sold twice, and a person must settle it."""
    if product.stock is not None:
        return sorted(loc for loc, units in reserved.items() if units > product.stock.get(loc, 0))
    if product.quantity is not None and sum(reserved.values()) > product.quantity:
        return ["*"]
    return []
