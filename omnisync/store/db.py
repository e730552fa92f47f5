"""Opening the central store: WAL mode, foreign keys, migrations to the current version.

A state file that cannot be used — not a database, damaged, a directory, not readable or
writable — is a :class:`~omnisync.errors.StateUnusable` (exit 2) naming the file and what to do,
not a crash."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from omnisync.errors import ConfigError, StateUnusable
from omnisync.fingerprint import sku_fp
from omnisync.store.schema import MIGRATIONS

# SQLite's primary result codes (https://www.sqlite.org/rescode.html) that say the file itself
# cannot be used; others (busy, full, I/O) are not about the file and pass through as they are.
_DAMAGED = {sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT}
_REFUSED = {sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM, sqlite3.SQLITE_READONLY}
_ACCESS = "give the user running omnisync read and write access to it and its folder"


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
    if path.is_dir():
        raise StateUnusable(
            str(path),
            "is a directory, not a state file",
            "point state: in the config at a file, or move the directory away",
        )
    if readonly:
        return _readonly(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _writable(path)
    with _explained(path):
        connection = sqlite3.connect(path, isolation_level=None, timeout=30)
        try:
            connection.execute("PRAGMA journal_mode = WAL")  # readers never block the writer
            connection.execute("PRAGMA synchronous = NORMAL")  # durable at each WAL checkpoint
            store = Store(connection, path)
            _migrate(store)
        except BaseException:
            connection.close()
            raise
    return store


def _writable(path: Path) -> None:
    """SQLite opens a file it may only read without complaint and fails at the first write,
    mid-run: this user must read and write the file, and create its -wal and -shm beside it."""
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        raise StateUnusable(str(path), "permission denied: omnisync reads and writes it", _ACCESS)
    if not os.access(path.parent, os.W_OK | os.X_OK):
        problem = f"permission denied: SQLite keeps its -wal and -shm files in {path.parent}"
        raise StateUnusable(str(path), problem, _ACCESS)


@contextmanager
def _explained(path: Path) -> Iterator[None]:
    """SQLite's refusal of the file itself, as what the user can do about it."""
    try:
        yield
    except sqlite3.DatabaseError as exc:
        code = getattr(exc, "sqlite_errorcode", 0) & 0xFF  # the primary of an extended code
        if code in _DAMAGED:
            raise StateUnusable(
                str(path),
                f"is not an omnisync state file, or is damaged ({exc})",
                "restore it from a backup, or move it away and a new one is started (what it "
                "remembered of pushes, orders and runs is then gone)",
            ) from None
        if code in _REFUSED:
            raise StateUnusable(str(path), f"cannot be opened ({exc})", _ACCESS) from None
        raise


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
    with _explained(path):
        store = Store(sqlite3.connect(uri, uri=True, isolation_level=None, timeout=30), path)
        try:
            version = store.version
        except BaseException:
            store.close()
            raise
    if version != len(MIGRATIONS):
        store.close()
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
