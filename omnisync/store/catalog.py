"""The catalogue snapshot in the central store: import from any source, read back in SKU order.

An import replaces the snapshot in one transaction: a crash leaves the previous one whole.
Products are stored as JSON (one row each); stock per location in its own table.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from omnisync.errors import OmnisyncError
from omnisync.models import Location, Product
from omnisync.sources.base import ProblemSink, Source, duplicate_sku
from omnisync.store.db import Store

_DECIMALS = ("price", "sale_price", "rating")
_TUPLES = ("additional_image_urls", "category")
_SEPARATE = ("stock", "file", "line")  # stock has its own table; file/line point at the CSV


@dataclass(frozen=True, slots=True)
class ImportStats:
    products: int
    stock_rows: int
    locations: int
    previous: int  # products in the snapshot before


class ImportRefused(OmnisyncError):
    """The new snapshot lost too many products; the old one is kept (exit 1)."""


def to_json(product: Product) -> str:
    data = {
        f.name: getattr(product, f.name)
        for f in dataclasses.fields(Product)
        if f.name not in _SEPARATE
    }
    return json.dumps(data, default=_plain, ensure_ascii=False, sort_keys=True)


def from_json(text: str, stock: Mapping[str, int] | None) -> Product:
    data: dict[str, Any] = json.loads(text)
    for name in _DECIMALS:
        if data.get(name) is not None:
            data[name] = Decimal(data[name])
    for name in _TUPLES:
        data[name] = tuple(data.get(name) or ())
    if data.get("city_prices") is not None:
        data["city_prices"] = {k: Decimal(v) for k, v in data["city_prices"].items()}
    return Product(**data, stock=stock)


def _plain(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"cannot store {type(value).__name__}")


def import_catalog(
    store: Store,
    source: Source,
    on_problem: ProblemSink,
    max_drop: float = 0.5,
    force: bool = False,
) -> ImportStats:
    """Replace the snapshot with what ``source`` reads (duplicate SKUs: the first row wins).

    Like the feed publish gate: a snapshot that would lose more than ``max_drop`` of its
    products, or end up empty, is refused unless ``force`` — the next push would otherwise
    zero the stock of everything that went missing.
    """
    now = datetime.now(UTC).isoformat(timespec="seconds")
    locations = source.locations(on_problem)
    products = stock_rows = 0
    with store.transaction() as db:
        previous = db.execute("SELECT count(*) FROM products").fetchone()[0]
        for table in ("products", "stock", "locations"):
            db.execute(f"DELETE FROM {table}")
        db.executemany(
            "INSERT INTO locations VALUES (?, ?, ?, ?, ?, ?)",
            [_location_row(loc) for loc in locations],
        )
        for product in source.read(on_problem):
            inserted = db.execute(
                "INSERT OR IGNORE INTO products VALUES (?, ?, ?)",
                (product.sku, to_json(product), now),
            ).rowcount
            if not inserted:
                on_problem(duplicate_sku(product.sku, product.file, product.line))
            elif product.stock:
                rows = [(product.sku, loc, qty) for loc, qty in product.stock.items()]
                db.executemany("INSERT INTO stock VALUES (?, ?, ?)", rows)
                stock_rows += len(rows)
            products += inserted
        shrank = products == 0 or products < previous * (1 - max_drop)
        if shrank and not force:  # raising rolls the whole import back
            raise ImportRefused(
                f"the import has {products} products where the store has {previous}; nothing "
                "was changed — check the catalogue files, or re-run with --force"
            )
    return ImportStats(products, stock_rows, len(locations), previous)


def _location_row(loc: Location) -> tuple[object, ...]:
    return (loc.code, loc.name, loc.type, loc.city, loc.address, int(loc.pickup))


def read_locations(store: Store) -> list[Location]:
    rows = store.db.execute(
        "SELECT code, name, type, city, address, pickup FROM locations ORDER BY code"
    )
    return [
        Location(code=c, name=n, type=t, city=ci, address=a, pickup=bool(p))
        for c, n, t, ci, a, p in rows
    ]


def snapshot_taken(db: Any) -> datetime | None:
    """When the stored snapshot was imported (None: never)."""
    found = db.execute("SELECT max(updated_at) FROM products").fetchone()[0]
    return datetime.fromisoformat(found) if found else None


def read_products(store: Store) -> Iterator[Product]:
    """Every product in SKU order with its stock: a merge of two SKU-ordered cursors, so memory
    holds one product at a time. Without any stock rows, stock is not tracked (None)."""
    tracked = store.db.execute("SELECT EXISTS (SELECT 1 FROM stock)").fetchone()[0]
    stock_rows = store.db.execute("SELECT sku, location, on_hand FROM stock ORDER BY sku")
    pending = next(stock_rows, None)
    for sku, data in store.db.execute("SELECT sku, data FROM products ORDER BY sku"):
        levels: dict[str, int] = {}
        while pending is not None and pending[0] <= sku:
            if pending[0] == sku:
                levels[pending[1]] = pending[2]
            pending = next(stock_rows, None)
        yield from_json(data, levels if tracked else None)
