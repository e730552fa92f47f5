"""The push ledger: what each channel account last acknowledged, and this run's plan.

Per (channel, account, stream, key): the desired payload and its hash, the acknowledged hash,
the last push time (UTC), a status and the last error. Planning compares each item's hash with
the ledger and writes the changes to TEMP tables, so a dry run changes nothing durable and a
real run streams its batches from there.

Crash safety: before a batch is sent its rows are marked ``sending`` with no acknowledged hash.
If the outcome never arrives (a crash, a lost answer), the next run finds no acknowledgement and
sends the item again — absolute values, so the replay converges. An item is only ever
"unchanged" when the channel acknowledged exactly that payload.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from omnisync.channels.capabilities import ItemResult, PushItem
from omnisync.errors import ReadEverything
from omnisync.fingerprint import sku_fp
from omnisync.secrets import redact
from omnisync.store.db import Store

ACTIONS = ("create", "update", "reassert", "delete", "unchanged")
# Ledger statuses besides acked and deleted: the item waits for a verdict or a retry.
UNSETTLED = ("sending", "failed", "deferred", "pending")
_UPSERT = (
    "INSERT INTO push_ledger VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (channel, "
    "account, stream, sku) DO UPDATE SET desired_hash = excluded.desired_hash, acked_hash = "
    "excluded.acked_hash, desired = excluded.desired, last_pushed_at = coalesce("
    "excluded.last_pushed_at, push_ledger.last_pushed_at), status = excluded.status, "
    "error = excluded.error, sku_fp = excluded.sku_fp"
)
_OWNED = "channel = ? AND account = ? AND status != 'deleted'"
_PAIRS = "SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?)"


def payload_hash(payload: Mapping[str, Any]) -> str:
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.blake2b(canonical.encode("utf-8"), digest_size=16).hexdigest()


class OwnerChanged(ReadEverything):
    """An item id another SKU holds turned up while SKUs were skipped: the other may be among
    them, unchecked, so the run is redone reading everything (incremental.py)."""


class Ledger:
    """One channel account's slice of the ledger, and its plan for this run.

    Incremental runs (``incremental.py``) set ``candidates``: the SKU fingerprints whose items
    alone can have left (the rest were skipped as unchanged, or read and so seen), and
    ``skipped``, the SKUs skipped; ``guard`` makes an id held by another SKU redo the run."""

    _count = 0  # numbers each ledger's TEMP tables: several channels plan on one connection

    def __init__(
        self, store: Store, channel: str, account: str, now: datetime, reassert_after: timedelta
    ) -> None:
        self.store, self.db, self.channel, self.account = store, store.db, channel, account
        utc = now.astimezone(UTC)  # stored times compare as text: keep one zone
        self.now, self.cutoff = utc.isoformat(), (utc - reassert_after).isoformat()
        self.unchanged = self.considered = 0
        self.guard = False
        self.candidates: Iterable[int] | None = None
        self.skipped: Iterable[int] = ()
        self.gone_skus: list[int] = []  # fingerprints of the SKUs gone() found
        Ledger._count += 1
        n = Ledger._count
        self.plan, self.seen, self.held = f"temp.plan_{n}", f"temp.seen_{n}", f"temp.held_{n}"
        self.db.execute(
            f"CREATE TABLE {self.plan} (stream TEXT, key TEXT, sku TEXT, action TEXT,"
            " hash TEXT, payload TEXT, done INTEGER NOT NULL DEFAULT 0,"
            " PRIMARY KEY (stream, key))"
        )
        self.db.execute(
            f"CREATE TABLE {self.seen} (stream TEXT, key TEXT, PRIMARY KEY (stream, key))"
        )
        self.db.execute(f"CREATE TABLE {self.held} (sku TEXT PRIMARY KEY)")

    def _row(self, stream: str, key: str) -> tuple[Any, ...] | None:
        found: tuple[Any, ...] | None = self.db.execute(
            "SELECT acked_hash, last_pushed_at, status, sku_fp FROM push_ledger WHERE channel = ? "
            "AND account = ? AND stream = ? AND sku = ?", (self.channel, self.account, stream, key),
        ).fetchone()  # fmt: skip
        return found

    def consider(self, item: PushItem) -> None:
        """Plan ``item`` (``unchanged`` items are only remembered as seen)."""
        digest = payload_hash(item.payload)
        self.considered += 1
        self.db.execute(f"INSERT OR IGNORE INTO {self.seen} VALUES (?, ?)", (item.stream, item.key))
        row = self._row(item.stream, item.key)
        if self.guard and row and row[2] != "deleted" and row[3] != sku_fp(item.sku):
            raise OwnerChanged(f"{item.stream}/{item.key} changes SKU")
        action = _action(row, digest, self.cutoff)
        if action == "unchanged":
            self.unchanged += 1
        else:
            self._plan(item, action, digest)

    def hold(self, sku: str) -> None:
        """The SKU is still in the catalogue but not valid this run: keep what the channel has
        (a typo must not delete a product) rather than treat it as gone."""
        self.db.execute(f"INSERT OR IGNORE INTO {self.held} VALUES (?)", (sku,))

    def hold_item(self, stream: str, key: str) -> None:
        """One item of a valid SKU stays as the channel has it, the SKU's other items planned
        as usual (Ozon withholds a price its account cannot take and sends the stock): seen,
        so not gone, and nothing planned — it keeps its acknowledgement and still counts as
        held by the channel."""
        self.db.execute(f"INSERT OR IGNORE INTO {self.seen} VALUES (?, ?)", (stream, key))

    def _plan(self, item: PushItem, action: str, digest: str) -> None:
        payload = json.dumps(item.payload, sort_keys=True, ensure_ascii=False)
        self.db.execute(
            f"INSERT OR REPLACE INTO {self.plan} VALUES (?, ?, ?, ?, ?, ?, 0)",
            (item.stream, item.key, item.sku, action, digest, payload),
        )

    def gone(self) -> list[tuple[str, str, str]]:
        """(stream, key, sku) of items the channel holds that this run neither saw nor held."""
        among, index = "", ""
        if self.candidates is not None:
            among = f" AND sku_fp IN (SELECT fp FROM {self.plan}_among)"
            index = " INDEXED BY push_ledger_sku"  # SQLite would walk the whole account
            self.db.execute(f"CREATE TABLE {self.plan}_among (fp INTEGER PRIMARY KEY)")
            self.db.executemany(
                f"INSERT OR IGNORE INTO {self.plan}_among VALUES (?)", zip(self.candidates)
            )
        rows = self.db.execute(
            f"SELECT stream, sku, desired, sku_fp FROM push_ledger l{index} WHERE {_OWNED}{among}"
            f" AND NOT EXISTS (SELECT 1 FROM {self.seen} s WHERE s.stream = l.stream AND "
            "s.key = l.sku) ORDER BY stream, sku", (self.channel, self.account),
        ).fetchall()  # fmt: skip
        held = {sku for (sku,) in self.db.execute(f"SELECT sku FROM {self.held}")}
        skipped = {fp for *_, fp in rows}.intersection(self.skipped)  # present, just not read
        found = [
            (s, key, json.loads(desired).get("__sku", key), fp)
            for s, key, desired, fp in rows
            if fp not in skipped
        ]
        self.gone_skus = [fp for *_, fp in found]
        return [(s, key, sku) for s, key, sku, _ in found if sku not in held]

    def must_read(self) -> set[int]:
        """SKUs to read whatever their inputs: an item not acknowledged as last planned
        (failed, deferred, in flight), or due for reassertion."""
        unsettled = ", ".join(f"'{status}'" for status in UNSETTLED)
        rows = self.db.execute(
            f"SELECT sku_fp FROM push_ledger INDEXED BY push_ledger_status WHERE channel = ? AND "
            f"account = ? AND status IN ({unsettled}) UNION ALL SELECT sku_fp FROM push_ledger "
            "INDEXED BY push_ledger_status WHERE channel = ? AND account = ? AND status = 'acked' "
            "AND last_pushed_at < ?",
            (self.channel, self.account, self.channel, self.account, self.cutoff),
        )  # the index, named: without statistics SQLite would walk the whole account instead
        return {fp for (fp,) in rows}

    def live(self) -> int:
        """Items the channel holds (for the removal gate)."""
        count: int = self.db.execute(
            "SELECT count(*) FROM push_ledger WHERE channel = ? AND account = ? AND status != "
            "'deleted'", (self.channel, self.account)).fetchone()[0]  # fmt: skip
        return count

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

    def planned(self, done: bool | None = None) -> list[tuple[PushItem, str]]:
        """Planned items and their actions in stream and key order; ``done=False``: only those
        no request has carried yet."""
        where = "action != 'forget'" + ("" if done is None else f" AND done = {int(done)}")
        rows = self.db.execute(
            f"SELECT stream, key, sku, action, payload FROM {self.plan} "
            f"WHERE {where} ORDER BY stream, key"
        ).fetchall()
        return [(PushItem(s, key, sku, json.loads(p)), action) for s, key, sku, action, p in rows]

    def batches(self, stream: str, size: int) -> Iterator[list[PushItem]]:
        """The stream's planned items, ``size`` at a time. Keyset pages, so no cursor stays open
        while results are committed."""
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

    def sending(self, batch: list[PushItem]) -> None:
        """Before a request: nothing of it counts as acknowledged until its answer is read."""
        with self.store.transaction():
            self._write(batch, ["sending"] * len(batch), [None] * len(batch))

    def record(self, batch: list[PushItem], results: list[ItemResult]) -> list[ItemResult]:
        """Write one request's outcome; returns the failures (items without a verdict too)."""
        verdicts = {r.key: r for r in results}
        found = [
            verdicts.get(item.key) or ItemResult(item.key, False, "the channel's answer omitted it")
            for item in batch
        ]
        with self.store.transaction():
            statuses = ["acked" if v.ok else "failed" for v in found]
            self._write(batch, statuses, [v.error for v in found])
        return [v for v in found if not v.ok]

    def defer(self, batch: list[PushItem], reason: str) -> None:
        with self.store.transaction():
            self._write(batch, ["deferred"] * len(batch), [reason] * len(batch))

    def _write(self, batch: list[PushItem], statuses: list[str], errors: list[str | None]) -> None:
        """One request's items, in three statements whatever its size."""
        pairs = json.dumps([[item.stream, item.key] for item in batch], ensure_ascii=False)
        planned = {
            (stream, key): (action, digest)
            for stream, key, action, digest in self.db.execute(
                f"SELECT stream, key, action, hash FROM {self.plan} WHERE (stream, key) IN "
                f"({_PAIRS})", (pairs,),
            )
        }  # fmt: skip
        rows = [
            self._entry(item, *planned[item.stream, item.key], status, error)
            for item, status, error in zip(batch, statuses, errors, strict=True)
        ]
        self.db.executemany(_UPSERT, rows)
        if statuses and statuses[0] != "sending":
            self.db.execute(
                f"UPDATE {self.plan} SET done = 1 WHERE (stream, key) IN ({_PAIRS})", (pairs,)
            )

    def _entry(
        self, item: PushItem, action: str, digest: str, status: str, error: str | None
    ) -> tuple[Any, ...]:
        """The ledger row of ``item`` after this outcome."""
        if action == "delete" and status == "acked":
            status = "deleted"
        assert status in (*UNSETTLED, "acked", "deleted")  # must_read() must know each status
        acked = digest if status in ("acked", "deleted") else None
        desired = json.dumps(
            {**item.payload, "__sku": item.sku}, sort_keys=True, ensure_ascii=False
        )
        error = redact(error) if error else None  # an answer's body may echo a token
        return (
            self.channel, self.account, item.stream, item.key, digest, acked, desired,
            self.now if acked else None, status, error, sku_fp(item.sku),
        )  # fmt: skip

    def forget(self) -> None:
        """Items that left and needed no call are recorded as deleted."""
        with self.store.transaction():
            self.db.execute(
                "UPDATE push_ledger SET status = 'deleted' WHERE channel = ? AND account = ? AND "
                f"(stream, sku) IN (SELECT stream, key FROM {self.plan} WHERE action = 'forget')",
                (self.channel, self.account),
            )


def _action(row: tuple[Any, ...] | None, digest: str, cutoff: str) -> str:
    """create: never acknowledged (or deleted); update: acknowledged something else;
    reassert: acknowledged this, but before ``cutoff``; else unchanged."""
    if row is None or row[2] == "deleted":
        return "create"
    acked, pushed_at = row[0], row[1]
    if acked is None:
        return "create" if pushed_at is None else "update"
    if acked != digest:
        return "update"
    return "reassert" if (pushed_at or "") < cutoff else "unchanged"
