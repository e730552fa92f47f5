"""Available-to-sell: on hand less the units open orders reserve (the orders issue writes the
``reservations`` table). Reservations are few — the open orders — so they are read whole."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path

from omnisync.models import Product
from omnisync.store.db import open_store


def load_reserved(state: Path) -> dict[str, dict[str, int]]:
    """SKU → {location: reserved units}; empty when there is no state file yet."""
    if not state.exists():
        return {}
    store = open_store(state)
    try:
        rows = store.db.execute(
            "SELECT sku, location, sum(quantity) FROM reservations GROUP BY sku, location"
        )
        reserved: dict[str, dict[str, int]] = {}
        for sku, location, quantity in rows:
            reserved.setdefault(sku, {})[location] = quantity
        return reserved
    finally:
        store.close()


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
