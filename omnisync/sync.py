"""``omnisync sync``: the job cron runs — pull orders, recompute available-to-sell, build every
feed and push, as one locked, recorded run.

Order matters: orders are pulled first so their reservations lower the stock every channel is
about to get. Feeds and pushes then come from one pass over the catalogue (``push`` with
``every_file``). Channels are isolated — a channel that fails is reported and the others go
on — and the exit code is the worst outcome. ``--dry-run`` works on a throwaway copy of the
state: orders are read (never acknowledged or exported), the plan is made, nothing is sent,
published or changed.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from omnisync import push, secrets, stopping
from omnisync.config import Config
from omnisync.http import Budget
from omnisync.orders import pull
from omnisync.pipeline import Progress
from omnisync.store import runs


@dataclass
class SyncReport:
    pull: pull.PullReport | None
    push: push.PushReport
    dry_run: bool

    @property
    def exit_code(self) -> int:
        pulled = self.pull.exit_code if self.pull is not None else 0
        return runs.worst(pulled, self.push.exit_code)


def sync(
    config: Config,
    only: Iterable[str] = (),
    dry_run: bool = False,
    since: datetime | None = None,
    now: datetime | None = None,
    budget: Budget | None = None,
    progress: Progress | None = None,
) -> SyncReport:
    """``since``: where the order pull starts (default: the stored cursor, or 30 days)."""
    job = _Job(list(only), since, now, budget or Budget(), progress)
    _read_secrets(config, job.only)
    if dry_run:
        with scratch(config) as copy:
            return _sync(copy, job, True)
    with runs.exclusive(config.state, "sync") as recorder:
        result = _sync(config, job, False)
        recorder.exit_code = result.exit_code
        recorder.counts = {"pull": result.pull.exit_code if result.pull else None,
                           "push": result.push.exit_code}  # fmt: skip
    return result


def _read_secrets(config: Config, only: list[str]) -> None:
    """Every secret the run may connect with, read before the pull: a missing one stops the
    run before it acknowledges an order at one marketplace and pushes to none (a channel
    with a secret pulls or pushes; a file-only channel holds none)."""
    for name, channel in config.channels.items():
        if not only or name in only:
            secrets.resolve(channel)
    secrets.resolve(config.exports)


@dataclass
class _Job:
    only: list[str]
    since: datetime | None
    now: datetime | None
    budget: Budget
    progress: Progress | None


def _sync(config: Config, job: _Job, dry_run: bool) -> SyncReport:
    pulled = pull.pull(config, job.only, since=job.since, now=job.now, budget=job.budget,
                       command="sync: orders pull", quiet=True, dry_run=dry_run)  # fmt: skip
    stopping.check("after the order pull (stored); nothing was pushed")
    pushed = push.push(config, job.only, dry_run=dry_run, now=job.now, budget=job.budget,
                       progress=job.progress, every_file=True)  # fmt: skip
    return SyncReport(pulled if pulled.pulls else None, pushed, dry_run)


@contextmanager
def scratch(config: Config) -> Iterator[Config]:
    """``config`` with its state replaced by a temporary copy (SQLite's online backup, so a
    run writing meanwhile does not tear it); deleted afterwards."""
    with tempfile.TemporaryDirectory(prefix="omnisync-dry-run-") as folder:
        copy = Path(folder) / "state.db"
        if config.state.exists():
            uri = f"{config.state.resolve().as_uri()}?mode=ro"
            source, target = sqlite3.connect(uri, uri=True), sqlite3.connect(copy)
            with closing(source), closing(target):
                source.backup(target)
        yield config.model_copy(update={"state": copy})
