"""Push payloads as the ledger keeps them: canonical JSON text and its XXH64 hash, the same
whether the engine built the payload as a column (``engine.ozon``, ``engine.satu``) or a
channel built it per item (``Pushes.push_items``)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from typing import Any

import polars_hash  # noqa: F401 (registers the ``nchash`` namespace on expressions)

from omnisync.engine import pl


def canonical(payload: Mapping[str, Any]) -> str:
    """The payload as the text its hash is of: keys sorted, no spaces, UTF-8 as is."""
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def hashes(texts: pl.Expr) -> pl.Expr:
    """XXH64 (seed 0) of each text, in decimal: polars-hash's, which the XXH64 specification
    pins across versions (never Polars' own ``hash()``, which may change with a release;
    tests/test_ledger_plan.py holds it to the specification's known values)."""
    return texts.nchash.xxhash64().cast(pl.String)  # type: ignore[attr-defined,no-any-return]


def payload_hashes(payloads: Iterable[Mapping[str, Any]]) -> list[str]:
    texts = pl.Series("payload", [canonical(p) for p in payloads], dtype=pl.String)
    return pl.select(hashes(pl.lit(texts))).to_series().to_list()


def rehash(db: sqlite3.Connection) -> None:
    """Migration 11: every item's hashes recomputed as ``hashes`` makes them, from the payload
    last planned (``desired``, less its ``__sku``). An acknowledged hash is recomputed only
    where it was of that payload: another (an older payload, not acknowledged since) can only
    differ, and stays as it was, so that item is sent again, as it would have been."""
    last: tuple[str, ...] = ("", "", "", "")
    while True:  # keyset pages: no cursor stays open on the rows being updated
        rows = db.execute(
            "SELECT channel, account, stream, sku, desired, acked_hash = desired_hash FROM "
            "push_ledger WHERE (channel, account, stream, sku) > (?, ?, ?, ?) "
            "ORDER BY channel, account, stream, sku LIMIT 50000", last,
        ).fetchall()  # fmt: skip
        if not rows:
            return
        digests = payload_hashes(_payload(row[4]) for row in rows)
        db.executemany(
            "UPDATE push_ledger SET desired_hash = ?, acked_hash = CASE WHEN ? THEN ? "
            "ELSE acked_hash END WHERE channel = ? AND account = ? AND stream = ? AND sku = ?",
            [(d, row[5], d, *row[:4]) for d, row in zip(digests, rows, strict=True)],
        )
        last = tuple(rows[-1][:4])


def _payload(desired: str) -> dict[str, Any]:
    payload = json.loads(desired)
    payload.pop("__sku", None)
    return dict(payload)
