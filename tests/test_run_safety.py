"""Review findings on running unattended: the lock, dry runs, exports, stop signals and manual
order calls racing a sync (issue 6)."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml
from conftest import run_cli, start_cli

from omnisync.errors import LockHeld
from omnisync.lock import hold, lock_path
from omnisync.orders import acknowledge
from omnisync.sandbox.server import Sandbox
from omnisync.store import stored

SINCE = ("--since", "2026-10-15")


def test_a_state_reached_through_a_symlink_shares_the_lock(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; "
         "from omnisync.lock import hold\nwith hold(Path(sys.argv[1]), 'sync'):\n"
         "    print('held', flush=True); time.sleep(60)", str(tmp_path / "real" / "state.db")],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert lock_path(tmp_path / "link" / "state.db") == lock_path(tmp_path / "real/state.db")
        with pytest.raises(LockHeld, match="sync"), hold(tmp_path / "link" / "state.db", "push"):
            pass
    finally:
        holder.kill()
        holder.communicate()


def test_a_dry_run_never_migrates_the_state(sandbox_demo: Path, sandbox: Sandbox) -> None:
    data = yaml.safe_load(sandbox_demo.read_text(encoding="utf-8"))
    data["catalog"]["source"] = "sqlite"  # the store's snapshot: read without writing
    sandbox_demo.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    state = sandbox_demo.parent / "state.db"
    db = sqlite3.connect(state)
    with db:  # as a state file of the previous version
        db.execute("ALTER TABLE orders DROP COLUMN digest")
        db.execute("PRAGMA user_version = 6")
    db.close()
    result = run_cli("diff", "-c", sandbox_demo, "--channel", "ozon")
    assert result.returncode == 2 and "migration" in result.stderr
    assert sqlite3.connect(state).execute("PRAGMA user_version").fetchone()[0] == 6


def test_an_export_file_that_cannot_be_written_does_not_stop_the_push(
    sync_demo: Path, sandbox: Sandbox
) -> None:
    data = yaml.safe_load(sync_demo.read_text(encoding="utf-8"))
    data["exports"]["ndjson"] = "demo/products.csv/orders.ndjson"  # its folder is a file
    sync_demo.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    result = run_cli("sync", "-c", sync_demo, *SINCE)
    assert result.returncode == 3, result.stderr
    assert "export_failed" in result.stdout
    state = httpx.get(f"{sandbox.url}/_sandbox/state").json()
    assert state["ozon_stocks"] and state["webhook"]  # the other export and the push went on
    db = sqlite3.connect(sync_demo.parent / "state.db")
    unsent = db.execute("SELECT count(*) FROM outbox WHERE kind = 'ndjson' AND sent_at IS NULL")
    assert unsent.fetchone()[0] > 0  # kept for the next run


def test_a_stop_during_the_export_relay_exits_3_and_is_recorded_so(
    sync_demo: Path, sandbox: Sandbox
) -> None:
    sandbox.latency = 0.05
    running = start_cli("orders", "pull", "-c", sync_demo, *SINCE)
    deadline = time.monotonic() + 60
    while "webhook" not in httpx.get(f"{sandbox.url}/_sandbox/state").json():
        assert time.monotonic() < deadline, "the relay never started"
        time.sleep(0.005)
    running.send_signal(signal.SIGTERM)
    _, errors = running.communicate(timeout=120)
    assert running.returncode == 3, errors
    db = sqlite3.connect(sync_demo.parent / "state.db")
    assert db.execute("SELECT command, exit_code FROM runs ORDER BY id DESC").fetchone() == (
        "orders pull",
        3,
    )


def test_orders_cancel_waits_for_no_one_it_refuses_while_a_run_holds_the_lock(
    sandbox_demo: Path, sandbox: Sandbox
) -> None:
    assert run_cli("orders", "pull", "-c", sandbox_demo, *SINCE).returncode == 1
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; "
         "from omnisync.lock import hold\nwith hold(Path(sys.argv[1]), 'sync'):\n"
         "    print('held', flush=True); time.sleep(60)", str(sandbox_demo.parent / "state.db")],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        refused = run_cli("orders", "cancel", "620400101", "-c", sandbox_demo, "--reason", "buyer")
        assert refused.returncode == 4 and "sync" in refused.stderr
    finally:
        holder.kill()
        holder.communicate()
    done = run_cli("orders", "cancel", "620400101", "-c", sandbox_demo, "--reason", "buyer")
    assert done.returncode == 0, done.stderr
    db = sqlite3.connect(sandbox_demo.parent / "state.db")
    last = db.execute("SELECT command, exit_code FROM runs ORDER BY id DESC").fetchone()
    assert last == ("orders cancel", 0)  # recorded like every command that changes state


def test_an_acknowledgement_never_overwrites_a_cancellation_stored_meanwhile(
    sandbox_demo: Path, sandbox: Sandbox
) -> None:
    state = sandbox_demo.parent / "state.db"
    run_cli("orders", "pull", "-c", sandbox_demo, "--channel", "ozon", *SINCE)
    with stored(state) as store, store.transaction() as db:
        db.execute("INSERT INTO orders (channel, account, external_id, code, status, "
                   "channel_status, created_at, updated_at, ingested_at) VALUES ('kaspi', 'm', "
                   "'K1', 'K1', 'cancelled', 'APPROVED_BY_BANK', 't', 't', 't')")  # fmt: skip
    with stored(state) as store:
        acknowledge.mark(store, "kaspi", "m", ["K1"], acknowledge.KASPI_TO)
        row = store.db.execute("SELECT status, acknowledged FROM orders WHERE external_id = 'K1'")
        assert row.fetchone() == ("cancelled", 0)
