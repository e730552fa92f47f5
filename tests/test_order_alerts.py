"""Order alerts (unknown SKU, oversell) are told before they are marked told: a quiet run names
each order on stderr, a report that could not be written leaves them for the next run; and the
oversell check against a CSV catalogue reads the stock of the waiting orders' SKUs alone."""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import demo_against, run_cli

from omnisync.config import load_config
from omnisync.models import Product
from omnisync.orders import pull
from omnisync.orders.model import OPEN_SQL
from omnisync.sandbox.server import Sandbox
from omnisync.sources import csvshape, tabular
from omnisync.sources.registry import make_source

KASPI = ("--channel", "kaspi", "--since", "2026-10-15")
SINCE = datetime(2026, 10, 15, tzinfo=UTC)


def csv_only(config: Path) -> None:
    """The catalogue's stock only in its CSV files: the store holds none (no import)."""
    for name in ("state.db", "state.db-wal", "state.db-shm"):
        (config.parent / name).unlink(missing_ok=True)


def unreported(config: Path) -> set[tuple[str, str, str, str]]:
    """(channel, order code, SKU, alert code) of every alert no run has marked told."""
    db = sqlite3.connect(config.parent / "state.db")
    rows = db.execute(
        "SELECT a.channel, o.code, a.sku, a.code FROM order_alerts a JOIN orders o ON "
        "o.channel = a.channel AND o.account = a.account AND o.external_id = a.external_id "
        "WHERE a.reported_at IS NULL"
    ).fetchall()
    db.close()
    return set(rows)


def alert_lines(stderr: str, log_format: str) -> set[tuple[str, str, str, str]]:
    """The alerts a run logged, as (channel, order code, SKU, alert code)."""
    if log_format == "json":
        lines = [json.loads(line) for line in stderr.splitlines()]
        return {(e["channel"], e["order"], e["sku"], e["code"])
                for e in lines if e.get("event") == "order_alert"}  # fmt: skip
    told = set()
    for line in stderr.splitlines():
        if line.startswith("error: ") and " order " in line and "exit " not in line:
            channel, rest = line.removeprefix("error: ").split(" order ", 1)
            order, rest = rest.split(": SKU ", 1)
            sku, rest = rest.split(" ", 1)
            told.add((channel, order, sku, rest.rsplit("(", 1)[1].rstrip(")")))
    return told


@pytest.mark.parametrize(
    ("command", "log_format"), [(("orders", "pull"), "text"), (("sync",), "json")]
)
def test_a_quiet_run_names_each_order_alert_before_it_counts_as_told(
    tmp_path: Path, sandbox: Sandbox, command: tuple[str, ...], log_format: str
) -> None:
    """--quiet prints no report (cron mails only on trouble): each alert is logged on a line of
    its own naming channel, order and SKU, so the mail says which orders to look at; the next
    run has nothing more to say."""
    config = demo_against(tmp_path, sandbox)
    quiet = (*command, "-c", config, *KASPI, "--quiet", "--log-format", log_format)
    first = run_cli(*quiet)
    assert first.returncode == 1 and first.stdout == "", first.stderr
    db = sqlite3.connect(config.parent / "state.db")
    raised = set(db.execute(
        "SELECT a.channel, o.code, a.sku, a.code FROM order_alerts a JOIN orders o ON "
        "o.channel = a.channel AND o.account = a.account AND o.external_id = a.external_id"
    ).fetchall())  # fmt: skip
    db.close()
    assert {code for *_, code in raised} == {"unknown_sku", "oversell"}
    assert alert_lines(first.stderr, log_format) == raised
    assert unreported(config) == set()  # told, so marked
    again = run_cli(*quiet)
    assert again.returncode == 0, again.stderr
    assert alert_lines(again.stderr, log_format) == set()


def test_alerts_whose_report_could_not_be_written_are_told_by_the_next_run(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    """stdout is a full disk: the report never got out, so its alerts are not marked told (a
    report in stdout's buffer, written only at exit, would fail after they were marked). The
    buffer as cron has it: PYTHONUNBUFFERED, which this machine sets, left out."""
    config = demo_against(tmp_path, sandbox)
    args = ("orders", "pull", "-c", config, *KASPI, "-f", "json")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    with open("/dev/full", "w") as full:
        lost = subprocess.run(
            [sys.executable, "-m", "omnisync", *(str(a) for a in args)],
            stdout=full, stderr=subprocess.PIPE, text=True, env=env, timeout=300,
        )  # fmt: skip
    assert lost.returncode not in (0, 1), lost.stderr
    waiting = unreported(config)
    assert {code for *_, code in waiting} == {"unknown_sku", "oversell"}
    rerun = run_cli(*args)
    assert rerun.returncode == 1, rerun.stderr
    problems = json.loads(rerun.stdout)["problems"]
    assert {p["code"] for p in problems} == {"unknown_sku", "oversell"}
    assert all(any(order in p["message"] for p in problems) for _, order, _, _ in waiting)
    assert unreported(config) == set()


def with_quantities(config: Path, quantity: dict[str, int], default: int) -> None:
    """A catalogue of products.csv alone (no stock.csv): each product's stock is its
    ``quantity`` column, one count for all locations."""
    products = config.parent / "demo" / "products.csv"
    rows = list(csv.DictReader(io.StringIO(products.read_text(encoding="utf-8"))))
    for row in rows:
        row["quantity"] = str(quantity.get(row["sku"], default))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    products.write_text(out.getvalue(), encoding="utf-8")
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    del data["catalog"]["stock"]
    # The one line of a product the catalogue lacks is mapped: only an oversell can make exit 1.
    data["channels"]["kaspi"]["sku_map"] = {"UNKNOWN-SKU-1": "HP-NOMAD-WIRED"}
    config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def test_an_oversell_of_a_catalogue_with_one_quantity_for_all_locations(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    """products.csv with a quantity column and no stock.csv: the kettle's 3 units are one count
    for every location, and Kaspi's orders hold 4 of them at two stores (ALM-1, AST-1): every
    order holding a kettle is flagged oversell, wherever it is collected."""
    config = demo_against(tmp_path, sandbox)
    with_quantities(config, {"KETTLE-1700-SS": 3}, default=100)
    csv_only(config)
    pulled = run_cli("orders", "pull", "-c", config, *KASPI, "-f", "json")
    assert pulled.returncode == 1, pulled.stderr
    problems = [p for p in json.loads(pulled.stdout)["problems"] if p["severity"] == "error"]
    assert [(p["code"], p["sku"]) for p in problems] == [("oversell", "KETTLE-1700-SS")]
    db = sqlite3.connect(config.parent / "state.db")
    holders = dict(db.execute(
        "SELECT DISTINCT o.code, o.status IN " + OPEN_SQL + " FROM reservations r JOIN orders o "
        "ON o.channel = r.channel AND o.account = r.account AND o.external_id = r.order_id "
        "WHERE r.sku = 'KETTLE-1700-SS'"
    ).fetchall())  # fmt: skip
    locations = {loc for (loc,) in db.execute(
        "SELECT DISTINCT location FROM reservations WHERE sku = 'KETTLE-1700-SS'")}  # fmt: skip
    db.close()
    assert len(locations) > 1  # one count, more than one store
    status = json.loads(run_cli("status", "-c", config, "-f", "json").stdout)
    assert {o["code"] for o in status["oversells"]} == {
        c for c, is_open in holders.items() if is_open
    }
    assert all(order in problems[0]["message"] for order in holders)


def test_the_stock_check_builds_only_the_waiting_orders_products(
    tmp_path: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Orders pulled with only the CSV files to compare them with: the pull reads the stock of
    the SKUs they hold, not a product for every row of the catalogue (a million rows took ~30 s
    on every cron sync), and still flags the same oversells."""
    config = demo_against(tmp_path, sandbox)
    csv_only(config)
    built: list[str] = []

    def counted(**fields: Any) -> Product:
        built.append(fields["sku"])
        return Product(**fields)

    monkeypatch.setattr(tabular, "Product", counted)
    scanned: list[str] = []
    scan = csvshape.scan
    monkeypatch.setattr(
        csvshape, "scan", lambda path, *a: scanned.append(path.name) or scan(path, *a)
    )
    report = pull.pull(load_config(config), ["kaspi"], since=SINCE)
    # The SKUs are read, then the waiting orders' rows: the same source, one scan a file.
    assert sorted(scanned) == sorted(set(scanned)) and "products.csv" in scanned
    db = sqlite3.connect(config.parent / "state.db")
    held = {sku for (sku,) in db.execute("SELECT DISTINCT sku FROM reservations")}
    db.close()
    assert built and set(built) <= held
    assert {a.code for a in report.alerts} == {"unknown_sku", "oversell"}
    assert {p.sku for p in report.run.problems if p.code == "oversell"} == {
        "SNEAKER-RUN-42", "TSHIRT-BASIC-BLK-M"
    }  # fmt: skip


def test_stock_of_a_few_skus_is_their_stock_as_read_builds_it(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    """The demo catalogue (stock.csv, locations, a quantity column), and stock.csv reversed so
    it is not in the products' order: the same products, stock and quantity as a full read."""
    config = demo_against(tmp_path, sandbox)
    stock = config.parent / "demo" / "stock.csv"
    header, *rows = stock.read_text(encoding="utf-8").splitlines()
    stock.write_text("\n".join([header, *reversed(rows)]) + "\n", encoding="utf-8")
    wanted = {"HP-SONORA-X2", "KETTLE-1700-SS", "TV-ACME-55UHD", "NO-SUCH-SKU"}
    source = make_source(load_config(config))
    full = {p.sku: (p.stock, p.quantity) for p in source.read(lambda _: None) if p.sku in wanted}
    problems: list[Any] = []
    few = {p.sku: (p.stock, p.quantity) for p in source.stock_of(wanted, problems.append)}
    assert few == full and len(few) == 3
