"""Ledger semantics through real pushes to the sandbox: re-assertion, available-to-sell,
held invalid items, returning items, bad-batch isolation, the removal gate and lost answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import yaml
from conftest import csv_text, good_row

from omnisync import push
from omnisync.config import load_config
from omnisync.http import Budget
from omnisync.sandbox.server import Sandbox
from omnisync.store import open_store

WAREHOUSE = 22142605386000
T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def setup(
    root: Path, sandbox: Sandbox, stock: dict[str, int], prices: dict[str, str] | None = None
) -> Path:
    rows = [good_row(sku=sku, quantity="", price=(prices or {}).get(sku, "15990"))
            for sku in stock]  # fmt: skip
    (root / "products.csv").write_text(csv_text(rows), encoding="utf-8")
    lines = "".join(f"{sku},WH-1,{n}\n" for sku, n in stock.items())
    (root / "stock.csv").write_text("sku,location,quantity\n" + lines, encoding="utf-8")
    (root / "locations.csv").write_text(
        "code,name,type,city,address,pickup\nWH-1,Склад,warehouse,Алматы,,no\n", encoding="utf-8"
    )
    data = {"catalog": {"products": "products.csv", "stock": "stock.csv",
                        "locations": "locations.csv"}, "state": "state.db",
            "channels": {"ozon": {"type": "ozon", "base_url": sandbox.url, "client_id": "9",
                                  "api_key": "env:OZON_API_KEY", "currency": "KZT",
                                  "requests_per_minute": 6000,
                                  "warehouses": {"WH-1": WAREHOUSE}}}}  # fmt: skip
    path = root / "omnisync.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def run(path: Path, now: datetime = T0, **kw: Any) -> push.PushReport:
    return push.push(load_config(path), now=now, **kw)


def stock_held(sandbox: Sandbox) -> dict[str, int]:
    found = httpx.get(f"{sandbox.url}/_sandbox/state").json().get("ozon_stocks", {})
    return {key.split("@")[0]: n for key, n in found.items()}


def faults(sandbox: Sandbox, **kw: Any) -> None:
    httpx.post(f"{sandbox.url}/_sandbox/faults", json=kw)


def test_items_are_reasserted_after_reassert_after(tmp_path: Path, sandbox: Sandbox) -> None:
    path = setup(tmp_path, sandbox, {"A": 1, "B": 2})
    run(path)
    assert run(path, T0 + timedelta(hours=23)).pushes[0].planned["reassert"] == 0
    later = run(path, T0 + timedelta(hours=25)).pushes[0]
    assert (later.planned["reassert"], later.sent) == (4, 4)


def test_reserved_units_are_not_for_sale(tmp_path: Path, sandbox: Sandbox) -> None:
    path = setup(tmp_path, sandbox, {"A": 5})
    run(path)
    store = open_store(tmp_path / "state.db")
    with store.transaction() as db:
        db.execute("INSERT INTO reservations VALUES ('kaspi', 'm1', 'O-1', 'A', 'WH-1', 3)")
    store.close()
    result = run(path)
    assert result.pushes[0].planned["update"] == 1 and stock_held(sandbox) == {"A": 2}


def test_an_invalid_item_is_held_not_removed(tmp_path: Path, sandbox: Sandbox) -> None:
    path = setup(tmp_path, sandbox, {"A": 5, "B": 1})
    run(path)
    setup(tmp_path, sandbox, {"A": 5, "B": 1}, prices={"A": "0"})  # a typo in A's price
    result = run(path)
    assert result.pushes[0].planned["delete"] == 0
    assert stock_held(sandbox)["A"] == 5
    assert any(p.code == "price_not_positive" and p.sku == "A" for p in result.run.problems)


def test_an_item_that_comes_back_is_created_again(tmp_path: Path, sandbox: Sandbox) -> None:
    path = setup(tmp_path, sandbox, {"A": 5, "B": 1, "C": 1})
    run(path)
    setup(tmp_path, sandbox, {"A": 5, "B": 1})
    assert run(path).pushes[0].planned["delete"] == 1 and stock_held(sandbox)["C"] == 0
    setup(tmp_path, sandbox, {"A": 5, "B": 1, "C": 4})
    back = run(path).pushes[0]
    assert back.planned["create"] >= 1 and stock_held(sandbox)["C"] == 4


def test_a_refused_batch_is_split_so_the_rest_goes_through(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    stock = {f"S{i:03}": 1 for i in range(150)}
    path = setup(tmp_path, sandbox, stock)
    faults(sandbox, poison=["S050"])
    result = run(path).pushes[0]
    assert (result.failed, result.deferred, result.sent) == (2, 0, 298)  # S050's stock and price
    assert set(stock_held(sandbox)) == set(stock) - {"S050"}


def test_mass_removal_is_gated(tmp_path: Path, sandbox: Sandbox) -> None:
    path = setup(tmp_path, sandbox, {f"S{i}": 1 for i in range(10)})
    run(path)
    setup(tmp_path, sandbox, {"S1": 1})
    gated = run(path)
    assert gated.refused and gated.pushes[0].planned["delete"] == 0
    assert sum(1 for n in stock_held(sandbox).values() if n == 0) == 0
    forced = run(path, force=True)
    assert forced.pushes[0].planned["delete"] == 9 and not forced.refused


def test_a_lost_answer_never_leaves_a_stale_value(tmp_path: Path, sandbox: Sandbox) -> None:
    path = setup(tmp_path, sandbox, {"A": 0})
    run(path)
    setup(tmp_path, sandbox, {"A": 5})
    faults(sandbox, lose=10)  # applied (A: 5 on the marketplace) but every answer is lost
    lost = run(path, budget=Budget(seconds=1)).pushes[0]  # give up fast: deferred
    assert lost.sent == 0 and stock_held(sandbox)["A"] == 5
    faults(sandbox, lose=0)
    setup(tmp_path, sandbox, {"A": 0})  # back to the value acknowledged before
    again = run(path).pushes[0]
    assert again.planned["unchanged"] < 2  # A's stock is not "unchanged": it is resent
    assert stock_held(sandbox)["A"] == 0


def test_unknown_products_are_per_item_errors(tmp_path: Path, sandbox: Sandbox) -> None:
    path = setup(tmp_path, sandbox, {"A": 1, "UNKNOWN-9": 1})
    result = run(path)
    assert result.partial and result.pushes[0].failed == 2
    assert {p.sku for p in result.run.problems if p.code == "push_rejected"} == {"UNKNOWN-9"}
