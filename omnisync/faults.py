"""Named crash points for the kill -9 tests (reliability.md → Crash safety).

``OMNISYNC_CRASH_AT=name`` makes the process SIGKILL itself the first time it reaches the point
``name``; ``name@N`` the N-th time (say, after the second page). Nothing is cleaned up, nothing
is flushed: exactly what a power cut or the OOM killer does. Unset, a point costs one
environment lookup. Every point is listed in ``POINTS`` so the crash test can visit them all.
"""

from __future__ import annotations

import os
import signal
from collections import Counter

ENV = "OMNISYNC_CRASH_AT"

POINTS = {
    "ingest.mid_page": "an order page half upserted, its transaction not committed",
    "ingest.after_page": "an order page committed, the next not read (the cursor has not moved)",
    "ack.after_post": "the channel took the acknowledgement; the store does not know yet",
    "export.after_send": "the webhook took an order; the outbox row is not marked sent",
    "push.after_send": "the channel took a batch; the ledger has not recorded its answer",
    "publish.mid_write": "a feed's temp file partly written",
    "publish.before_rename": "a feed's temp file complete and fsynced, not yet renamed",
}

_reached: Counter[str] = Counter()


def point(name: str) -> None:
    """Die here when the environment asks for it."""
    wanted = os.environ.get(ENV)
    if not wanted:
        return
    if name not in POINTS:  # a typo in a point name would make its crash test pass vacuously
        raise ValueError(f"unknown fault point {name!r}")
    _reached[name] += 1
    target, _, nth = wanted.partition("@")
    if target == name and _reached[name] == int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
