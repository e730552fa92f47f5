"""File channels spread over the machine's cores (issue 7).

A run's file channels are split into groups, one per core. This process writes the first group
(and everything that talks to an API); each other group is written by a forked worker that
reads the catalogue itself, in its own bounded memory. Reading twice costs less than the
channels it moves to the other core: a feed's checks and serialization cost two to four times
the reading of its products.

Publishing keeps the one-process contract: nothing is published unless every process streamed
the catalogue to the end. A worker reports "ready" and waits; this process then publishes its
own files and tells each worker to publish (or, when it failed or was stopped, to discard).
Each worker returns its :class:`RunReport`; the merged report takes the catalogue's own
problems once (every process reads the same files). Workers are forked (Linux only: elsewhere
everything runs here), die with this process (a ``kill -9`` leaves no worker publishing behind
it), stop when it stops, and hold no lock of their own: the run's lock is this process's, and
forked children share it.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from omnisync import faults, stopping
from omnisync.errors import ExitCode, OmnisyncError
from omnisync.report import RunReport

PR_SET_PDEATHSIG = 1  # prctl(2): the signal a child gets when its parent dies
log = logging.getLogger("omnisync")


class WorkerFailed(OmnisyncError):
    """A worker stopped on an error; its message and exit code are the worker's."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = ExitCode(exit_code)


def cores() -> int:
    """Cores this process may run on (a container's CPU set, not the host's)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1


def groups(
    names: Sequence[str],
    movable: Callable[[str], bool],
    workers: int,
    cost: Callable[[str], float] = lambda name: 1.0,
) -> list[list[str]]:
    """Channel names per process, this one first: the channels that cannot move stay here,
    the movable ones go, costliest first, to the process with the least work so far."""
    if workers < 2 or not sys.platform.startswith("linux"):
        return [list(names)]
    shares: list[list[str]] = [[n for n in names if not movable(n)]]
    shares += [[] for _ in range(workers - 1)]
    for n in sorted((n for n in names if movable(n)), key=cost, reverse=True):
        min(shares, key=lambda share: (sum(map(cost, share)), len(share))).append(n)
    return [shares[0], *(share for share in shares[1:] if share)]


class Discarded(Exception):
    """The run's process told this worker not to publish (it failed or stopped)."""


@dataclass
class Worker:
    """A worker, from the run's side. Two steps, so that no file is published unless every
    process streamed the catalogue to the end: ``ready()`` waits for its stream, ``result()``
    lets it publish and returns its report. ``stop()`` discards whatever it has not published."""

    process: Any
    line: Connection  # both ways: its messages, then our verdict

    def ready(self) -> None:
        kind, value = self._receive()
        if kind == "error":
            raise WorkerFailed(*value)

    def result(self) -> RunReport:
        self.line.send("publish")
        kind, value = self._receive()
        if kind == "error":
            raise WorkerFailed(*value)
        self.process.join()
        assert isinstance(value, RunReport)
        return value

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.line.send("discard")
        self.line.close()  # a worker blocked sending its report gets EPIPE and leaves
        if self.process.is_alive():
            self.process.terminate()  # SIGTERM: it stops at its next check, discarding its files
            self.process.join(30)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()

    def _receive(self) -> tuple[str, Any]:
        """The worker's next message; a stop signal to this process is not kept waiting."""
        while not self.line.poll(0.2):
            stopping.check("while the channel workers were writing; nothing was published")
        try:
            message: tuple[str, Any] = self.line.recv()
        except EOFError:
            self.process.join()
            raise WorkerFailed(
                f"a channel worker died (exit code {self.process.exitcode}); its files were "
                "not published — run again",
                ExitCode.CHANNEL,
            ) from None
        return message


class Team(list[Worker]):
    """The workers of one run."""

    def __init__(self) -> None:
        super().__init__()
        self.reports: list[RunReport] | None = None

    def ready(self) -> bool:
        """Wait until every worker has streamed the catalogue (a hook before publishing)."""
        for worker in self:
            worker.ready()
        return True

    def publish(self) -> None:
        """Let every worker publish (after this process published its own files)."""
        if self.reports is None:
            self.reports = [worker.result() for worker in self]

    def results(self) -> list[RunReport]:
        self.publish()
        assert self.reports is not None
        return self.reports


@contextlib.contextmanager
def workers(
    job: Callable[[list[str], Callable[[], bool]], RunReport], shares: list[list[str]]
) -> Iterator[Team]:
    """Start one worker per share, running ``job(share, go_ahead)``; ``go_ahead()`` tells the
    worker, once its stream is done, whether to publish. On the way out (an error, a stop)
    the workers still running are stopped and publish nothing more."""
    team = Team()
    try:
        for share in shares:
            team.append(_start(job, share))
            log.info("channel worker %d writes %s", team[-1].process.pid, ", ".join(share),
                     extra={"event": "worker_started", "channels": share})  # fmt: skip
        yield team
    finally:
        for worker in team:
            worker.stop()


def merged(mine: RunReport, theirs: list[RunReport], order: Sequence[str]) -> RunReport:
    """One report: the catalogue's problems once (this process's), every channel's own."""
    for report in theirs:
        mine.channels.extend(report.channels)
        mine.problems.extend(p for p in report.problems if p.channel is not None)
    mine.channels.sort(key=lambda stats: order.index(stats.channel))
    return mine


def _start(job: Callable[[list[str], Callable[[], bool]], RunReport], share: list[str]) -> Worker:
    context = multiprocessing.get_context("fork")
    line, theirs = context.Pipe()
    args = (theirs, job, share, os.getpid())
    process = context.Process(target=_child, args=args, daemon=True)
    process.start()
    theirs.close()
    return Worker(process, line)


def _child(
    line: Connection,
    job: Callable[[list[str], Callable[[], bool]], RunReport],
    share: list[str],
    parent: int,
) -> None:
    """The worker's whole life: it never returns into the parent's code, and leaves with
    ``os._exit`` so nothing inherited (the state's connection, the lock) is closed twice."""
    die_with(parent)
    faults.in_worker()
    stopping.as_worker()

    def go_ahead() -> bool:
        line.send(("ready", None))
        try:
            return bool(line.recv() == "publish")
        except EOFError:
            return False

    try:
        answer: tuple[str, Any] = ("ok", job(share, go_ahead))
    except Discarded:
        os._exit(0)
    except OmnisyncError as exc:
        answer = ("error", (str(exc), int(exc.exit_code)))
    except BaseException as exc:
        answer = ("error", (f"a channel worker failed: {type(exc).__name__}: {exc}", 3))
    try:
        line.send(answer)
    finally:
        os._exit(0)


def die_with(parent: int) -> None:
    """This forked process is killed when ``parent`` dies (a kill -9 leaves no orphan)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def own_mb() -> float:
    """This process's private pages (a forked worker's RSS counts the pages it shares)."""
    try:
        text = Path("/proc/self/smaps_rollup").read_text()
    except OSError:
        return 0.0
    kib = sum(int(line.split()[1]) for line in text.splitlines() if line.startswith("Private_"))
    return kib / 1024
