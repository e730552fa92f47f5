"""Run history: every command that changes state records when it ran, how it ended, what each
channel did and which problems it met — what ``omnisync status`` and the metrics read.

``recorded`` wraps a command: the run row is written when it starts (so a killed run shows as
unfinished) and completed when it ends, however it ends. Messages are redacted on the way in.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from omnisync import lock
from omnisync.errors import ExitCode
from omnisync.secrets import redact
from omnisync.store.db import Store, stored

log = logging.getLogger("omnisync")


@dataclass
class Outcome:
    """What one channel did in a run."""

    channel: str
    account: str
    kind: str  # push, pull, build
    ok: bool
    counts: dict[str, int] = field(default_factory=dict)


@dataclass
class Recorder:
    store: Store
    command: str
    run_id: int
    exit_code: int = 0
    counts: dict[str, Any] = field(default_factory=dict)
    problems: Counter[str] = field(default_factory=Counter)
    outcomes: list[Outcome] = field(default_factory=list)
    began: float = field(default_factory=time.monotonic)

    def add(self, outcome: Outcome) -> None:
        """One channel's outcome; its counts go in the run's under channel, then kind (Google
        both pushes and publishes in one sync)."""
        self.outcomes.append(outcome)
        self.counts.setdefault(outcome.channel, {})[outcome.kind] = outcome.counts

    def finish(self, error: str | None = None) -> None:
        now = _now()
        with self.store.transaction() as db:
            db.execute(
                "UPDATE runs SET finished_at = ?, exit_code = ?, counts = ?, error = ?, "
                "problems = ?, duration_s = ? WHERE id = ?",
                (now, self.exit_code, redact(json.dumps(self.counts, sort_keys=True)),
                 redact(error) if error else None, json.dumps(dict(self.problems)),
                 round(time.monotonic() - self.began, 3), self.run_id),
            )  # fmt: skip
            db.executemany(
                "INSERT OR REPLACE INTO run_channels VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(self.run_id, o.channel, o.account, o.kind, int(o.ok), now,
                  json.dumps(o.counts, sort_keys=True)) for o in self.outcomes],
            )  # fmt: skip
        self._log(error)

    def _log(self, error: str | None) -> None:
        # INFO even when it failed: the error itself is logged (or printed) once, at the edge.
        log.info("%s finished: exit %d", self.command, self.exit_code, extra={
            "event": "run_finished", "command": self.command, "exit_code": self.exit_code,
            "duration_s": round(time.monotonic() - self.began, 3), "error": error,
            "channels": self._channels(),
            "problems": dict(self.problems),
        })  # fmt: skip

    def _channels(self) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for o in self.outcomes:
            found.setdefault(o.channel, {})[o.kind] = {"ok": o.ok, **o.counts}
        return found


@contextmanager
def recorded(store: Store, command: str) -> Iterator[Recorder]:
    """Record the block as one run; an exception is recorded with its exit code, then raised."""
    recorder = Recorder(store, command, start(store, command))
    try:
        yield recorder
    except BaseException as exc:
        recorder.exit_code = int(getattr(exc, "exit_code", _code(exc)))
        recorder.finish(str(exc) or type(exc).__name__)
        raise
    recorder.finish()


@contextmanager
def exclusive(state: Path, command: str) -> Iterator[Recorder]:
    """The usual way in for a command that changes state: hold the state's lock (exit 4 when
    another run has it), open the store, record the block as one run."""
    with lock.hold(state, command), stored(state) as store, recorded(store, command) as rec:
        yield rec


def _code(exc: BaseException) -> ExitCode:
    """As ``cli_common.guard`` will report it."""
    if isinstance(exc, KeyboardInterrupt):
        return ExitCode.ABORTED
    return ExitCode.USAGE if isinstance(exc, OSError) else ExitCode.DATA


def start(store: Store, command: str) -> int:
    with store.transaction() as db:
        cursor = db.execute(
            "INSERT INTO runs (command, started_at) VALUES (?, ?)", (command, _now())
        )
    log.info("%s started", command, extra={"event": "run_started", "command": command})
    return int(cursor.lastrowid or 0)


def worst(*codes: int) -> int:
    """The exit code of several outcomes: a channel failure outranks data problems."""
    order = [ExitCode.OK, ExitCode.DATA, ExitCode.CHANNEL]
    return max(codes, key=lambda c: order.index(ExitCode(c)) if c in order else len(order))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
