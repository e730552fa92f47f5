"""``--metrics-file PATH``: Prometheus metrics for node_exporter's textfile collector.

Everything comes from the run history in the store, not from the run that just ended, so the
file is whole and right whatever happened: the last success time of a channel survives a failed
run, which is what an alert on "no successful push for 30 minutes" needs. ``write_to_textfile``
writes a temp file and renames it, so the collector never reads half a file.
https://github.com/prometheus/node_exporter#textfile-collector
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from prometheus_client import CollectorRegistry, Gauge, write_to_textfile

from omnisync.status import open_orders
from omnisync.status import waiting as waiting_items
from omnisync.store import Store, stored

PUSH_COUNTS = {"sent": "pushed", "failed": "failed", "deferred": "deferred"}


def write(path: Path, state: Path) -> None:
    registry = CollectorRegistry()
    with stored(state, readonly=True) as store:
        _runs(store, registry)
        _channels(store, registry)
        _open_work(store, registry)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_to_textfile(str(path), registry)


def _runs(store: Store, registry: CollectorRegistry) -> None:
    duration = Gauge("omnisync_run_duration_seconds", "Duration of the last run",
                     ["command"], registry=registry)  # fmt: skip
    code = Gauge("omnisync_run_exit_code", "Exit code of the last run", ["command"],
                 registry=registry)  # fmt: skip
    finished = Gauge("omnisync_run_finished_timestamp_seconds", "When the last run ended",
                     ["command"], registry=registry)  # fmt: skip
    rows = store.db.execute(
        "SELECT command, duration_s, exit_code, finished_at FROM runs WHERE id IN "
        "(SELECT max(id) FROM runs WHERE finished_at IS NOT NULL GROUP BY command)"
    )
    for command, seconds, exit_code, at in rows:
        duration.labels(command).set(seconds or 0)
        code.labels(command).set(exit_code)
        finished.labels(command).set(_epoch(at))


def _channels(store: Store, registry: CollectorRegistry) -> None:
    items = Gauge("omnisync_items", "Items of the channel's last push, by outcome",
                  ["channel", "outcome"], registry=registry)  # fmt: skip
    orders = Gauge("omnisync_orders_ingested", "Orders new or changed in the last pull",
                   ["channel"], registry=registry)  # fmt: skip
    success = Gauge("omnisync_last_success_timestamp_seconds",
                    "When the channel last pushed (or published) or pulled with no failure",
                    ["channel", "kind"], registry=registry)  # fmt: skip
    for channel, kind, counts in _latest(store):
        if kind == "pull":
            orders.labels(channel).set(counts.get("new", 0) + counts.get("updated", 0))
        elif kind == "push":
            for key, outcome in PUSH_COUNTS.items():
                items.labels(channel, outcome).set(counts.get(key, 0))
    rows = store.db.execute(
        "SELECT channel, kind, max(finished_at) FROM run_channels WHERE ok = 1 "
        "GROUP BY channel, kind"
    )
    for channel, kind, at in rows:
        success.labels(channel, kind).set(_epoch(at))


def _open_work(store: Store, registry: CollectorRegistry) -> None:
    """What waits for a person or the next run: alert on these, not only on failures."""
    waiting = Gauge("omnisync_items_waiting", "Items not yet taken by the channel (next push)",
                    ["channel", "status"], registry=registry)  # fmt: skip
    orders = Gauge("omnisync_open_orders", "Open orders, and those needing attention",
                   ["channel", "state"], registry=registry)  # fmt: skip
    names = store.db.execute(
        "SELECT channel FROM run_channels UNION SELECT channel FROM orders"
    ).fetchall()
    for (name,) in names:
        for status, count in waiting_items(store, name).items():
            waiting.labels(name, status).set(count)
        for state, count in open_orders(store, name).items():
            orders.labels(name, state).set(count)


def _latest(store: Store) -> list[tuple[str, str, dict[str, int]]]:
    rows = store.db.execute(
        "SELECT channel, kind, counts FROM run_channels r WHERE run_id = (SELECT max(run_id) "
        "FROM run_channels WHERE channel = r.channel AND kind = r.kind)"
    ).fetchall()
    return [(channel, kind, json.loads(counts)) for channel, kind, counts in rows]


def _epoch(moment: str | None) -> float:
    return datetime.fromisoformat(moment).timestamp() if moment else 0.0
