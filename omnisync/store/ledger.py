"""The push ledger: what each channel account last acknowledged, and this run's plan.

Per (channel, account, stream, key): the desired payload and its hash, the acknowledged hash,
the last push time, a status and the last error. Planning compares each item's hash with the
ledger and writes the changes to a TEMP plan table, so a dry run changes nothing durable and a
real run streams its batches from there. After each request the results are written in one
transaction: a crash loses at most the batch in flight, which the next run sends again
(absolute values, so a replay converges).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any

from omnisync.channels.base import ItemResult, PushItem
from omnisync.secrets import redact
from omnisync.store.db import Store

ACTIONS = ("create", "update", "reassert", "delete", "unchanged")


def payload_hash(payload: Mapping[str, Any]) -> str:
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.blake2b(canonical.encode("utf-8"), digest_size=16).hexdigest()


class Ledger:
    """One channel account's slice of the ledger, and its plan for this run."""

    _count = 0  # numbers each ledger's TEMP tables

    def __init__(
        self, store: Store, channel: str, account: str, now: datetime, reassert_after: timedelta
    ) -> None:
        self.store, self.db, self.channel, self.account = store, store.db, channel, account
        self.now, self.cutoff = now.isoformat(), (now - reassert_after).isoformat()
        self.unchanged = 0
        # Each ledger has its own TEMP tables: several channels plan on one connection.
        Ledger._count += 1
        self.plan, self.seen = f"temp.plan_{Ledger._count}", f"temp.seen_{Ledger._count}"
        self.db.execute(
            f"CREATE TABLE {self.plan} (stream TEXT, key TEXT, sku TEXT, action TEXT, "
            "hash TEXT, payload TEXT, done INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (stream, key))"
        )
        self.db.execute(
            f"CREATE TABLE {self.seen} (stream TEXT, key TEXT, PRIMARY KEY (stream, key))"
        )

    def consider(self, item: PushItem) -> str:
        """Plan ``item``: its action (``unchanged`` items are only remembered as seen)."""
        digest = payload_hash(item.payload)
        self.db.execute(f"INSERT OR IGNORE INTO {self.seen} VALUES (?, ?)", (item.stream, item.key))
        row = self.db.execute(
            "SELECT acked_hash, last_pushed_at, status FROM push_ledger WHERE channel = ? AND "
            "account = ? AND stream = ? AND sku = ?",
            (self.channel, self.account, item.stream, item.key),
        ).fetchone()
        action = _action(row, digest, self.cutoff)
        if action == "unchanged":
            self.unchanged += 1
        else:
            self._plan(item, action, digest)
        return action

    def _plan(self, item: PushItem, action: str, digest: str) -> None:
        payload = json.dumps(item.payload, sort_keys=True, ensure_ascii=False)
        self.db.execute(
            f"INSERT OR REPLACE INTO {self.plan} VALUES (?, ?, ?, ?, ?, ?, 0)",
            (item.stream, item.key, item.sku, action, digest, payload),
        )

    def gone(self) -> Iterator[tuple[str, str, str]]:
        """(stream, key, sku) of items the channel holds that this run did not see."""
        rows = self.db.execute(
            "SELECT stream, sku, desired FROM push_ledger l WHERE channel = ? AND account = ? "
            f"AND status != 'deleted' AND NOT EXISTS (SELECT 1 FROM {self.seen} s WHERE "
            "s.stream = l.stream AND s.key = l.sku) ORDER BY stream, sku",
            (self.channel, self.account),
        ).fetchall()
        for stream, key, desired in rows:
            yield stream, key, json.loads(desired).get("__sku", key)

    def plan_removal(self, item: PushItem | None, stream: str, key: str) -> None:
        if item is None:  # nothing to send: forget it once this run is recorded
            self._plan(PushItem(stream, key, key, {}), "forget", "")
        else:
            self._plan(item, "delete", payload_hash(item.payload))

    def counts(self) -> dict[str, int]:
        found = dict.fromkeys(ACTIONS, 0)
        for action, count in self.db.execute(
            f"SELECT action, count(*) FROM {self.plan} WHERE action != 'forget' GROUP BY action"
        ):
            found[action] = count
        found["unchanged"] = self.unchanged
        return found

    def planned(self) -> Iterator[tuple[PushItem, str]]:
        """Every planned item and its action, in stream and key order (for reports)."""
        rows = self.db.execute(
            f"SELECT stream, key, sku, action, payload FROM {self.plan} "
            "WHERE action != 'forget' ORDER BY stream, key"
        )
        for stream, key, sku, action, payload in rows:
            yield PushItem(stream, key, sku, json.loads(payload)), action

    def unsent(self) -> list[PushItem]:
        """Planned items no request has carried yet (after a channel stopped early)."""
        rows = self.db.execute(
            f"SELECT stream, key, sku, payload FROM {self.plan} WHERE done = 0 "
            "AND action != 'forget' ORDER BY stream, key"
        ).fetchall()
        return [PushItem(s, key, sku, json.loads(payload)) for s, key, sku, payload in rows]

    def batches(self, stream: str, size: int) -> Iterator[list[PushItem]]:
        """The stream's planned items to send, ``size`` at a time. Keyset pages, so no cursor
        stays open while results are committed."""
        last = ""
        while True:
            rows = self.db.execute(
                f"SELECT key, sku, payload FROM {self.plan} WHERE stream = ? AND key > ? AND "
                "action != 'forget' ORDER BY key LIMIT ?",
                (stream, last, size),
            ).fetchall()
            if not rows:
                return
            yield [PushItem(stream, key, sku, json.loads(payload)) for key, sku, payload in rows]
            last = rows[-1][0]

    def record(self, batch: list[PushItem], results: list[ItemResult]) -> list[ItemResult]:
        """Write one request's outcome; returns the failures (items without a verdict too)."""
        verdicts = {r.key: r for r in results}
        failed = []
        with self.store.transaction():
            for item in batch:
                verdict = verdicts.get(item.key) or ItemResult(
                    item.key, False, "the channel's answer omitted it"
                )
                self._write(item, "acked" if verdict.ok else "failed", verdict)
                if not verdict.ok:
                    failed.append(verdict)
        return failed

    def defer(self, batch: list[PushItem], reason: str) -> None:
        with self.store.transaction():
            for item in batch:
                self._write(item, "deferred", ItemResult(item.key, False, reason))

    def _write(self, item: PushItem, status: str, verdict: ItemResult) -> None:
        action, digest = self.db.execute(
            f"SELECT action, hash FROM {self.plan} WHERE stream = ? AND key = ?",
            (item.stream, item.key),
        ).fetchone()
        self.db.execute(
            f"UPDATE {self.plan} SET done = 1 WHERE stream = ? AND key = ?", (item.stream, item.key)
        )
        if action in ("delete", "forget") and status == "acked":
            status = "deleted"
        acked = digest if status in ("acked", "deleted") else None
        desired = json.dumps(
            {**item.payload, "__sku": item.sku}, sort_keys=True, ensure_ascii=False
        )
        self.db.execute(
            "INSERT INTO push_ledger VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (channel, "
            "account, stream, sku) DO UPDATE SET desired_hash = excluded.desired_hash, "
            "acked_hash = coalesce(excluded.acked_hash, push_ledger.acked_hash), desired = "
            "excluded.desired, last_pushed_at = coalesce(excluded.last_pushed_at, "
            "push_ledger.last_pushed_at), status = excluded.status, error = excluded.error",
            (
                self.channel,
                self.account,
                item.stream,
                item.key,
                digest,
                acked,
                desired,
                self.now if acked else None,
                status,
                redact(verdict.error) if verdict.error else None,  # bodies may echo a token
            ),
        )

    def forget(self) -> None:
        """Items that left and needed no call are recorded as deleted."""
        with self.store.transaction():
            self.db.execute(
                "UPDATE push_ledger SET status = 'deleted' WHERE channel = ? AND account = ? AND "
                f"(stream, sku) IN (SELECT stream, key FROM {self.plan} WHERE action = 'forget')",
                (self.channel, self.account),
            )


def _action(row: tuple[Any, ...] | None, digest: str, cutoff: str) -> str:
    if row is None or (row[0] is None and row[2] != "deleted"):
        return "create"
    acked, pushed_at, status = row
    if status == "deleted" or acked != digest:
        return "update" if status != "deleted" else "create"
    return "reassert" if (pushed_at or "") < cutoff else "unchanged"
