"""Orders in the central store: effectively-once ingest (reliability.md → Delivery semantics).

``ingest`` upserts a page of orders on (channel, account, external_id) with a newer-only guard,
rewrites their lines and reservations, and moves the pull cursor — all in one transaction, so a
crash leaves the previous page's state and the next pull (which re-reads an overlap window)
converges. A replayed or re-paged order never makes a second order or a second reservation:
reservations are keyed by order and recomputed from it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from omnisync import faults
from omnisync.orders.model import OPEN, RANK, Order
from omnisync.store import alerts
from omnisync.store.catalog import snapshot_taken
from omnisync.store.db import Store
from omnisync.store.order_views import LINE_COLUMNS, stored_order
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
        "SELECT status, updated_at, digest FROM orders WHERE channel = ? AND account = ? "
        "AND external_id = ?",
        key,
    ).fetchone()
    skus = [resolve(line.channel_sku) for line in order.lines]
    digest = _digest(order, skus)
    if row is not None and not _changed(order, row, digest):
        return "unchanged"
    flags = ["needs_attention"] if None in skus else []
    lines = zip(order.lines, skus, strict=True)
    unknown = [line.channel_sku for line, sku in lines if sku is None]
    stats.needs_attention += [(order.code, code) for code in unknown]
    _write_order(db, order, flags, digest)
    alerts.clear(db, key)
    for code in dict.fromkeys(unknown):
        alerts.raise_alert(db, key, alerts.UNKNOWN_SKU, code)
    _write_lines(db, order, skus)
    _reserve(db, order, skus, stats)
    return "new" if row is None else "updated"


def _outbox(db: Any, order: Order, exports: tuple[str, ...]) -> None:
    payload = json.dumps(order_json(order), ensure_ascii=False, sort_keys=True)
    # The content is in the version: a change at the same time and status is a new version.
    content = hashlib.sha256(payload.encode()).hexdigest()[:12]
    version = f"{_utc(order.updated_at)}:{order.status}:{content}"
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
    cancel): the central system hears of those versions too, as the whole order (a receiver
    that upserts whole documents must not lose the lines)."""
    order = stored_order(db, key)
    if order is None:
        return
    changed = db.execute(
        "SELECT status_changed_at FROM orders WHERE channel = ? AND account = ? AND "
        "external_id = ?",
        key,
    ).fetchone()[0]
    payload = json.dumps(order, ensure_ascii=False, sort_keys=True)
    for kind in exports:
        db.execute(
            "INSERT OR IGNORE INTO outbox (kind, channel, account, external_id, key, "
            "payload, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (kind, *key, f"{kind}:{':'.join(key)}:{changed}:{order['status']}", payload, now()),
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


def _changed(order: Order, row: tuple[str, str, str | None], digest: str) -> bool:
    """The newer-only guard: a later change time wins; at the same time, a status further
    along (channels rarely report change times, so ranks break the tie), or the same status
    with different content — a partial cancel, a new channel status, a SKU now mapped. An
    older time or a status going back is a stale read, never applied."""
    status, updated_at, stored = row
    incoming = _utc(order.updated_at)
    if incoming != updated_at:
        return incoming > updated_at
    rank, known = RANK[order.status], RANK.get(status, -1)
    return rank > known or (rank == known and digest != stored)


def _digest(order: Order, skus: list[str | None]) -> str:
    lines = [
        {"channel_sku": line.channel_sku, "sku": sku, "quantity": line.quantity,
         "unit_price": str(line.unit_price), "channel_item": line.channel_item}
        for line, sku in zip(order.lines, skus, strict=True)
    ]  # fmt: skip
    return content_digest({**order_json(order), "lines": lines})


DIGESTED = ("code", "status", "channel_status", "delivery_mode", "location", "pickup", "total")


def content_digest(order: Mapping[str, Any]) -> str:
    """What the newer-only guard compares at equal times: the same for an ``Order`` just read
    (with its resolved SKUs) and for the stored order (``order_views.stored_order``)."""
    lines = [[line[k] for k in LINE_COLUMNS] for line in order["lines"]]
    content = [[order[k] for k in DIGESTED], lines]
    text = json.dumps(content, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def refresh_digest(db: Any, key: tuple[str, str, str]) -> None:
    """After omnisync changed an order itself (acknowledged it): the channel will show it this
    way, which is no news on the next read."""
    order = stored_order(db, key)
    if order is not None:
        db.execute(
            "UPDATE orders SET digest = ? WHERE channel = ? AND account = ? AND external_id = ?",
            (content_digest(order), *key),
        )


def _write_order(db: Any, order: Order, flags: list[str], digest: str) -> None:
    now = _utc(datetime.now(UTC))
    db.execute(
        "INSERT INTO orders (channel, account, external_id, code, status, channel_status, "
        "created_at, updated_at, delivery_mode, location, pickup, customer, total, flags, "
        "ingested_at, status_changed_at, digest) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (channel, account, external_id) DO UPDATE SET code = excluded.code, "
        "status_changed_at = CASE WHEN status = excluded.status THEN status_changed_at ELSE "
        "excluded.status_changed_at END, status = excluded.status, channel_status = "
        "excluded.channel_status, updated_at = excluded.updated_at, delivery_mode = "
        "excluded.delivery_mode, location = excluded.location, pickup = excluded.pickup, "
        "customer = excluded.customer, total = excluded.total, flags = excluded.flags, "
        "digest = excluded.digest",
        (order.channel, order.account, order.external_id, order.code, order.status,
         order.channel_status, _utc(order.created_at), _utc(order.updated_at),
         order.delivery_mode, order.location, int(order.pickup),
         json.dumps(dict(order.customer), ensure_ascii=False), str(order.total),
         json.dumps(flags), now, now, digest),
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
    central stock reflects the sale (see store.reservations); a cancelled order releases. A
    line of a SKU the store has no stock for (a CSV catalogue) leaves the order marked for the
    pull to compare with the catalogue's stock (``unchecked``), in this same transaction."""
    key = (order.channel, order.account, order.external_id)
    db.execute("DELETE FROM reservations WHERE channel = ? AND account = ? AND order_id = ?", key)
    unchecked = False
    holding = order.status in HOLDING and order.location is not None
    for line, sku in zip(order.lines, skus, strict=True) if holding else ():
        if sku is None or line.quantity <= 0:  # a line cancelled down to nothing holds nothing
            continue
        db.execute(
            "INSERT INTO reservations VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE "
            "SET quantity = quantity + excluded.quantity",
            (*key, sku, order.location, line.quantity),
        )
        available = _available(db, sku, str(order.location))
        unchecked = unchecked or available is None
        if available is not None and available < 0:
            stats.oversold.add(sku)
            _oversold(db, key, sku)
    db.execute(
        "UPDATE orders SET stock_unchecked = ? WHERE channel = ? AND account = ? AND "
        "external_id = ?",
        (int(unchecked), *key),
    )


def _available(db: Any, sku: str, location: str) -> int | None:
    """On hand less what is still reserved, against the store's snapshot — counted exactly as
    the feed build counts it (store.reservations); None when the store has no stock for the SKU
    (a CSV catalogue never imported: ``settle_unchecked`` compares it with the catalogue's)."""
    if db.execute("SELECT NOT EXISTS (SELECT 1 FROM stock WHERE sku = ?)", (sku,)).fetchone()[0]:
        return None
    on_hand = db.execute(
        "SELECT coalesce(sum(on_hand), 0) FROM stock WHERE sku = ? AND location = ?",
        (sku, location),
    ).fetchone()[0]
    return int(on_hand) - reserved_units(db, sku, location, snapshot_taken(db))


def _oversold(db: Any, key: tuple[str, str, str], sku: str) -> None:
    _flag(db, key, "oversell")
    alerts.raise_alert(db, key, alerts.OVERSELL, sku)


Waiting = dict[str, dict[str, list[tuple[str, str, str]]]]  # SKU → location → orders


def unchecked(store: Store) -> Waiting:
    """The units reserved with no stock in the store to compare them with, by SKU and
    location, with the orders holding them (``_reserve`` marked those orders)."""
    rows = store.db.execute(
        "SELECT r.sku, r.location, r.channel, r.account, r.order_id FROM reservations r "
        "JOIN orders o ON o.channel = r.channel AND o.account = r.account AND "
        "o.external_id = r.order_id WHERE o.stock_unchecked = 1 ORDER BY o.created_at"
    )
    waiting: Waiting = {}
    for sku, location, channel, account, order_id in rows:
        waiting.setdefault(sku, {}).setdefault(location, []).append((channel, account, order_id))
    return waiting


def settle_unchecked(
    store: Store, waiting: Waiting, oversold: Mapping[str, list[str]]
) -> list[tuple[tuple[str, str, str], str]]:
    """``waiting`` compared with the catalogue's stock: the orders holding a SKU where it is
    ``oversold`` (its locations; ``*``: the catalogue has one quantity for all of them) are
    flagged and alerted, as ingest does against the store's stock; all of them are checked.
    Returns the orders flagged, each with its SKU."""
    flagged = []
    with store.transaction() as db:
        for sku, locations in oversold.items():
            held = waiting.get(sku, {})
            for location in held if "*" in locations else locations:
                for key in held.get(location, []):
                    _oversold(db, key, sku)
                    flagged.append((key, sku))
        db.executemany(
            "UPDATE orders SET stock_unchecked = 0 WHERE channel = ? AND account = ? AND "
            "external_id = ?",
            {key for held in waiting.values() for keys in held.values() for key in keys},
        )
    return flagged


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
