"""Graceful stop (issue 6): SIGTERM or SIGINT finishes the current batch, records state and
exits; a second signal aborts at once.

cron, systemd and Kubernetes stop a job with SIGTERM and kill it a grace period later. The
first signal only sets a flag; the loops that send batches, read order pages or stream the
catalogue check it between units of work (``check``), so what was done is recorded and the rest
is left for the next run. The second signal raises KeyboardInterrupt where the program is.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from omnisync.errors import Stopped

log = logging.getLogger("omnisync")
_requested: list[str] = []  # the signal names received (a list: mutable from the handler)
_stop = threading.Event()  # set with the first signal: ends ``pause`` early


def requested() -> bool:
    return bool(_requested)


def check(where: str) -> None:
    """Raise ``Stopped`` when a stop was asked for: between units of work, never inside one."""
    if _requested:
        raise Stopped(f"stopped by {_requested[0]} {where}; the next run does the rest")


def pause(seconds: float) -> None:
    """``time.sleep`` that a stop signal cuts short (the waits before retries)."""
    _stop.wait(seconds)


def _handler(signum: int, frame: FrameType | None) -> None:
    name = signal.Signals(signum).name
    if _requested:
        raise KeyboardInterrupt(f"second {name}: aborting")
    _requested.append(name)
    _stop.set()
    log.warning("%s received: finishing the current batch (send it again to abort)", name)


@contextmanager
def graceful() -> Iterator[None]:
    """Handle SIGTERM and SIGINT as above for the block (main thread only)."""
    previous: dict[signal.Signals, Any] = {}
    for sig in (signal.SIGTERM, signal.SIGINT):
        previous[sig] = signal.signal(sig, _handler)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _requested.clear()
        _stop.clear()
