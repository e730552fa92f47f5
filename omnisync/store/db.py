"""Opening the central store: WAL mode, foreign keys, migrations to the current version.

A state file that cannot be used — not a database, damaged, another program's database, a
directory, not readable or writable — is a :class:`~omnisync.errors.StateUnusable` (exit 2)
naming the file and what to do, not a crash.

omnisync marks its state files with SQLite's ``application_id`` (the header field for saying
which program a file belongs to: https://www.sqlite.org/pragma.html#pragma_application_id), so
another program's database named as ``state:`` is refused before anything is written to it."""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from omnisync.errors import ConfigError, StateUnusable
from omnisync.store.payloads import rehash
from omnisync.store.schema import MIGRATIONS

# SQLite's primary result codes (https://www.sqlite.org/rescode.html) that say the file itself
# cannot be used; others (busy, full, I/O) are not about the file and pass through as they are.
_DAMAGED = {sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT}
_REFUSED = {sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM, sqlite3.SQLITE_READONLY}
_ACCESS = "give the user running omnisync read and write access to it and its folder"
# "OMNS": the application_id of every state file omnisync creates or migrates.
APPLICATION_ID = 0x4F4D4E53
# Stores written before omnisync set its application_id were at most at this schema version:
# one of them (no mark, omnisync's tables) is adopted and marked; any later version is marked.
UNMARKED_UP_TO = 10
# What a migration needs done in Python, in its transaction, after its script.
AFTER = {11: rehash}
_FOREIGN = "point state: in the config at omnisync's own state file, or at a new path to start one"


class Store:
    """A connection to one state file. Writes go through ``transaction()``."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self.db, self.path = connection, path
        # migration 8 filled a column of SKU fingerprints, which migration 11 drops
        connection.create_function("omnisync_sku_fp", 1, lambda sku: None, deterministic=True)

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

    @property
    def application_id(self) -> int:
        return int(self.db.execute("PRAGMA application_id").fetchone()[0])

    def close(self) -> None:
        self.db.close()


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
            store = Store(connection, path)
            _check_owner(store)  # before WAL mode: that changes the file's header
            connection.execute("PRAGMA journal_mode = WAL")  # readers never block the writer
            connection.execute("PRAGMA synchronous = NORMAL")  # durable at each WAL checkpoint
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
    """``open_store`` for a block; closed however the block ends. Damage SQLite finds only
    when a query reaches the broken pages is named as the state file's too (exit 2)."""
    store = open_store(path, readonly)
    try:
        with _explained(path):
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
            _check_owner(store)
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
    if store.application_id != APPLICATION_ID:  # new, or from before the mark (_check_owner)
        with store.transaction() as db:
            db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        with store.transaction() as db:
            for statement in _statements(script):
                db.execute(statement)
            if number in AFTER:
                AFTER[number](db)
            db.execute(f"PRAGMA user_version = {number}")


def _check_owner(store: Store) -> None:
    """Refuse a database that is not omnisync's before anything is written to it: one marked by
    another program, or one that holds tables without omnisync's mark — unless it is a store
    from before the mark (a schema version omnisync had, and every table those versions make).
    A file without tables (new, 0 bytes) becomes a state file."""
    owner, version = store.application_id, store.version
    if owner == APPLICATION_ID:
        return
    if owner != 0:
        problem = f"is another program's SQLite database (its application_id is {owner:#010x})"
        raise StateUnusable(str(store.path), problem, _FOREIGN)
    rows = store.db.execute(
        "SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
    )
    names = {str(name) for (name,) in rows}
    if not names:
        return
    if 0 < version <= UNMARKED_UP_TO and _tables_of(version) <= names:
        return  # an omnisync store from before the mark: _migrate marks it
    problem = "is another program's SQLite database: it holds tables omnisync did not make"
    raise StateUnusable(str(store.path), problem, _FOREIGN)


def _tables_of(version: int) -> set[str]:
    """The tables the migrations up to ``version`` create (none up to ``UNMARKED_UP_TO``
    drops one)."""
    scripts = "\n".join(MIGRATIONS[:version])
    return set(re.findall(r"CREATE TABLE (\w+)", scripts))


def _statements(script: str) -> list[str]:
    """Split a migration script into statements (executescript would commit on its own)."""
    statements, current = [], []
    for line in script.splitlines():
        current.append(line.split("--", 1)[0])
        if line.split("--", 1)[0].rstrip().endswith(";"):
            statements.append("\n".join(current).strip())
            current = []
    return [s for s in statements if s.strip(" ;\n")]
