"""Orders in the central store: effectively-once ingest (reliability.md → Delivery semantics).

``ingest`` upserts a page of orders on (channel, account, external_id) with a newer-only guard,
rewrites their lines and reservations, and moves the pull cursor — all in one transaction, so a
crash leaves the previous page's state and the next pull (which re-reads an overlap window)
converges. A replayed or re-paged order never makes a second order or a second reservation:
reservations are keyed by order and recomputed from it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from omnisync import faults
from omnisync.orders.model import OPEN, RANK, Order
from omnisync.store.catalog import snapshot_taken
from omnisync.store.db import Store
from omnisync.store.reservations import reserved_units

HOLDING = OPEN | {"delivered"}  # delivered: until the central stock reflects it

Resolve = Callable[[str], str | None]  # channel SKU → central SKU (None: unknown)


@dataclass
class IngestStats:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    needs_attention: list[tuple[str, str]] = field(default_factory=list)  # (order, channel SKU)
    oversold: set[str] = field(default_factory=set)  # SKUs reserved below zero


def ingest(
    store: Store,
    orders: Iterable[Order],
    resolve: Resolve,
    cursor: tuple[str, str, str, str] | None,
    stats: IngestStats,
    exports: tuple[str, ...] = (),
) -> list[Order]:
    """Store one page; returns the orders that were new or changed. Each export kind gets an
    outbox row per new order version, in the same transaction (the relay sends it later)."""
    changed = []
    with store.transaction() as db:
        for order in orders:
            outcome = _upsert(db, order, resolve, stats)
            faults.point("ingest.mid_page")
            if outcome != "unchanged":
                changed.append(order)
                _outbox(db, order, exports)
            setattr(stats, outcome, getattr(stats, outcome) + 1)
        if cursor is not None:
            db.execute(
                "INSERT INTO cursors VALUES (?, ?, ?, ?) ON CONFLICT (channel, account, "
                "stream) DO UPDATE SET value = excluded.value",
                cursor,
            )
    faults.point("ingest.after_page")
    return changed


def _upsert(db: Any, order: Order, resolve: Resolve, stats: IngestStats) -> str:
    key = (order.channel, order.account, order.external_id)
    row = db.execute(
        "SELECT status, updated_at FROM orders WHERE channel = ? AND account = ? "
        "AND external_id = ?",
        key,
    ).fetchone()
    if row is not None and not _newer(order, row[0], row[1]):
        return "unchanged"
    skus = [resolve(line.channel_sku) for line in order.lines]
    flags = ["needs_attention"] if None in skus else []
    stats.needs_attention += [
        (order.code, line.channel_sku)
        for line, sku in zip(order.lines, skus, strict=True)
        if sku is None
    ]
    _write_order(db, order, flags, row is None)
    _write_lines(db, order, skus)
    _reserve(db, order, skus, stats)
    return "new" if row is None else "updated"


def _outbox(db: Any, order: Order, exports: tuple[str, ...]) -> None:
    version = f"{_utc(order.updated_at)}:{order.status}"
    payload = json.dumps(order_json(order), ensure_ascii=False, sort_keys=True)
    for kind in exports:
        key = f"{kind}:{order.channel}:{order.account}:{order.external_id}:{version}"
        db.execute(
            "INSERT OR IGNORE INTO outbox (kind, channel, account, external_id, key, "
            "payload, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                kind,
                order.channel,
                order.account,
                order.external_id,
                key,
                payload,
                _utc(datetime.now(UTC)),
            ),
        )


def outbox_stored(db: Any, key: tuple[str, str, str], exports: tuple[str, ...]) -> None:
    """Outbox rows for a stored order whose status omnisync itself changed (acknowledge, ship,
    cancel): the central system must hear of those versions too."""
    row = db.execute(
        "SELECT status, status_changed_at, code FROM orders WHERE channel = ? AND "
        "account = ? AND external_id = ?",
        key,
    ).fetchone()
    if row is None:
        return
    status, changed, code = row
    payload = json.dumps(
        {
            "channel": key[0],
            "account": key[1],
            "external_id": key[2],
            "code": code,
            "status": status,
        },
        ensure_ascii=False,
        sort_keys=True,
    )
    for kind in exports:
        db.execute(
            "INSERT OR IGNORE INTO outbox (kind, channel, account, external_id, key, "
            "payload, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (kind, *key, f"{kind}:{':'.join(key)}:{changed}:{status}", payload, now()),
        )


def now() -> str:
    return _utc(datetime.now(UTC))


def order_json(order: Order) -> dict[str, Any]:
    return {
        "channel": order.channel, "account": order.account, "external_id": order.external_id,
        "code": order.code, "status": order.status, "channel_status": order.channel_status,
        "created_at": _utc(order.created_at), "updated_at": _utc(order.updated_at),
        "delivery_mode": order.delivery_mode, "location": order.location,
        "pickup": order.pickup, "customer": dict(order.customer), "total": str(order.total),
        "lines": [{"channel_sku": line.channel_sku, "quantity": line.quantity,
                   "unit_price": str(line.unit_price)} for line in order.lines],
    }  # fmt: skip


def _newer(order: Order, status: str, updated_at: str) -> bool:
    """The newer-only guard: a later change time wins; at the same time, only a status further
    along (the channel may not report change times, so ranks break the tie)."""
    incoming = _utc(order.updated_at)
    if incoming != updated_at:
        return incoming > updated_at
    return RANK[order.status] > RANK.get(status, -1)


def _write_order(db: Any, order: Order, flags: list[str], new: bool) -> None:
    now = _utc(datetime.now(UTC))
    db.execute(
        "INSERT INTO orders (channel, account, external_id, code, status, channel_status, "
        "created_at, updated_at, delivery_mode, location, pickup, customer, total, flags, "
        "ingested_at, status_changed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (channel, account, external_id) DO UPDATE SET code = excluded.code, "
        "status_changed_at = CASE WHEN status = excluded.status THEN status_changed_at ELSE "
        "excluded.status_changed_at END, status = excluded.status, channel_status = "
        "excluded.channel_status, updated_at = excluded.updated_at, delivery_mode = "
        "excluded.delivery_mode, location = excluded.location, pickup = excluded.pickup, "
        "customer = excluded.customer, total = excluded.total, flags = excluded.flags",
        (order.channel, order.account, order.external_id, order.code, order.status,
         order.channel_status, _utc(order.created_at), _utc(order.updated_at),
         order.delivery_mode, order.location, int(order.pickup),
         json.dumps(dict(order.customer), ensure_ascii=False), str(order.total),
         json.dumps(flags), now, now),
    )  # fmt: skip


def _write_lines(db: Any, order: Order, skus: list[str | None]) -> None:
    key = (order.channel, order.account, order.external_id)
    db.execute("DELETE FROM order_lines WHERE channel = ? AND account = ? AND external_id = ?", key)
    db.executemany("INSERT INTO order_lines VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", [
        (*key, n, line.channel_sku, sku, line.quantity, str(line.unit_price), line.channel_item)
        for n, (line, sku) in enumerate(zip(order.lines, skus, strict=True))
    ])  # fmt: skip


def _reserve(db: Any, order: Order, skus: list[str | None], stats: IngestStats) -> None:
    """An open order reserves its lines at its location, and so does a delivered one until the
    central stock reflects the sale (see store.reservations); a cancelled order releases."""
    key = (order.channel, order.account, order.external_id)
    db.execute("DELETE FROM reservations WHERE channel = ? AND account = ? AND order_id = ?", key)
    if order.status not in HOLDING or order.location is None:
        return
    for line, sku in zip(order.lines, skus, strict=True):
        if sku is None:
            continue
        db.execute(
            "INSERT INTO reservations VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE "
            "SET quantity = quantity + excluded.quantity",
            (*key, sku, order.location, line.quantity),
        )
        available = _available(db, sku, order.location)
        if available is not None and available < 0:
            stats.oversold.add(sku)
            _flag(db, key, "oversell")


def _available(db: Any, sku: str, location: str) -> int | None:
    """On hand less what is still reserved, against the store's snapshot — counted exactly as
    the feed build counts it (store.reservations); None when the store has no stock for the SKU
    (a CSV catalogue never imported: the build reports the oversell instead)."""
    if db.execute("SELECT NOT EXISTS (SELECT 1 FROM stock WHERE sku = ?)", (sku,)).fetchone()[0]:
        return None
    on_hand = db.execute(
        "SELECT coalesce(sum(on_hand), 0) FROM stock WHERE sku = ? AND location = ?",
        (sku, location),
    ).fetchone()[0]
    return int(on_hand) - reserved_units(db, sku, location, snapshot_taken(db))


def _flag(db: Any, key: tuple[str, str, str], flag: str) -> None:
    flags = json.loads(
        db.execute(
            "SELECT flags FROM orders WHERE channel = ? AND account = ? AND external_id = ?", key
        ).fetchone()[0]
    )
    if flag not in flags:
        db.execute(
            "UPDATE orders SET flags = ? WHERE channel = ? AND account = ? AND external_id = ?",
            (json.dumps([*flags, flag]), *key),
        )


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def read_cursor(store: Store, channel: str, account: str, stream: str) -> str | None:
    row = store.db.execute(
        "SELECT value FROM cursors WHERE channel = ? AND account = ? AND stream = ?",
        (channel, account, stream),
    ).fetchone()
    return None if row is None else str(row[0])


def list_orders(
    state: Any, status: str | None = None, channel: str | None = None
) -> list[dict[str, Any]]:
    """Stored orders, newest first, with their lines (read-only; no state file: none)."""
    from pathlib import Path

    from omnisync.store.db import open_store

    if not Path(state).exists():
        return []
    store = open_store(Path(state), readonly=True)
    try:
        return [_listed(store, row) for row in _rows(store, status, channel)]
    finally:
        store.close()


def pickup_board(state: Any, store_code: str) -> list[dict[str, Any]]:
    """Open orders the buyer collects in ``store_code``, oldest first: what staff prepare."""
    orders = [
        o
        for o in list_orders(state)
        if o["pickup"] and o["location"] == store_code and o["status"] in OPEN
    ]
    return sorted(orders, key=lambda o: o["created_at"])


def _rows(store: Store, status: str | None, channel: str | None) -> list[tuple[Any, ...]]:
    query = (
        "SELECT channel, account, external_id, code, status, channel_status, created_at, "
        "updated_at, location, pickup, flags, total, customer FROM orders WHERE (? IS NULL OR "
        "status"
        " = ?) AND (? IS NULL OR channel = ?) ORDER BY created_at DESC"
    )
    return store.db.execute(query, (status, status, channel, channel)).fetchall()


def _listed(store: Store, row: tuple[Any, ...]) -> dict[str, Any]:
    keys = (
        "channel",
        "account",
        "external_id",
        "code",
        "status",
        "channel_status",
        "created_at",
        "updated_at",
        "location",
        "pickup",
        "flags",
        "total",
        "customer",
    )
    order = dict(zip(keys, row, strict=True))
    order["flags"], order["pickup"] = json.loads(order["flags"]), bool(order["pickup"])
    order["customer"] = json.loads(order["customer"])
    lines = store.db.execute(
        "SELECT channel_sku, sku, quantity, unit_price, channel_item FROM order_lines "
        "WHERE channel = ? AND account = ? AND external_id = ? ORDER BY "
        "line",
        row[:3],
    ).fetchall()
    order["lines"] = [
        dict(
            zip(("channel_sku", "sku", "quantity", "unit_price", "channel_item"), line, strict=True)
        )
        for line in lines
    ]
    return order
