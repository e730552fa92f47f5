"""Acknowledging new orders on their channel, only after they are stored (channels.md §2.2,
§3.2): Kaspi ``ACCEPTED_BY_MERCHANT``, Satu ``received``.

Status changes are not idempotent, so an order is acknowledged only when the status this very
pull read from the channel is still the one the acknowledgement moves from, and an answer that
says the order already has the target status counts as done. The store remembers each
acknowledgement, so each new order is acknowledged exactly once; a failed one is tried again on
the next pull.
"""

from __future__ import annotations

from typing import Any

from omnisync import stopping
from omnisync.channels.satu_orders import set_status_verdicts
from omnisync.errors import ChannelError, ChannelRejected
from omnisync.store import Store
from omnisync.store.orders import now, outbox_stored, refresh_digest

KASPI_FROM, KASPI_TO = "APPROVED_BY_BANK", "ACCEPTED_BY_MERCHANT"
SATU_FROM, SATU_TO = "pending", "received"


def pending(store: Store, channel: str, account: str, from_status: str) -> list[tuple[str, str]]:
    """(external id, code) of stored orders not yet acknowledged, still in ``from_status``."""
    rows = store.db.execute(
        "SELECT external_id, code FROM orders WHERE channel = ? AND "
        "account = ? AND acknowledged = 0 AND channel_status = ?",
        (channel, account, from_status),
    ).fetchall()
    return [(str(a), str(b)) for a, b in rows]


def mark(
    store: Store,
    channel: str,
    account: str,
    done: list[str],
    to_status: str,
    exports: tuple[str, ...] = (),
) -> None:
    """Record the acknowledgements; the new status is exported like any other change."""
    with store.transaction() as db:
        for external in done:
            key = (channel, account, external)
            db.execute(
                # Only an order still new: one cancelled meanwhile (orders cancel) stays so.
                "UPDATE orders SET acknowledged = 1, channel_status = ?, status = "
                "'accepted', status_changed_at = ? WHERE channel = ? AND account = ? AND "
                "external_id = ? AND acknowledged = 0 AND status = 'new'",
                (to_status, now(), *key),
            )
            refresh_digest(db, key)
            outbox_stored(db, key, exports)


def kaspi(api: Any, orders: list[tuple[str, str]]) -> tuple[list[str], list[tuple[str, str]]]:
    """POST /orders per order; returns (acknowledged ids, [(code, error)])."""
    done, failed = [], []
    for external, code in orders:
        if stopping.requested():  # those done are recorded; the rest wait for the next pull
            break
        body = {
            "data": {
                "type": "orders",
                "id": external,
                "attributes": {"code": code, "status": KASPI_TO},
            }
        }
        try:
            api.request("POST", "/orders", json=body, idempotent=False)
        except ChannelRejected as exc:
            # Only "already has status ACCEPTED_BY_MERCHANT" means someone did it: done.
            if not ("already" in str(exc) and KASPI_TO in str(exc)):
                failed.append((code, str(exc)))
                continue
        except ChannelError as exc:
            failed.append((code, str(exc)))
            continue
        done.append(external)
    return done, failed


def satu(api: Any, orders: list[tuple[str, str]]) -> tuple[list[str], list[tuple[str, str]]]:
    """One set_status call for all; per-order verdicts from processed_ids/errors."""
    if not orders:
        return [], []
    ids = [int(external) for external, _ in orders]
    try:
        answer = api.json(
            "POST",
            "/api/v1/orders/set_status",
            json={"status": SATU_TO, "ids": ids},
            idempotent=False,
        )
    except ChannelError as exc:
        return [], [(code, str(exc)) for _, code in orders]
    try:
        processed, errors = set_status_verdicts(answer)
    except ChannelError as exc:
        return [], [(code, str(exc)) for _, code in orders]
    done = [external for external, _ in orders if external in processed]
    failed = [
        (code, str(errors.get(external, "not processed")))
        for external, code in orders
        if external not in processed
    ]
    return done, failed
