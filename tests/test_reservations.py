"""The oversell check at ingest and the feed build count reservations the same way: a delivered
order stops holding stock once a snapshot newer than its delivery is in the store, for both."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from test_store import demo

from omnisync import pipeline
from omnisync.config import load_config
from omnisync.models import Severity
from omnisync.orders.model import Order, OrderLine
from omnisync.store import open_store
from omnisync.store.order_views import list_orders
from omnisync.store.orders import IngestStats, ingest
from omnisync.store.reservations import load_reserved

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def order(external_id: str, status: str, quantity: int) -> Order:
    return Order(
        channel="ozon", account="main", external_id=external_id, code=external_id,
        status=status, channel_status=status, created_at=T0, updated_at=T0,
        lines=(OrderLine("A", quantity, Decimal("100")),), location="WH-1",
    )  # fmt: skip


def take(state: Path, *orders: Order) -> IngestStats:
    stats = IngestStats()
    store = open_store(state)
    try:
        ingest(store, orders, lambda code: code, None, stats)
    finally:
        store.close()
    return stats


def snapshot(state: Path, on_hand: int, taken: datetime) -> None:
    """A catalogue import: product A with ``on_hand`` units at WH-1, taken at ``taken``."""
    store = open_store(state)
    with store.transaction() as db:
        db.execute("DELETE FROM products")
        db.execute("DELETE FROM stock")
        db.execute("INSERT INTO products VALUES ('A', '{}', ?)", (taken.isoformat(),))
        db.execute("INSERT INTO stock VALUES ('A', 'WH-1', ?)", (on_hand,))
    store.close()


def flags(state: Path) -> dict[str, list[str]]:
    return {o["external_id"]: o["flags"] for o in list_orders(state)}


def test_a_delivered_order_already_in_the_snapshot_is_not_counted_twice(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    snapshot(state, on_hand=3, taken=T0)
    assert not take(state, order("1", "delivered", 2)).oversold
    # The central system took the sale off its stock: 3 - 2 = 1 on hand, in a newer snapshot.
    later = datetime.now(UTC) + timedelta(seconds=2)
    snapshot(state, on_hand=1, taken=later)
    assert load_reserved(state, later) == {}  # what the feed build sees
    stats = take(state, order("2", "new", 1))
    assert not stats.oversold  # 1 on hand, 1 reserved: sold out, not oversold
    assert load_reserved(state, later) == {"A": {"WH-1": 1}}
    assert flags(state) == {"1": [], "2": []}


def test_one_unit_more_than_on_hand_is_an_oversell(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    snapshot(state, on_hand=1, taken=T0)
    stats = take(state, order("1", "new", 1), order("2", "accepted", 1))
    assert stats.oversold == {"A"}
    assert flags(state) == {"1": [], "2": ["oversell"]}


def test_a_delivered_order_newer_than_the_snapshot_still_holds(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    snapshot(state, on_hand=2, taken=T0)
    stats = take(state, order("1", "delivered", 2), order("2", "new", 1))
    assert stats.oversold == {"A"}  # the snapshot predates the delivery: 2 - 2 - 1 < 0
    assert load_reserved(state, T0) == {"A": {"WH-1": 3}}


def test_the_build_reports_an_oversell_from_a_csv_catalogue(tmp_path: Path) -> None:
    """A CSV catalogue has no stock in the store, so ingest cannot compare; the build can, and
    says so on every run while it lasts — a warning: the feeds (showing 0) are still right."""
    config = demo(tmp_path)
    state = tmp_path / "state.db"
    sonora = dataclasses.replace(order("1", "accepted", 16), lines=(
        OrderLine("HP-SONORA-X2", 16, Decimal("100")),))  # fmt: skip
    take(state, sonora)  # the demo stock CSV has 15 at WH-1
    report = pipeline.validate(load_config(config))
    found = [p for p in report.problems if p.code == "oversell"]
    assert [(p.sku, p.severity) for p in found] == [("HP-SONORA-X2", Severity.WARNING)]
    assert "WH-1" in found[0].message
    take(state, dataclasses.replace(sonora, status="cancelled", updated_at=T0 + timedelta(1)))
    report = pipeline.validate(load_config(config))
    assert not [p for p in report.problems if p.code == "oversell"]
