"""Order alerts (unknown SKU, oversell) are told before they are marked told: a quiet run names
each order on stderr, a report that could not be written leaves them for the next run."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import demo_against, run_cli

from omnisync.sandbox.server import Sandbox

KASPI = ("--channel", "kaspi", "--since", "2026-10-15")


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
