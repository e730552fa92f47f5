"""Run records: every command that touches the store says when it ran and how it ended."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from omnisync.secrets import redact
from omnisync.store.db import Store


def start(store: Store, command: str) -> int:
    with store.transaction() as db:
        cursor = db.execute(
            "INSERT INTO runs (command, started_at) VALUES (?, ?)", (command, _now())
        )
    return int(cursor.lastrowid or 0)


def finish(
    store: Store, run_id: int, exit_code: int, counts: dict[str, Any], error: str | None = None
) -> None:
    with store.transaction() as db:
        db.execute(
            "UPDATE runs SET finished_at = ?, exit_code = ?, counts = ?, error = ? WHERE id = ?",
            (
                _now(),
                exit_code,
                redact(json.dumps(counts, sort_keys=True)),
                redact(error) if error else None,
                run_id,
            ),
        )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
