"""Stored orders as plain dicts: ``orders list``, the pickup boards, the file exports and the
payload of an order omnisync itself changed. Read-only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from omnisync.orders.model import OPEN
from omnisync.store.db import stored

COLUMNS = (
    "channel", "account", "external_id", "code", "status", "channel_status", "created_at",
    "updated_at", "delivery_mode", "location", "pickup", "flags", "total", "customer",
)  # fmt: skip
LINE_COLUMNS = ("channel_sku", "sku", "quantity", "unit_price", "channel_item")


def list_orders(
    state: Any, status: str | None = None, channel: str | None = None
) -> list[dict[str, Any]]:
    """Stored orders, newest first, with their lines (read-only; no state file: none)."""
    if not Path(state).exists():
        return []
    with stored(Path(state), readonly=True) as store:
        rows = store.db.execute(
            f"SELECT {', '.join(COLUMNS)} FROM orders WHERE (? IS NULL OR status = ?) "
            "AND (? IS NULL OR channel = ?) ORDER BY created_at DESC",
            (status, status, channel, channel),
        ).fetchall()
        return [_listed(store.db, row) for row in rows]


def stored_order(db: Any, key: tuple[str, str, str]) -> dict[str, Any] | None:
    """One stored order, as ``list_orders`` shows it."""
    row = db.execute(
        f"SELECT {', '.join(COLUMNS)} FROM orders WHERE channel = ? AND account = ? "
        "AND external_id = ?",
        key,
    ).fetchone()
    return None if row is None else _listed(db, row)


def pickup_board(state: Any, store_code: str) -> list[dict[str, Any]]:
    """Open orders the buyer collects in ``store_code``, oldest first: what staff prepare."""
    orders = [
        o
        for o in list_orders(state)
        if o["pickup"] and o["location"] == store_code and o["status"] in OPEN
    ]
    return sorted(orders, key=lambda o: o["created_at"])


def _listed(db: Any, row: tuple[Any, ...]) -> dict[str, Any]:
    order = dict(zip(COLUMNS, row, strict=True))
    order["flags"], order["pickup"] = json.loads(order["flags"]), bool(order["pickup"])
    order["customer"] = json.loads(order["customer"])
    lines = db.execute(
        f"SELECT {', '.join(LINE_COLUMNS)} FROM order_lines WHERE channel = ? AND account = ? "
        "AND external_id = ? ORDER BY line",
        row[:3],
    ).fetchall()
    order["lines"] = [dict(zip(LINE_COLUMNS, line, strict=True)) for line in lines]
    return order
