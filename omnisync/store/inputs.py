"""What each channel account remembers of the catalogue's input rows (incremental planning).

Per (channel, account): a digest (config, code and file headers it holds for) and, per SKU in
file order, its fingerprint, its input rows' print, the items it gave and its item id's
fingerprint (as the channel compares ids); plus the residue, the
SKUs whose ledger items must be looked at every run (docs/architecture.md, "Incremental
planning"). A run that plans for an account forgets its memory before anything can change the
ledger, and writes a new one only once every push is recorded, so a crash leaves no memory and
the next run reads everything.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass
from typing import Any

from omnisync.store.db import Store


@dataclass
class Remembered:
    skus: array[int]
    prints: array[int]
    counts: array[int]
    ids: array[int]
    residue: array[int]


def load(store: Store, channel: str, account: str, digest: str) -> Remembered | None:
    """The account's memory when it was written for ``digest``; else None."""
    found = _column(store, channel, account, "digest")
    if found != digest:
        return None
    arrays = []
    for name, code in (("skus", "q"), ("prints", "Q"), ("counts", "B"), ("ids", "q"),
                       ("residue", "q")):  # fmt: skip
        arrays.append(array(code, _column(store, channel, account, name)))  # one blob at a time
    return Remembered(*arrays)


def _column(store: Store, channel: str, account: str, name: str) -> Any:
    row = store.db.execute(
        f"SELECT {name} FROM push_inputs WHERE channel = ? AND account = ?", (channel, account)
    ).fetchone()
    return None if row is None else row[0]


def forget(store: Store, channel: str, account: str) -> None:
    with store.transaction():
        store.db.execute(
            "DELETE FROM push_inputs WHERE channel = ? AND account = ?", (channel, account)
        )


def save(store: Store, channel: str, account: str, digest: str, memory: Remembered) -> None:
    parts = (memory.skus, memory.prints, memory.counts, memory.ids, memory.residue)
    blobs = [memoryview(part) for part in parts]  # no copy of a few megabytes
    with store.transaction():
        store.db.execute(
            "INSERT OR REPLACE INTO push_inputs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (channel, account, digest, *blobs),
        )
