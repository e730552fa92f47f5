"""The oversell check at ingest and the feed build count reservations the same way: a delivered
order stops holding stock once a snapshot newer than its delivery is in the store, for both."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import yaml
from conftest import demo_against, run_cli
from prometheus_client.parser import text_string_to_metric_families
from test_store import demo

from omnisync import pipeline
from omnisync.config import load_config
from omnisync.models import Severity
from omnisync.orders.model import Order, OrderLine
from omnisync.sandbox.server import Sandbox
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
    """A CSV catalogue has no stock in the store, so ingest cannot compare (the pull then
    does, once); the build says so on every run while it lasts — a warning: the feeds (showing
    0) are still right."""
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


def pulled_oversells(folder: Path, sandbox: Sandbox, imported: bool) -> dict[str, Any]:
    """``orders pull`` of the sandbox's Kaspi orders into the demo, its catalogue imported into
    the store or only read from its CSV files; what the pull, ``status`` and the metrics say."""
    config = demo_against(folder, sandbox)
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    # The one line of a product the catalogue lacks is mapped: only an oversell can make exit 1.
    data["channels"]["kaspi"]["sku_map"] = {"UNKNOWN-SKU-1": "KETTLE-1700-SS"}
    config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    if not imported:  # the import's state goes: the store has no stock, the CSV files have
        for name in ("state.db", "state.db-wal", "state.db-shm"):
            (folder / name).unlink(missing_ok=True)
    metrics = folder / "omnisync.prom"
    pulled = run_cli("orders", "pull", "-c", config, "--channel", "kaspi", "--since",
                     "2026-10-15", "-f", "json", "--metrics-file", metrics)  # fmt: skip
    status = json.loads(run_cli("status", "-c", config, "-f", "json").stdout)
    families = {f.name: f for f in text_string_to_metric_families(metrics.read_text())}
    return {
        "exit": pulled.returncode,
        "problems": sorted((p["sku"], p["severity"]) for p in
                           json.loads(pulled.stdout)["problems"] if p["code"] == "oversell"),
        "status": [o["code"] for o in status["oversells"]],
        "metric": {s.labels["channel"]: s.value for s in families["omnisync_open_orders"].samples
                   if s.labels["state"] == "oversold"},
    }  # fmt: skip


def test_an_oversell_is_as_visible_with_a_csv_catalogue_as_with_an_imported_one(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    """Kaspi's orders for the Almaty store hold T-shirts and sneakers it has none of. Against an
    imported catalogue ingest compares them with the store's stock; with the CSV files the pull
    compares them with theirs: the same error (exit 1), the same open orders in ``status``, the
    same count in the metrics."""
    imported = pulled_oversells(tmp_path / "imported", sandbox, imported=True)
    httpx.post(f"{sandbox.url}/_sandbox/reset")  # the orders afresh, not acknowledged
    csv = pulled_oversells(tmp_path / "csv", sandbox, imported=False)
    assert imported["problems"] == [("SNEAKER-RUN-42", "error"), ("TSHIRT-BASIC-BLK-M", "error")]
    assert imported["exit"] == 1 and imported["metric"] == {"kaspi": 3}
    assert imported["status"] == ["620400107", "620400103", "620400102"]
    assert csv == imported
