"""kill -9 at named fault points (omnisync/faults.py), then a normal re-run: the real CLI in a
subprocess against the sandbox over loopback (reliability.md → Crash safety)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import httpx
import pytest

from omnisync import faults
from omnisync.sandbox.server import Sandbox


def cli(*args: object, crash_at: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != faults.ENV}
    if crash_at:
        env[faults.ENV] = crash_at
    return subprocess.run(
        [sys.executable, "-m", "omnisync", *(str(a) for a in args)],
        capture_output=True, text=True, encoding="utf-8", env=env, timeout=300,
    )  # fmt: skip


def status_calls(sandbox: Sandbox) -> Counter[tuple[str, str, str]]:
    calls = httpx.get(f"{sandbox.url}/_sandbox/state").json().get("status_calls", [])
    return Counter(tuple(call) for call in calls)


def test_a_kill_between_the_acknowledgement_and_its_record_sends_no_second_one(
    sandbox_demo: Path, sandbox: Sandbox
) -> None:
    config = sandbox_demo
    pull = ("orders", "pull", "--config", config, "--since", "2026-10-15")
    killed = cli(*pull, crash_at="ack.after_post")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    first = status_calls(sandbox)
    assert first, "the kill came before any acknowledgement was sent"
    state = config.parent / "state.db"
    unrecorded = (
        sqlite3.connect(state)
        .execute(
            "SELECT count(*) FROM orders WHERE acknowledged = 0 AND channel_status IN "
            "('APPROVED_BY_BANK', 'pending')"
        )
        .fetchone()[0]
    )
    assert unrecorded > 0  # the channel moved them; the store still thinks they wait

    again = cli(*pull)
    assert again.returncode == 1, again.stderr  # the seeded unknown SKUs: data problems
    calls = status_calls(sandbox)
    assert max(calls.values()) == 1, [c for c, n in calls.items() if n > 1]
    assert set(calls) >= set(first)
    kaspi = httpx.get(f"{sandbox.url}/_sandbox/state").json()["orders_kaspi"]
    assert all(o["attributes"]["status"] != "APPROVED_BY_BANK" for o in kaspi.values())
    stored = (
        sqlite3.connect(state)
        .execute("SELECT count(*), count(DISTINCT channel || external_id) FROM orders")
        .fetchone()
    )
    assert stored[0] == stored[1] > 0


def test_an_unknown_fault_point_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(faults.ENV, "ack.after_post")
    with pytest.raises(ValueError, match="unknown fault point"):
        faults.point("ack.after-post")
