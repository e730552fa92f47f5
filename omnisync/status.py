"""``omnisync status``: what happened, at a glance — per channel the last successful push (or
publish) and order pull with their age and counts, what is waiting (failed or deferred items),
orders needing attention and oversells, and the last runs with their outcomes.

Read-only: the state file is opened read-only and never created.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from omnisync.config import Config
from omnisync.orders.model import OPEN_SQL
from omnisync.store import Store, stored

LAST_RUNS = 10
KINDS = ("push", "publish", "pull")


def status(config: Config, now: datetime | None = None) -> dict[str, Any]:
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    with stored(config.state, readonly=True) as store:
        return {
            "state": str(config.state),
            "channels": [_channel(store, name, moment) for name in config.channels],
            "oversells": _oversells(store),
            "runs": _runs(store, moment),
        }


def _channel(store: Store, name: str, now: datetime) -> dict[str, Any]:
    """``push`` (API), ``publish`` (feed files) and ``pull`` (orders): each its last attempt
    and its last success, None when the channel never did it."""
    found: dict[str, Any] = {"channel": name}
    for kind in KINDS:
        found[f"last_{kind}"] = _last(store, name, kind, False, now)
        found[f"last_successful_{kind}"] = _last(store, name, kind, True, now)
    return {**found, "waiting": waiting(store, name), "orders": open_orders(store, name)}


def _last(
    store: Store, name: str, kind: str, ok_only: bool, now: datetime
) -> dict[str, Any] | None:
    row = store.db.execute(
        f"SELECT finished_at, ok, counts FROM run_channels WHERE channel = ? AND kind = ? "
        f"{'AND ok = 1' if ok_only else ''} ORDER BY run_id DESC LIMIT 1",
        (name, kind),
    ).fetchone()
    if row is None:
        return None
    return {"at": row[0], "age_s": _age(row[0], now), "ok": bool(row[1]), **json.loads(row[2])}


def waiting(store: Store, name: str) -> dict[str, int]:
    """Items the channel has not taken yet: sent again by the next push."""
    rows = store.db.execute(
        "SELECT status, count(*) FROM push_ledger WHERE channel = ? AND status IN "
        "('failed', 'deferred', 'sending') GROUP BY status",
        (name,),
    ).fetchall()
    return {"failed": 0, "deferred": 0, "sending": 0, **dict(rows)}


def open_orders(store: Store, name: str) -> dict[str, int]:
    row = store.db.execute(
        f"SELECT count(*), coalesce(sum(flags LIKE '%needs_attention%'), 0), "
        f"coalesce(sum(flags LIKE '%oversell%'), 0) FROM orders WHERE channel = ? "
        f"AND status IN {OPEN_SQL}",
        (name,),
    ).fetchone()
    return {"open": row[0], "needs_attention": row[1], "oversold": row[2]}


def _oversells(store: Store) -> list[dict[str, Any]]:
    rows = store.db.execute(
        f"SELECT channel, external_id, code, status FROM orders WHERE flags LIKE '%oversell%' "
        f"AND status IN {OPEN_SQL} ORDER BY created_at"
    ).fetchall()
    keys = ("channel", "external_id", "code", "status")
    return [dict(zip(keys, row, strict=True)) for row in rows]


def _runs(store: Store, now: datetime) -> list[dict[str, Any]]:
    rows = store.db.execute(
        "SELECT id, command, started_at, finished_at, duration_s, exit_code, error, problems "
        "FROM runs ORDER BY id DESC LIMIT ?",
        (LAST_RUNS,),
    ).fetchall()
    return [_run(row, now) for row in rows]


def _run(row: tuple[Any, ...], now: datetime) -> dict[str, Any]:
    run_id, command, started, finished, duration, code, error, problems = row
    return {
        "id": run_id,
        "command": command,
        "started_at": started,
        "finished_at": finished,
        "age_s": _age(started, now),
        "duration_s": duration,
        "exit_code": code,
        "outcome": "running or killed" if finished is None else _outcome(code),
        "error": error,
        "problems": json.loads(problems),
    }


def _outcome(code: int | None) -> str:
    return {0: "ok", 1: "data problems", 2: "usage error", 3: "channel failure"}.get(
        code or 0, f"exit {code}"
    )


def _age(moment: str, now: datetime) -> int:
    return int((now - datetime.fromisoformat(moment)).total_seconds())
