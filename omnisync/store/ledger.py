"""The push ledger: what each channel account last acknowledged, and this run's plan.

Per (channel, account, stream, key): the desired payload and its hash, the acknowledged hash,
the last push time (UTC), a status and the last error. Planning is a table operation: a run's
items come as frames of (stream, key, sku, payload) — the engine's plain rows a stretch at a
time (``engine.run.Planned``), the per-item path's gathered ``BATCH`` at a time — each payload
hashed in the engine (``hashes``) and looked up in the account's acknowledged state, loaded
once and sorted; only the changed items cross into Python, to the TEMP plan table, so a dry
run changes nothing durable and a real run streams its batches from there. Items the channel
holds that no frame named and no held SKU keeps have left (``gone``).

Crash safety: before a batch is sent its rows are marked ``sending`` with no acknowledged hash.
If the outcome never arrives (a crash, a lost answer), the next run finds no acknowledgement and
sends the item again — absolute values, so the replay converges. An item is only ever
"unchanged" when the channel acknowledged exactly that payload.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from omnisync.channels.capabilities import ItemResult, PushItem
from omnisync.engine import pl
from omnisync.secrets import redact
from omnisync.store.db import Store
from omnisync.store.payloads import canonical, hashes, payload_hashes

ACTIONS = ("create", "update", "reassert", "delete", "unchanged")
# Ledger statuses besides acked and deleted: the item waits for a verdict or a retry.
UNSETTLED = ("sending", "failed", "deferred", "pending")
BATCH = 5_000  # per-item items hashed and looked up together
_UPSERT = (
    "INSERT INTO push_ledger VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (channel, "
    "account, stream, sku) DO UPDATE SET desired_hash = excluded.desired_hash, acked_hash = "
    "excluded.acked_hash, desired = excluded.desired, last_pushed_at = coalesce("
    "excluded.last_pushed_at, push_ledger.last_pushed_at), status = excluded.status, "
    "error = excluded.error"
)
_PLAN = "INSERT OR REPLACE INTO {} VALUES (?, ?, ?, ?, ?, ?, 0)"
_PAIRS = "SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?)"
# What the ledger knows of each item the account holds, for ``consider_frame``'s action: its
# acknowledged hash and how old that is. ``k``: stream and key in one sortable text (streams
# have no "/").
_ACKED = (
    "SELECT stream || '/' || sku, acked_hash, CASE WHEN acked_hash IS NULL THEN "
    "(last_pushed_at IS NOT NULL) WHEN coalesce(last_pushed_at, '') < ? THEN 2 ELSE 3 END "
    "FROM push_ledger WHERE channel = ? AND account = ? AND status != 'deleted'"
)
# _ACKED's state: never acknowledged; sent without a verdict (failed, deferred, in flight);
# acknowledged before the reassert cutoff; or since (3: unchanged when the hash is the same).
NEVER, SENT, STALE = 0, 1, 2
_ACKED_SCHEMA = {"k": pl.String, "acked": pl.String, "state": pl.Int8}
ITEMS_SCHEMA = {"stream": pl.String, "key": pl.String, "sku": pl.String, "payload": pl.String}


def items_frame(items: Iterable[PushItem]) -> pl.DataFrame:
    rows = [(i.stream, i.key, i.sku, canonical(i.payload)) for i in items]
    return pl.DataFrame(rows, schema=ITEMS_SCHEMA, orient="row")


class Ledger:
    """One channel account's slice of the ledger, and its plan for this run."""

    _count = 0  # numbers each ledger's TEMP table: several channels plan on one connection

    def __init__(
        self, store: Store, channel: str, account: str, now: datetime, reassert_after: timedelta
    ) -> None:
        self.store, self.db, self.channel, self.account = store, store.db, channel, account
        utc = now.astimezone(UTC)  # stored times compare as text: keep one zone
        self.now, self.cutoff = utc.isoformat(), (utc - reassert_after).isoformat()
        self.unchanged = self.considered = 0
        self._acked: pl.DataFrame | None = None
        self._named: list[pl.Series] = []  # rows of ``acked()`` this run's items named
        self._kept: list[str] = []  # ``k`` of items held as the channel has them
        self._pending: list[PushItem] = []
        self._held: set[str] = set()  # SKUs still listed but not valid this run
        Ledger._count += 1
        self.plan = f"temp.plan_{Ledger._count}"
        self.db.execute(
            f"CREATE TABLE {self.plan} (stream TEXT, key TEXT, sku TEXT, action TEXT,"
            " hash TEXT, payload TEXT, done INTEGER NOT NULL DEFAULT 0,"
            " PRIMARY KEY (stream, key))"
        )

    def acked(self) -> pl.DataFrame:
        """The account's items (``_ACKED``), sorted by ``k``; read once, on first use."""
        if self._acked is None:
            cursor = self.db.execute(_ACKED, (self.cutoff, self.channel, self.account))
            parts = [pl.DataFrame(rows, schema=_ACKED_SCHEMA, orient="row")
                     for rows in iter(lambda: cursor.fetchmany(100_000), [])]  # fmt: skip
            whole = pl.concat(parts) if parts else pl.DataFrame(schema=_ACKED_SCHEMA)
            self._acked = whole.sort("k")
        return self._acked

    def consider(self, item: PushItem) -> None:
        """Plan ``item`` with the next ``BATCH`` (``settle`` plans what is left)."""
        self._pending.append(item)
        if len(self._pending) >= BATCH:
            self.settle()

    def settle(self) -> None:
        if self._pending:
            items, self._pending = self._pending, []
            self.consider_frame(items_frame(items))

    def consider_frame(self, items: pl.DataFrame) -> None:
        """Plan a frame of items (``ITEMS_SCHEMA``): each payload's hash compared with what
        the account acknowledged (a binary search of the sorted keys); the changed items go
        to the plan table, the rest are counted."""
        acked = self.acked()
        key = pl.concat_str([pl.col("stream"), pl.lit("/"), pl.col("key")])
        found = items.with_columns(key.alias("k"), hashes(pl.col("payload")).alias("hash"))
        at = acked["k"].search_sorted(found["k"]).clip(upper_bound=max(acked.height - 1, 0))
        known = acked.select(pl.all().gather(at)) if acked.height else acked.clear(found.height)
        hit = (known["k"] == found["k"]).fill_null(False)
        self._named.append(at.filter(hit))
        state, acked_hash = pl.col("state"), pl.col("acked")
        action = (
            pl.when(state.is_null() | (state == NEVER)).then(pl.lit("create"))
            .when((state == SENT) | (acked_hash != pl.col("hash"))).then(pl.lit("update"))
            .when(state == STALE).then(pl.lit("reassert"))
            .otherwise(pl.lit("unchanged"))
        )  # fmt: skip
        planned = found.with_columns(
            pl.when(hit).then(known["state"]).alias("state"),
            pl.when(hit).then(known["acked"]).alias("acked"),
        ).select("stream", "key", "sku", action.alias("action"), "hash", "payload")
        changed = planned.filter(pl.col("action") != "unchanged")
        self.considered += found.height
        self.unchanged += found.height - changed.height
        self.db.executemany(_PLAN.format(self.plan), changed.iter_rows())

    def hold(self, sku: str) -> None:
        """The SKU is still in the catalogue but not valid this run: keep what the channel has
        (a typo must not delete a product) rather than treat it as gone."""
        self._held.add(sku)

    def hold_item(self, stream: str, key: str) -> None:
        """One item of a valid SKU stays as the channel has it, the SKU's other items planned
        as usual (Ozon withholds a price its account cannot take and sends the stock): named,
        so not gone, and nothing planned — it keeps its acknowledgement and still counts as
        held by the channel."""
        self._kept.append(f"{stream}/{key}")

    def gone(self) -> list[tuple[str, str, str]]:
        """(stream, key, sku) of items the channel holds that this run neither named nor
        held, in stream and key order."""
        self.settle()
        acked = self.acked().with_row_index("at")
        named = pl.concat([pl.Series("at", [], pl.UInt32), *self._named])
        left = acked.filter(~pl.col("at").is_in(named.implode()) & ~pl.col("k").is_in(self._kept))
        pairs = [k.split("/", 1) for k in left["k"].to_list()]
        if not pairs:
            return []
        rows = self.db.execute(
            "SELECT stream, sku, desired FROM push_ledger WHERE channel = ? AND account = ? AND "
            f"(stream, sku) IN ({_PAIRS}) ORDER BY stream, sku",
            (self.channel, self.account, json.dumps(pairs, ensure_ascii=False)),
        ).fetchall()
        found = [(s, key, json.loads(desired).get("__sku", key)) for s, key, desired in rows]
        return [(s, key, sku) for s, key, sku in found if sku not in self._held]

    def live(self) -> int:
        """Items the channel holds (for the removal gate)."""
        count: int = self.db.execute(
            "SELECT count(*) FROM push_ledger WHERE channel = ? AND account = ? AND status != "
            "'deleted'", (self.channel, self.account)).fetchone()[0]  # fmt: skip
        return count

    def plan_removals(self, removals: list[tuple[PushItem | None, str, str]]) -> None:
        """(item, stream, key) of items that left: ``item`` is what removes it (zero stock, a
        delete), or None when nothing needs sending (forgotten once this run is recorded)."""
        sent = [item for item, _, _ in removals if item is not None]
        digests = iter(payload_hashes(item.payload for item in sent))
        rows = [
            (stream, key, key, "forget", "", "{}") if item is None
            else (stream, key, item.sku, "delete", next(digests), canonical(item.payload))
            for item, stream, key in removals
        ]  # fmt: skip
        self.db.executemany(_PLAN.format(self.plan), rows)

    def counts(self) -> dict[str, int]:
        self.settle()
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
        self.settle()
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
            self.now if acked else None, status, error,
        )  # fmt: skip

    def forget(self) -> None:
        """Items that left and needed no call are recorded as deleted."""
        with self.store.transaction():
            self.db.execute(
                "UPDATE push_ledger SET status = 'deleted' WHERE channel = ? AND account = ? AND "
                f"(stream, sku) IN (SELECT stream, key FROM {self.plan} WHERE action = 'forget')",
                (self.channel, self.account),
            )
