"""The push loop against the local sandbox over real HTTP, through the real CLI.

Acceptance of the push issue: first push sends everything in batches within the limits, a
second sends nothing, one stock change sends exactly that item, a 429 is waited out, a per-item
rejection exits 3 and is retried next run, a dry run changes nothing, and the token never shows.
"""

from __future__ import annotations

import csv
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import yaml
from conftest import csv_text, good_row

from omnisync.sandbox.server import Sandbox

SENTINEL = "SENTINEL-ozon-token-5f1c"
WAREHOUSE = 22142605386000


def catalogue(root: Path, stock: dict[str, int]) -> None:
    rows = [good_row(sku=sku, quantity="") for sku in stock]
    with (root / "products.csv").open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    lines = ["sku,location,quantity", *(f"{sku},WH-1,{n}" for sku, n in stock.items())]
    (root / "stock.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (root / "locations.csv").write_text(
        "code,name,type,city,address,pickup\nWH-1,Склад,warehouse,Алматы,,no\n", encoding="utf-8"
    )


def config(root: Path, sandbox: Sandbox, currency: str | None = "KZT") -> Path:
    """The sandbox's emulated Ozon account prices in KZT; ``currency=None`` leaves it unset."""
    ozon = {
        "type": "ozon",
        "base_url": sandbox.url,
        "client_id": "777",
        "api_key": "env:SANDBOX_OZON_KEY",
        "warehouses": {"WH-1": WAREHOUSE},
    }
    data = {
        "catalog": {"products": "products.csv", "stock": "stock.csv",
                    "locations": "locations.csv"},
        "state": "state.db",
        "channels": {"ozon": {**ozon, **({"currency": currency} if currency else {})}},
    }  # fmt: skip
    path = root / "omnisync.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SANDBOX_OZON_KEY": SENTINEL}
    return subprocess.run(
        [sys.executable, "-m", "omnisync", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def push(path: Path, *extra: str) -> tuple[int, dict[str, object]]:
    done = cli("push", "--config", path, "--format", "json", *extra)
    assert SENTINEL not in done.stdout + done.stderr
    return done.returncode, json.loads(done.stdout)


def planned(report: dict[str, object]) -> dict[str, int]:
    (channel,) = report["channels"]  # type: ignore[misc]
    return {**channel["planned"], "sent": channel["sent"], "failed": channel["failed"]}


def held(sandbox: Sandbox) -> dict[str, object]:
    return httpx.get(f"{sandbox.url}/_sandbox/state").json()  # type: ignore[no-any-return]


STOCK = {f"SKU-{i:03}": i % 7 for i in range(150)}


def test_the_push_loop(tmp_path: Path, sandbox: Sandbox) -> None:
    catalogue(tmp_path, STOCK)
    path = config(tmp_path, sandbox)

    # --full (which once read the SKUs a run would skip) is accepted and changes nothing.
    assert push(path, "--dry-run", "--full") == push(path, "--dry-run")
    code, report = push(path)  # first push: everything, 150 stocks in 2 requests of <= 100
    assert code == 0
    assert planned(report) == {
        "create": 300,
        "update": 0,
        "reassert": 0,
        "delete": 0,
        "unchanged": 0,
        "sent": 300,
        "failed": 0,
    }
    stocks = held(sandbox)["ozon_stocks"]
    assert stocks == {f"{sku}@{WAREHOUSE}": n for sku, n in STOCK.items()}

    code, report = push(path)  # second push: nothing to send
    assert (code, planned(report)["unchanged"], planned(report)["sent"]) == (0, 300, 0)

    catalogue(tmp_path, {**STOCK, "SKU-005": 42})  # one stock change: exactly that item
    code, report = push(path)
    assert planned(report)["update"] == 1 and planned(report)["sent"] == 1
    assert held(sandbox)["ozon_stocks"][f"SKU-005@{WAREHOUSE}"] == 42


def test_a_429_with_retry_after_is_waited_out(tmp_path: Path, sandbox: Sandbox) -> None:
    catalogue(tmp_path, {"A": 1})
    path = config(tmp_path, sandbox)
    httpx.post(f"{sandbox.url}/_sandbox/faults", json={"throttle": 2})
    code, report = push(path)
    assert code == 0 and planned(report)["sent"] == 2


def test_a_rejected_item_exits_3_and_is_retried_next_run(tmp_path: Path, sandbox: Sandbox) -> None:
    catalogue(tmp_path, {"A": 1, "B": 2})
    path = config(tmp_path, sandbox)
    httpx.post(f"{sandbox.url}/_sandbox/faults", json={"reject": {"B": "offer is archived"}})
    code, report = push(path)
    assert code == 3 and planned(report)["failed"] == 2  # B's stock and B's price
    problems = [p for p in report["problems"] if p["code"] == "push_rejected"]  # type: ignore[union-attr]
    assert {(p["sku"], p["message"]) for p in problems} == {("B", "offer is archived")}
    httpx.post(f"{sandbox.url}/_sandbox/reset")
    code, report = push(path)
    assert code == 0 and planned(report)["update"] + planned(report)["create"] == 2


def test_a_dry_run_changes_nothing_anywhere(tmp_path: Path, sandbox: Sandbox) -> None:
    catalogue(tmp_path, {"A": 1, "B": 2})
    path = config(tmp_path, sandbox)
    done = cli("diff", "--config", path, "--format", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["dry_run"] and len(report["changes"]) == 4
    assert {c["payload"].get("stock") for c in report["changes"]} == {1, 2, None}
    assert held(sandbox) == {}
    assert not (tmp_path / "state.db").exists()  # not even created
    push(path)
    # The state file's bytes (SQLite may add its -shm index beside a read-only reader).
    before = (tmp_path / "state.db").read_bytes()
    catalogue(tmp_path, {"A": 5, "B": 2})
    done = cli("diff", "--config", path, "--format", "json")
    assert [c["key"] for c in json.loads(done.stdout)["changes"]] == [f"A@{WAREHOUSE}"]
    assert (tmp_path / "state.db").read_bytes() == before


def test_items_that_leave_get_zero_stock(tmp_path: Path, sandbox: Sandbox) -> None:
    catalogue(tmp_path, {"A": 1, "B": 2, "C": 3})
    path = config(tmp_path, sandbox)
    push(path)
    catalogue(tmp_path, {"A": 1, "B": 2})
    code, report = push(path, "--force")
    assert code == 0 and planned(report)["delete"] == 1
    assert held(sandbox)["ozon_stocks"][f"C@{WAREHOUSE}"] == 0


def test_runs_are_recorded(tmp_path: Path, sandbox: Sandbox) -> None:
    catalogue(tmp_path, {"A": 1})
    path = config(tmp_path, sandbox)
    push(path)
    cli("diff", "--config", path)
    rows = (
        sqlite3.connect(tmp_path / "state.db")
        .execute("SELECT command, exit_code, counts, finished_at IS NOT NULL FROM runs ORDER BY id")
        .fetchall()
    )
    assert [(r[0], r[1], r[3]) for r in rows] == [("push", 0, 1)]  # a dry run records nothing
    assert json.loads(rows[0][2])["ozon"]["push"]["sent"] == 2


def test_the_sentinel_token_appears_in_no_file(tmp_path: Path, sandbox: Sandbox) -> None:
    catalogue(tmp_path, {"A": 1})
    path = config(tmp_path, sandbox)
    httpx.post(f"{sandbox.url}/_sandbox/faults", json={"reject": {"A": f"bad key {SENTINEL}"}})
    outputs = [
        cli("push", "--config", path),
        cli("diff", "--config", path, "-f", "json"),
        cli("push", "--config", path, "-f", "json"),
        cli("validate", "-c", path),
    ]
    for done in outputs:
        assert SENTINEL not in done.stdout + done.stderr
    for file in tmp_path.rglob("*"):
        if file.is_file():
            assert SENTINEL.encode() not in file.read_bytes(), file


def test_a_price_the_account_cannot_take_is_withheld_and_the_stock_still_goes(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    """A KZT catalogue to an Ozon account left at the default currency (RUB, as Ozon assumes
    without currency_code): every stock is pushed, every price withheld and named per SKU, and
    the run exits 1 (data problems) — nothing priced reached Ozon."""
    catalogue(tmp_path, {"A": 1, "B": 2})
    code, report = push(config(tmp_path, sandbox, currency=None))
    assert code == 1
    assert held(sandbox)["ozon_stocks"] == {f"A@{WAREHOUSE}": 1, f"B@{WAREHOUSE}": 2}
    assert "ozon_prices" not in held(sandbox)
    withheld = [p for p in report["problems"] if p["code"] == "currency_mismatch"]  # type: ignore[union-attr]
    assert {(p["sku"], p["field"], p["severity"]) for p in withheld} == {
        ("A", "price", "warning"),
        ("B", "price", "warning"),
    }
    assert all("KZT" in p["message"] and "withheld" in p["message"] for p in withheld)


def test_a_kzt_catalogue_to_a_kzt_account_sends_kzt_prices(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    catalogue(tmp_path, {"A": 1})
    code, report = push(config(tmp_path, sandbox, currency="KZT"))
    assert code == 0 and planned(report)["sent"] == 2
    assert held(sandbox)["ozon_prices"]["A"]["currency_code"] == "KZT"


def test_the_sandbox_refuses_a_price_in_another_currency_than_the_accounts(
    sandbox: Sandbox,
) -> None:
    headers = {"Client-Id": "777", "Api-Key": "k"}
    prices = [{"offer_id": "A", "price": "100.00", "currency_code": "RUB"},
              {"offer_id": "B", "price": "100.00"},  # no currency_code: Ozon takes RUB
              {"offer_id": "C", "price": "100.00", "currency_code": "KZT"}]  # fmt: skip
    answer = httpx.post(f"{sandbox.url}/v1/product/import/prices", json={"prices": prices},
                        headers=headers).json()["result"]  # fmt: skip
    assert [(r["offer_id"], r["updated"]) for r in answer] == [
        ("A", False),
        ("B", False),
        ("C", True),
    ]


def test_an_ozon_currency_outside_ozons_list_is_a_config_error(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    catalogue(tmp_path, {"A": 1})
    done = cli("push", "--config", config(tmp_path, sandbox, currency="UAH"))
    assert done.returncode == 2 and "currency" in done.stderr


def without_stock_file(root: Path, sandbox: Sandbox, quantities: dict[str, str]) -> Path:
    """No stock.csv: a row's own quantity is its stock at the one warehouse, and a row without
    one cannot say how many units Ozon may sell (stock_per_warehouse_missing: refused)."""
    catalogue(root, dict.fromkeys(quantities, 0))
    rows = [good_row(sku=sku, quantity=n) for sku, n in quantities.items()]
    (root / "products.csv").write_text(csv_text(rows), encoding="utf-8")
    path = config(root, sandbox)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    del data["catalog"]["stock"]
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_a_push_that_sends_nothing_because_every_item_was_refused_exits_1(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    code, report = push(without_stock_file(tmp_path, sandbox, {"A": "", "B": ""}))
    assert code == 1 and planned(report)["sent"] == 0
    refused = {p["sku"] for p in report["problems"] if p["code"] == "stock_per_warehouse_missing"}  # type: ignore[union-attr]
    assert refused == {"A", "B"} and held(sandbox) == {}


def test_a_catalogue_whose_every_row_is_refused_pushes_nothing_and_exits_1(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    catalogue(tmp_path, {"A": 1, "B": 2})
    path = config(tmp_path, sandbox)
    text = (tmp_path / "products.csv").read_text(encoding="utf-8")
    (tmp_path / "products.csv").write_text(text.replace(",15990,", ",договорная,"), "utf-8")
    code, report = push(path)
    assert code == 1 and planned(report)["sent"] == 0 and held(sandbox) == {}


def test_a_push_that_refuses_some_items_and_sends_the_rest_exits_0_listing_them(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    """README, "Exit codes": 0 is ok with the excluded items in the report; only a push that
    could send nothing at all is a data problem (exit 1)."""
    code, report = push(without_stock_file(tmp_path, sandbox, {"A": "3", "B": ""}))
    assert code == 0 and planned(report)["sent"] == 2  # A's stock and its price
    assert [(p["sku"], p["code"]) for p in report["problems"]] == [  # type: ignore[union-attr]
        ("B", "stock_per_warehouse_missing")
    ]
    assert held(sandbox)["ozon_stocks"] == {f"A@{WAREHOUSE}": 3}


def priced(root: Path, stock: dict[str, int], currencies: dict[str, str]) -> None:
    """``catalogue`` with some rows in another currency (``currencies``: SKU → currency)."""
    catalogue(root, stock)
    rows = [good_row(sku=sku, quantity="", currency=currencies.get(sku, "KZT")) for sku in stock]
    (root / "products.csv").write_text(csv_text(rows), encoding="utf-8")


def with_max_drop(path: Path, max_drop: float) -> Path:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["channels"]["ozon"]["max_drop"] = max_drop
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def ledger_rows(root: Path, stream: str) -> dict[str, tuple[str, str]]:
    """key → (status, the desired payload as JSON) of the ledger's ``stream`` items."""
    rows = sqlite3.connect(root / "state.db").execute(
        "SELECT sku, status, desired FROM push_ledger WHERE stream = ?", (stream,)
    )
    return {key: (status, desired) for key, status, desired in rows}


def test_a_withheld_price_is_held_not_counted_as_a_removal(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    """A price withheld this run stays as Ozon has it: it is not among the items that left, so
    the removal gate counts only the product really deleted (D) and lets its stock go to 0,
    while A's stock change is pushed. Two of three prices withheld: exit 0, one warning each."""
    catalogue(tmp_path, {"A": 1, "B": 2, "C": 3, "D": 4})
    path = config(tmp_path, sandbox)
    assert push(path)[0] == 0
    before = held(sandbox)["ozon_prices"]
    prices = ledger_rows(tmp_path, "price")
    priced(tmp_path, {"A": 0, "B": 2, "C": 3}, {"A": "USD", "B": "USD"})
    # 8 items held; only D's stock and price left: 2 <= 0.3 * 8, the withheld prices not counted.
    code, report = push(with_max_drop(path, 0.3))
    assert code == 0, report["problems"]
    assert [(p["sku"], p["code"]) for p in report["problems"]] == [  # type: ignore[union-attr]
        ("A", "currency_mismatch"),
        ("B", "currency_mismatch"),
    ]
    assert planned(report)["update"] == 1 and planned(report)["delete"] == 1
    stocks = held(sandbox)["ozon_stocks"]
    assert stocks == {f"A@{WAREHOUSE}": 0, f"B@{WAREHOUSE}": 2, f"C@{WAREHOUSE}": 3,
                      f"D@{WAREHOUSE}": 0}  # fmt: skip
    assert held(sandbox)["ozon_prices"] == before  # nothing priced was sent or taken off
    after = ledger_rows(tmp_path, "price")
    assert {sku: after[sku] for sku in "ABC"} == {sku: prices[sku] for sku in "ABC"}
    assert after["D"][0] == "deleted"  # D left: its price needs no call, only forgetting


def test_every_price_withheld_still_removes_a_deleted_product_and_exits_1(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    """With the default max_drop (50 %): every price withheld and one product deleted. The
    withheld prices are held, so the gate sees 2 of 6 items leaving and C's stock goes to 0;
    the run exits 1 because none of the prices could be sent."""
    catalogue(tmp_path, {"A": 1, "B": 2, "C": 3})
    path = config(tmp_path, sandbox)
    assert push(path)[0] == 0
    priced(tmp_path, {"A": 5, "B": 2}, {"A": "USD", "B": "USD"})
    code, report = push(path)
    assert code == 1
    assert "removal_gate" not in {p["code"] for p in report["problems"]}  # type: ignore[union-attr]
    assert planned(report)["update"] == 1 and planned(report)["delete"] == 1
    assert held(sandbox)["ozon_stocks"] == {f"A@{WAREHOUSE}": 5, f"B@{WAREHOUSE}": 2,
                                            f"C@{WAREHOUSE}": 0}  # fmt: skip
    assert {sku for sku, (status, _) in ledger_rows(tmp_path, "price").items()
            if status == "acked"} == {"A", "B"}  # fmt: skip


def test_a_held_price_keeps_its_acknowledgement(tmp_path: Path, sandbox: Sandbox) -> None:
    """Even where nothing gates removals (--force), a withheld price is not taken for one that
    left: the ledger keeps it as acknowledged, so once the row is back in the account's currency
    a new price is an update of what Ozon holds, not a create."""
    catalogue(tmp_path, {"A": 1, "B": 2})
    path = config(tmp_path, sandbox)
    push(path)
    priced(tmp_path, {"A": 1, "B": 2}, {"A": "USD"})
    code, report = push(path, "--force")
    assert code == 0 and planned(report)["sent"] == 0
    assert ledger_rows(tmp_path, "price")["A"][0] == "acked"
    rows = [good_row(sku="A", quantity="", price="17990"), good_row(sku="B", quantity="")]
    (tmp_path / "products.csv").write_text(csv_text(rows), encoding="utf-8")
    code, report = push(path)
    assert code == 0 and planned(report)["update"] == 1 and planned(report)["create"] == 0
    assert held(sandbox)["ozon_prices"]["A"]["price"] == "17990.00"
