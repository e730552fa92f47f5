"""The ledger's payload hash and its migration: XXH64 by its specification's known values, the
same text whichever side builds it, and a ledger from before it that re-sends nothing."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from omnisync.channels.capabilities import PushItem
from omnisync.engine import pl
from omnisync.store.db import UNMARKED_UP_TO, open_store
from omnisync.store.ledger import Ledger
from omnisync.store.payloads import canonical, hashes, payload_hashes
from omnisync.store.schema import MIGRATIONS

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def test_the_hash_is_xxh64_by_its_known_values() -> None:
    """The XXH64 specification's values for seed 0 (github.com/Cyan4973/xxHash): an upgrade
    of the plugin that changed them would make every item look changed."""
    found = pl.select(hashes(pl.lit(pl.Series(["", "abc"])))).to_series().to_list()
    assert found == [str(0xEF46DB3751D8E999), str(0x44BC2CF5AD770999)]


@given(st.dictionaries(st.text(), st.integers() | st.text() | st.none(), max_size=4))
def test_a_payload_hashes_as_its_canonical_text(payload: dict[str, object]) -> None:
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert canonical(payload) == text
    assert payload_hashes([payload]) == pl.select(hashes(pl.lit(text))).to_series().to_list()


def _old_hash(payload: dict[str, object]) -> str:
    """What omnisync hashed payloads with before migration 11."""
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


def test_a_ledger_from_before_migration_11_sends_again_only_what_it_would_have(
    tmp_path: Path,
) -> None:
    """An acknowledged item keeps its acknowledgement under the new hash (a million SKUs must
    not all be sent again after an upgrade); one whose last plan was never acknowledged is
    still sent."""
    state = tmp_path / "state.db"
    connection = sqlite3.connect(state)
    connection.create_function("omnisync_sku_fp", 1, lambda sku: None)  # migration 8's
    for script in MIGRATIONS[:UNMARKED_UP_TO]:
        connection.executescript(script)
    connection.execute(f"PRAGMA user_version = {UNMARKED_UP_TO}")
    acked = {"offer_id": "A", "stock": 3}
    failed, before = {"offer_id": "B", "stock": 4}, {"offer_id": "B", "stock": 1}
    rows = [
        ("A", acked, _old_hash(acked), "acked"),
        ("B", failed, _old_hash(before), "failed"),
    ]
    for sku, payload, acked_hash, status in rows:
        connection.execute(
            "INSERT INTO push_ledger VALUES ('ozon', '1', 'stock', ?, ?, ?, ?, ?, ?, NULL, 0)",
            (sku, _old_hash(payload), acked_hash, json.dumps({**payload, "__sku": sku}),
             "2026-06-01T11:00:00+00:00", status),
        )  # fmt: skip
    connection.commit()
    connection.close()
    store = open_store(state)
    try:
        assert store.version == len(MIGRATIONS)
        ledger = Ledger(store, "ozon", "1", NOW, timedelta(hours=24))
        ledger.consider(PushItem("stock", "A", "A", acked))
        ledger.consider(PushItem("stock", "B", "B", failed))
        counts = ledger.counts()
        assert (counts["unchanged"], counts["update"]) == (1, 1)
        assert [item.key for item, _ in ledger.planned()] == ["B"]
    finally:
        store.close()
