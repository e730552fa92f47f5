"""Order alerts: what a person must hear of a stored order — a line whose SKU matches no
product (``unknown_sku``), units sold twice (``oversell``) — kept until a run that finished has
reported it.

An alert is raised in the transaction that stores (or flags) its order, and marked reported
only once the command has emitted its report — with ``--quiet``, a log line per alert — and
flushed it (the CLI's last step). A run killed in between, or whose report could not be
written, leaves it unreported, and every later pull reports it again until one gets to the end:
the re-run finds the order itself unchanged, so without this it would never be told.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from omnisync.store.db import Store

UNKNOWN_SKU = "unknown_sku"
OVERSELL = "oversell"

OrderKey = tuple[str, str, str]  # channel, account, external id


@dataclass(frozen=True)
class Alert:
    channel: str
    account: str
    external_id: str
    code: str  # UNKNOWN_SKU or OVERSELL
    sku: str  # the channel's SKU (unknown_sku), the catalogue's (oversell)
    order: str  # the order's code, as the channel shows it
    raised_at: str  # a later raise of the same alert is another report


def clear(db: Any, key: OrderKey) -> None:
    """The order changed: its alerts are raised again as they now stand (a changed order that
    still needs attention is reported again, as it always was)."""
    db.execute(
        "DELETE FROM order_alerts WHERE channel = ? AND account = ? AND external_id = ?", key
    )


def raise_alert(db: Any, key: OrderKey, code: str, sku: str) -> None:
    db.execute(
        "INSERT INTO order_alerts VALUES (?, ?, ?, ?, ?, ?, NULL) ON CONFLICT (channel, "
        "account, external_id, code, sku) DO UPDATE SET raised_at = excluded.raised_at, "
        "reported_at = NULL",
        (*key, code, sku, datetime.now(UTC).isoformat()),
    )


def unreported(store: Store, channel: str, account: str) -> list[Alert]:
    """The channel account's alerts no finished run has reported, oldest order first."""
    rows = store.db.execute(
        "SELECT a.channel, a.account, a.external_id, a.code, a.sku, o.code, a.raised_at "
        "FROM order_alerts a JOIN orders o ON o.channel = a.channel AND o.account = a.account "
        "AND o.external_id = a.external_id WHERE a.channel = ? AND a.account = ? "
        "AND a.reported_at IS NULL ORDER BY o.created_at, o.external_id, a.code, a.sku",
        (channel, account),
    ).fetchall()
    return [Alert(*row) for row in rows]


def mark_reported(store: Store, alerts: Iterable[Alert]) -> None:
    """Reported: not again. An alert raised anew since (its order changed) stays unreported."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    with store.transaction() as db:
        db.executemany(
            "UPDATE order_alerts SET reported_at = ? WHERE channel = ? AND account = ? "
            "AND external_id = ? AND code = ? AND sku = ? AND raised_at = ? "
            "AND reported_at IS NULL",
            [(now, a.channel, a.account, a.external_id, a.code, a.sku, a.raised_at)
             for a in alerts],
        )  # fmt: skip
