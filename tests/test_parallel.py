"""File channels written by several processes (omnisync.parallel): the same files and the same
report as one process; a worker's failure, a stop and a killed run leave nothing behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import DEMO_CONFIG, demo_against, run_cli, start_cli

from omnisync import parallel, stopping
from omnisync.channels.base import Record
from omnisync.channels.google.channel import GoogleMerchant
from omnisync.channels.meta import MetaCatalog
from omnisync.config import Config, load_config
from omnisync.errors import ExitCode, Stopped
from omnisync.lanes import Lane
from omnisync.models import Product
from omnisync.pipeline import build
from omnisync.push import push
from omnisync.report import RunReport
from omnisync.sandbox.server import Sandbox

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def demo(folder: Path, workers: int) -> Config:
    config = load_config(DEMO_CONFIG)
    out = folder / f"out-{workers}"
    return config.model_copy(
        update={"output_dir": out, "state": folder / f"state-{workers}.db", "workers": workers}
    )


def files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def summary(report: RunReport) -> tuple[object, ...]:
    stats = [(s.channel, s.items_total, s.items_valid, s.errors, s.warnings, s.published)
             for s in report.channels]  # fmt: skip
    problems = Counter((p.channel, p.sku, p.code, p.line) for p in report.problems)
    return report.products, stats, problems


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The shares handed to workers, as the run started them."""
    shares: list[list[str]] = []
    start = parallel._start

    def spied(job: object, share: list[str]) -> parallel.Worker:
        shares.append(share)
        return start(job, share)  # type: ignore[arg-type]

    monkeypatch.setattr(parallel, "_start", spied)
    return shares


def test_two_processes_write_the_very_files_and_report_of_one(
    tmp_path: Path, started: list[list[str]]
) -> None:
    one = build(demo(tmp_path, 1), now=NOW)
    assert started == []
    two = build(demo(tmp_path, 2), now=NOW)
    assert len(started) == 1 and 0 < len(started[0]) < len(two.channels)
    assert files(tmp_path / "out-2") == files(tmp_path / "out-1")
    assert summary(two) == summary(one)
    assert [s.channel for s in two.channels] == [s.channel for s in one.channels]
    assert any(p.channel is None for p in two.problems)  # the demo's bad rows: reported once


def test_sync_pushes_here_and_builds_the_file_channels_in_a_worker(
    tmp_path: Path, sandbox: Sandbox, started: list[list[str]]
) -> None:
    """The channels with an API stay in this process; the file-only ones move. Both runs
    publish the same files and plan the same pushes."""
    reports = {}
    for workers in (1, 2):
        (tmp_path / str(workers)).mkdir()
        path = demo_against(tmp_path / str(workers), sandbox)
        config = load_config(path).model_copy(update={"workers": workers})
        sandbox.state.reset()
        reports[workers] = push(config, every_file=True, now=NOW)
    one, two = reports[1], reports[2]
    pushed = {p.channel for p in two.pushes} | {"kaspi"}  # Kaspi's publish is its push
    assert len(started) == 1 and started[0] and not pushed & set(started[0])
    assert summary(two.run) == summary(one.run)
    assert [(p.channel, p.planned, p.sent, p.failed) for p in two.pushes] == [
        (p.channel, p.planned, p.sent, p.failed) for p in one.pushes
    ]
    assert files(tmp_path / "2" / "out") == files(tmp_path / "1" / "out")


def roles() -> tuple[str, str]:
    """(the channel the run's process writes, the one its worker writes) of Google and Meta."""
    costs = {"google": GoogleMerchant.cost, "meta": MetaCatalog.cost}
    (mine,), (theirs,) = parallel.groups(list(costs), lambda _: True, 2, costs.__getitem__)
    return mine, theirs


def test_a_failing_worker_fails_the_run_with_its_message_and_publishes_nothing_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: Any, streams: object) -> object:
        raise OSError(28, "No space left on device")

    mine, theirs = roles()
    channel = {"google": GoogleMerchant, "meta": MetaCatalog}[theirs]
    monkeypatch.setattr(channel, "open_writer", broken)  # forked: the worker has it too
    config = demo(tmp_path, 2)
    with pytest.raises(parallel.WorkerFailed, match="No space left on device") as caught:
        build(config, [mine, theirs], now=NOW)
    assert caught.value.exit_code == ExitCode.CHANNEL
    assert not list(config.output_dir.glob("*.*"))  # the run's own file is not published either


def children(pid: int) -> list[int]:
    found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in found]


@pytest.fixture
def big_demo(tmp_path: Path, sandbox: Sandbox) -> Path:
    """The demo with 20,000 more products, so a build lasts long enough to be interrupted."""
    demo_against(tmp_path, sandbox)
    products = tmp_path / "demo" / "products.csv"
    header, first, *_ = products.read_text(encoding="utf-8").splitlines()
    sku = first.split(",", 1)[0]
    extra = [first.replace(sku, f"{sku}-{n}", 1) for n in range(20_000)]
    products.write_text("\n".join([header, first, *extra]) + "\n", encoding="utf-8")
    return tmp_path


def a_worker_of(process: object, pid: int) -> int:
    for _ in range(200):
        found = children(pid)
        if found:
            return found[0]
        time.sleep(0.05)
    raise AssertionError("no worker was started")


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads /proc (Linux)")
def test_a_killed_run_takes_its_worker_with_it(big_demo: Path) -> None:
    run = start_cli("build", "-c", big_demo / "omnisync.yaml")
    worker = a_worker_of(run, run.pid)
    os.kill(run.pid, signal.SIGKILL)
    run.wait(30)
    try:
        for _ in range(60):  # 3 s: left alone, the worker would build for 9 s more
            if not Path(f"/proc/{worker}").exists() or "Z" in _state(worker):
                break
            time.sleep(0.05)
        else:
            raise AssertionError("the worker outlived the run it belonged to")
    finally:
        run.communicate(timeout=60)  # the pipes close when every holder is gone


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads /proc (Linux)")
def test_sigterm_stops_both_processes_and_publishes_nothing_half_done(big_demo: Path) -> None:
    run = start_cli("build", "-c", big_demo / "omnisync.yaml")
    a_worker_of(run, run.pid)
    os.kill(run.pid, signal.SIGTERM)
    _, err = run.communicate(timeout=60)
    assert run.returncode == ExitCode.CHANNEL, err
    assert not list((big_demo / "out").rglob("*.tmp"))
    again = run_cli("build", "-c", big_demo / "omnisync.yaml")
    assert again.returncode in (0, 1), again.stderr


def test_a_stop_while_waiting_for_a_worker_stops_the_run_and_nothing_is_published(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run's own share is done at once, the worker's is slow: SIGTERM then must not wait
    for the worker, and no file of either process may be published."""
    mine, theirs = roles()
    channel = {"google": GoogleMerchant, "meta": MetaCatalog}[theirs]
    original, calls = channel.to_record, tmp_path / "calls"

    def slow(self: Any, product: Product) -> Record:
        with calls.open("a") as tally:  # forked: the worker has it too, and counts here
            tally.write("x")
        time.sleep(0.5)
        return original(self, product)

    monkeypatch.setattr(channel, "to_record", slow)
    config = demo(tmp_path, 2)
    timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGTERM))
    with stopping.graceful(), pytest.raises(Stopped):
        timer.start()
        build(config, [mine, theirs], now=NOW)
    products = len((DEMO_CONFIG.parent / "demo" / "products.csv").read_text().splitlines())
    assert len(calls.read_text()) < products / 3  # stopped mid-stream, not waited for
    assert not list(config.output_dir.glob("*.*"))  # google.xml, meta.csv: neither
    assert not list(config.output_dir.glob(".*.tmp"))


def test_when_the_run_fails_before_publishing_its_workers_publish_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine, theirs = roles()
    config = demo(tmp_path, 2)
    original = Lane.publish

    def failing(self: Lane, report: RunReport, force: bool) -> None:
        if self.channel.name == mine:  # the run's own share
            raise OSError(28, "No space left on device")
        original(self, report, force)

    monkeypatch.setattr(Lane, "publish", failing)
    with pytest.raises(OSError, match="No space left"):
        build(config, [mine, theirs], now=NOW)
    assert not list(config.output_dir.glob("*.*"))
    assert not list(config.output_dir.glob(".*.tmp"))


CRASHING_WORKER = """
import sys, time
from omnisync import faults, parallel

def job(share, go_ahead):
    faults.point("publish.mid_write")  # OMNISYNC_CRASH_AT names it: the worker dies here
    time.sleep(30)

with parallel.workers(job, [["google"]]) as team:
    team.ready()
print("the run outlived its worker's crash")
"""


def test_a_crash_point_in_a_worker_takes_the_whole_run_down() -> None:
    """A crash point stands for the machine dying: reached in a worker, it kills the run's
    process too, as the kill -9 tests expect of one process."""
    done = subprocess.run(
        [sys.executable, "-c", CRASHING_WORKER],
        env={**os.environ, "OMNISYNC_CRASH_AT": "publish.mid_write"},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == -signal.SIGKILL, done.stdout + done.stderr
    assert "outlived" not in done.stdout


def test_channels_are_dealt_so_the_processes_take_about_as_long() -> None:
    costs = {"google": 1.0, "kaspi": 1.0, "satu": 1.4, "local": 1.0, "meta": 0.8, "ozon": 1.0}
    shares = parallel.groups(list(costs), lambda n: n != "ozon", 2, costs.__getitem__)
    assert shares == [["ozon", "google", "local"], ["satu", "kaspi", "meta"]]  # 3.0 and 3.2
    assert parallel.groups(["a", "b"], lambda n: True, 1) == [["a", "b"]]
    assert parallel.groups(["a"], lambda n: True, 4) == [["a"]]  # no empty worker
