"""``omnisync sync`` run as cron runs it: the real CLI in a subprocess against the sandbox —
the whole loop, dry run, the run lock, SIGTERM, run history, status, logs and metrics."""

from __future__ import annotations

import hashlib
import json
import signal
import time
from pathlib import Path

import httpx
import yaml
from conftest import run_cli, start_cli
from prometheus_client.parser import text_string_to_metric_families

from omnisync.lock import lock_path
from omnisync.sandbox.server import Sandbox

SINCE = ("--since", "2026-10-15")


def sandbox_state(sandbox: Sandbox) -> dict[str, object]:
    found: dict[str, object] = httpx.get(f"{sandbox.url}/_sandbox/state").json()
    return found


def wait_for(sandbox: Sandbox, bucket: str) -> None:
    """Until the sandbox holds ``bucket`` (a run has reached that step)."""
    deadline = time.monotonic() + 120
    while bucket not in sandbox_state(sandbox):
        assert time.monotonic() < deadline, f"the run never reached {bucket}"
        time.sleep(0.02)


def digest(folder: Path) -> dict[str, str]:
    """Every file's hash; SQLite's shared-memory index and an empty WAL (a read-only open makes
    them) are not a change."""
    files = [p for p in sorted(folder.rglob("*")) if p.is_file() and not p.name.endswith("-shm")]
    found = {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}
    wal = folder / "state.db-wal"
    if wal.exists() and wal.stat().st_size == 0:
        del found["state.db-wal"]
    return found


def test_sync_pulls_builds_and_pushes_then_has_nothing_left_to_do(
    sync_demo: Path, sandbox: Sandbox
) -> None:
    first = run_cli("sync", "-c", sync_demo, *SINCE, "-f", "json")
    assert first.returncode == 1, first.stderr  # the seeded unknown-SKU orders need attention
    report = json.loads(first.stdout)
    assert {c["channel"] for c in report["pull"]["channels"]} == {"kaspi", "ozon", "satu"}
    assert {c["channel"] for c in report["push"]["channels"]} == {"google", "satu", "ozon"}
    published = {p["channel"] for p in report["push"]["published"] if p["published"]}
    assert {"google", "kaspi", "meta", "local", "displays", "boards"} <= published
    out = sync_demo.parent / "out"
    assert (out / "google.xml").exists() and (out / "orders.ndjson").exists()
    state = sandbox_state(sandbox)
    assert state["webhook"] and state["ozon_stocks"]
    # The orders' reservations are in what Ozon got: TSHIRT-BASIC-BLK-M has 33 on hand at WH-1.
    assert state["ozon_stocks"]["TSHIRT-BASIC-BLK-M@22142605386000"] < 33  # type: ignore[index]
    again = run_cli("sync", "-c", sync_demo, "-f", "json")
    assert again.returncode == 0, again.stderr
    pushed = json.loads(again.stdout)["push"]["channels"]
    assert [c["sent"] for c in pushed] == [0, 0, 0]


def test_a_dry_run_sends_publishes_and_changes_nothing(sync_demo: Path, sandbox: Sandbox) -> None:
    folder = sync_demo.parent
    before = digest(folder)
    result = run_cli("sync", "-c", sync_demo, *SINCE, "--dry-run", "-f", "json")
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["dry_run"] and sum(c["new"] for c in report["pull"]["channels"]) > 0
    assert sum(c["planned"]["create"] for c in report["push"]["channels"]) > 0
    assert digest(folder) == before  # no state change, no feed, no lock file even
    state = sandbox_state(sandbox)
    assert not {"status_calls", "webhook", "ozon_stocks", "google_products"} & set(state)


def test_two_overlapping_syncs_one_exits_4_naming_the_holder(
    sync_demo: Path, sandbox: Sandbox
) -> None:
    sandbox.latency = 0.05  # the first run takes a few seconds
    first = start_cli("sync", "-c", sync_demo, *SINCE)
    wait_for(sandbox, "orders_kaspi")  # it holds the lock while it pulls
    holder = lock_path(sync_demo.parent / "state.db")
    assert json.loads(holder.read_text())["pid"] == first.pid
    metrics = sync_demo.parent / "metrics.prom"
    second = run_cli("sync", "-c", sync_demo, "--metrics-file", metrics)
    assert second.returncode == 4, second.stderr
    assert "omnisync_run_exit_code" in metrics.read_text()  # kept fresh even when locked out
    assert f"pid {first.pid}" in second.stderr and "sync" in second.stderr
    assert len(second.stderr.splitlines()) == 1
    _, errors = first.communicate(timeout=120)
    assert first.returncode == 1, errors
    third = run_cli("push", "-c", sync_demo)  # the lock went with its process
    assert third.returncode == 0, third.stderr


def test_sigterm_finishes_the_batch_records_it_and_the_next_run_converges(
    sync_demo: Path, sandbox: Sandbox
) -> None:
    running = start_cli("sync", "-c", sync_demo, *SINCE, "--log-format", "json")
    wait_for(sandbox, "status_calls")  # orders acknowledged: the pull is nearly done
    sandbox.latency = 0.2  # slow the pushes down
    wait_for(sandbox, "google_products")  # pushing has begun
    running.send_signal(signal.SIGTERM)
    _, errors = running.communicate(timeout=120)
    assert running.returncode == 3, errors
    logs = [json.loads(line) for line in errors.splitlines()]
    assert any("SIGTERM received" in entry["message"] for entry in logs)
    status = json.loads(run_cli("status", "-c", sync_demo, "-f", "json").stdout)
    push_run = next(r for r in status["runs"] if r["command"] == "sync: push")
    assert push_run["exit_code"] == 3
    waiting = sum(c["waiting"]["deferred"] for c in status["channels"])
    assert waiting > 0 or "stopped by SIGTERM" in (push_run["error"] or "")
    sandbox.latency = 0
    assert run_cli("sync", "-c", sync_demo).returncode in (0, 1)
    planned = json.loads(run_cli("diff", "-c", sync_demo, "-f", "json").stdout)["channels"]
    assert all(sum(c["planned"][a] for a in ("create", "update", "delete")) == 0 for c in planned)


def test_a_second_signal_aborts_and_is_recorded(sync_demo: Path, sandbox: Sandbox) -> None:
    sandbox.latency = 0.2
    running = start_cli("sync", "-c", sync_demo, *SINCE)
    wait_for(sandbox, "status_calls")
    running.send_signal(signal.SIGTERM)
    time.sleep(0.05)
    running.send_signal(signal.SIGTERM)
    running.communicate(timeout=60)
    assert running.returncode == 130
    runs = json.loads(run_cli("status", "-c", sync_demo, "-f", "json").stdout)["runs"]
    assert runs[0]["exit_code"] == 130 and runs[0]["finished_at"]


def test_status_logs_and_metrics_show_the_runs_and_never_a_secret(
    sync_demo: Path, sandbox: Sandbox
) -> None:
    sentinel = {name: f"SENTINEL-{name}-7f3a9c" for name in
                ("OZON_API_KEY", "SATU_TOKEN", "GOOGLE_TOKEN", "KASPI_TOKEN")}  # fmt: skip
    # A marketplace that echoes the token back in its refusal: it flows into the problems, the
    # ledger's error, the logs and the run history — and must be masked everywhere.
    echo = {"reject": {"KETTLE-1700-SS": f"bad key {sentinel['OZON_API_KEY']}"}}
    httpx.post(f"{sandbox.url}/_sandbox/faults", json=echo)
    metrics = sync_demo.parent / "metrics" / "omnisync.prom"
    result = run_cli("sync", "-c", sync_demo, *SINCE, "--log-format", "json",
                     "--metrics-file", metrics, env=sentinel)  # fmt: skip
    assert result.returncode == 3, result.stderr  # the rejected kettle
    events = [json.loads(line) for line in result.stderr.splitlines()]
    assert {"run_started", "run_finished", "problems"} <= {e.get("event") for e in events}
    finished = [e for e in events if e.get("event") == "run_finished"]
    assert finished[-1]["command"] == "sync" and finished[-1]["exit_code"] == 3
    assert "bad key ***" in result.stderr  # the echo was there, masked
    families = {f.name: f for f in text_string_to_metric_families(metrics.read_text())}
    success = families["omnisync_last_success_timestamp_seconds"].samples
    assert {(s.labels["channel"], s.labels["kind"]) for s in success} >= {
        ("satu", "pull"), ("kaspi", "pull"), ("google", "publish")}  # fmt: skip
    assert ("ozon", "push") not in {(s.labels["channel"], s.labels["kind"]) for s in success}
    assert "omnisync_run_duration_seconds" in families and "omnisync_items" in families
    attention = {(s.labels["channel"], s.labels["state"]): s.value
                 for s in families["omnisync_open_orders"].samples}  # fmt: skip
    assert attention[("kaspi", "needs_attention")] == 1
    assert "omnisync_items_waiting" in families
    status = run_cli("status", "-c", sync_demo, "-f", "json", env=sentinel)
    text = run_cli("status", "-c", sync_demo, env=sentinel)
    found = json.loads(status.stdout)
    ozon = next(c for c in found["channels"] if c["channel"] == "ozon")
    assert ozon["last_successful_push"] is None and ozon["orders"]["needs_attention"] == 1
    assert ozon["last_push"]["failed"] == 2 and not ozon["last_push"]["ok"]  # stock and price
    assert "ozon" in text.stdout and "sync: push" in text.stdout
    outputs = [result.stdout, result.stderr, status.stdout, text.stdout, text.stderr]
    files = [p.read_bytes().decode("utf-8", "replace")
             for p in sync_demo.parent.rglob("*") if p.is_file()]  # fmt: skip
    for secret in sentinel.values():
        assert not [o for o in [*outputs, *files] if secret in o], secret


def test_quiet_prints_nothing_when_all_is_well_and_one_line_when_not(
    sync_demo: Path, sandbox: Sandbox
) -> None:
    run_cli("sync", "-c", sync_demo, *SINCE)
    calm = run_cli("push", "-c", sync_demo, "--quiet", "--log-format", "text")
    assert (calm.returncode, calm.stdout, calm.stderr) == (0, "", "")
    httpx.post(f"{sandbox.url}/_sandbox/faults", json={"reject": {"KETTLE-1700-SS": "nope"}})
    (sync_demo.parent / "demo" / "stock.csv").write_text(
        "sku,location,quantity\nKETTLE-1700-SS,WH-1,2\n", encoding="utf-8"
    )  # every stock changes: the kettle's update is rejected
    trouble = run_cli("push", "-c", sync_demo, "--quiet", "--log-format", "text")
    assert trouble.returncode == 3 and trouble.stdout == ""
    assert trouble.stderr.splitlines() == [trouble.stderr.strip()]
    assert trouble.stderr.startswith("error: exit 3: ") and "push_rejected 3" in trouble.stderr


def test_one_failing_channel_does_not_stop_the_others(sync_demo: Path, sandbox: Sandbox) -> None:
    data = yaml.safe_load(sync_demo.read_text(encoding="utf-8"))
    data["channels"]["satu"]["base_url"] = f"{sandbox.url}/gone"  # every Satu call: 404
    sync_demo.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    result = run_cli("sync", "-c", sync_demo, *SINCE, "-f", "json")
    assert result.returncode == 3, result.stderr  # the worst outcome
    report = json.loads(result.stdout)
    pulled = {c["channel"]: c for c in report["pull"]["channels"]}
    assert pulled["satu"]["error"] and pulled["kaspi"]["new"] and pulled["ozon"]["new"]
    pushed = {c["channel"]: c for c in report["push"]["channels"]}
    assert pushed["satu"]["sent"] == 0 and pushed["satu"]["failed"] > 0
    assert pushed["ozon"]["sent"] > 0 and pushed["google"]["sent"] > 0
