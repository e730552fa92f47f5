"""Opening the central store: WAL mode, foreign keys, migrations to the current version."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from omnisync.errors import ConfigError
from omnisync.fingerprint import sku_fp
from omnisync.store.schema import MIGRATIONS


class Store:
    """A connection to one state file. Writes go through ``transaction()``."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self.db, self.path = connection, path
        # migration 8 and the ledger key items by their SKU's stable fingerprint
        connection.create_function("omnisync_sku_fp", 1, _sku_fp, deterministic=True)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE … COMMIT, or ROLLBACK on any error: all of it or none of it."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    @property
    def version(self) -> int:
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    def close(self) -> None:
        self.db.close()


def _sku_fp(sku: str | None) -> int | None:
    return None if sku is None else sku_fp(sku)


def open_store(path: Path, readonly: bool = False) -> Store:
    """Open (creating if needed) and migrate the state file at ``path``.

    ``readonly`` (dry runs) never creates or changes the file: a missing file is an empty
    in-memory store, and TEMP tables still work for planning.
    """
    if readonly:
        return _readonly(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, isolation_level=None, timeout=30)
    connection.execute("PRAGMA journal_mode = WAL")  # readers never block the writer
    connection.execute("PRAGMA synchronous = NORMAL")  # durable at each WAL checkpoint
    store = Store(connection, path)
    _migrate(store)
    return store


@contextmanager
def stored(path: Path, readonly: bool = False) -> Iterator[Store]:
    """``open_store`` for a block; closed however the block ends."""
    store = open_store(path, readonly)
    try:
        yield store
    finally:
        store.close()


def _readonly(path: Path) -> Store:
    if not path.exists():
        store = Store(sqlite3.connect(":memory:", isolation_level=None), path)
        _migrate(store)
        return store
    uri = f"{path.resolve().as_uri()}?mode=ro"
    store = Store(sqlite3.connect(uri, uri=True, isolation_level=None, timeout=30), path)
    if store.version != len(MIGRATIONS):
        raise ConfigError(
            str(path),
            [
                (
                    "state",
                    "the state file needs a migration: run a "
                    "command that writes (push, catalog import) first",
                )
            ],
        )
    return store


def _migrate(store: Store) -> None:
    version = store.version
    if version > len(MIGRATIONS):
        raise ConfigError(
            str(store.path),
            [
                (
                    "state",
                    f"the state file is at schema version "
                    f"{version}, newer than this omnisync ({len(MIGRATIONS)}); upgrade",
                )
            ],
        )
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        with store.transaction() as db:
            for statement in _statements(script):
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {number}")


def _statements(script: str) -> list[str]:
    """Split a migration script into statements (executescript would commit on its own)."""
    statements, current = [], []
    for line in script.splitlines():
        current.append(line.split("--", 1)[0])
        if line.split("--", 1)[0].rstrip().endswith(";"):
            statements.append("\n".join(current).strip())
            current = []
    return [s for s in statements if s.strip(" ;\n")]
