"""One run at a time per state file (reliability.md → Crash safety: no overlapping runs).

An exclusive ``flock`` on ``<state>.lock``, taken without waiting: a second ``sync``, ``push``
or ``orders pull`` on the same state fails at once with exit 4 and names the holder. The kernel
drops a flock when its process dies, kill -9 included, so a crash never leaves a stale lock;
the holder details left in the file are only read while the lock is held by someone.

Written on ``fcntl`` directly rather than the ``filelock`` package: its Unix lock opens the file
with O_TRUNC, which would erase the holder details each time a second run tries the lock.
Shared state across hosts needs PostgreSQL advisory locks (reliability.md → Scale), not this.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from omnisync.errors import LockHeld

_held: dict[Path, int] = {}  # lock path → nesting depth in this process (sync runs push)


def lock_path(state: Path) -> Path:
    """Next to the real state file: two configs reaching it through a symlink share the lock."""
    real = state.resolve()
    return real.with_name(real.name + ".lock")


@contextmanager
def hold(state: Path, command: str) -> Iterator[None]:
    """Hold the state's lock for the block; re-entrant within one process."""
    path = lock_path(state)
    if path in _held:
        _held[path] += 1
        try:
            yield
        finally:
            _held[path] -= 1
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _acquire(fd, path)
        _describe(fd, command)
        _held[path] = 1
        try:
            yield
        finally:
            del _held[path]
    finally:
        os.close(fd)  # closing drops the flock


def _acquire(fd: int, path: Path) -> None:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise LockHeld(f"another run holds {path.name}: {_holder(fd)}") from None


def _describe(fd: int, command: str) -> None:
    """Who holds it, for the message a second run prints (truncated only once we own it)."""
    holder = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "command": command,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(holder).encode(), 0)


def _holder(fd: int) -> str:
    try:
        found = json.loads(os.pread(fd, 4096, 0) or b"{}")
        return (
            f"{found['command']} (pid {found['pid']} on {found['host']}, "
            f"started {found['started_at']})"
        )
    except (ValueError, KeyError, TypeError):  # it is still writing its details
        return "a run that is just starting"
