"""A state file that cannot be used — random bytes, a directory in its place, no permission —
ends the command with exit 2 and one line naming the file and what to do, never "a bug"."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from subprocess import CompletedProcess

import pytest
from conftest import Workspace, good_row

from omnisync.store.db import APPLICATION_ID, UNMARKED_UP_TO
from omnisync.store.schema import MIGRATIONS

READERS = ("status",)  # open the state read-only
WRITERS = ("build", "catalog import")  # open it to record their run


def run(root: Path, command: str, prefix: list[str] | None = None) -> CompletedProcess[str]:
    """``python -m omnisync COMMAND -c omnisync.yaml`` in ``root`` (behind ``prefix``)."""
    return subprocess.run(
        [*(prefix or []), sys.executable, "-m", "omnisync", *command.split(), "-c",
         "omnisync.yaml"],
        capture_output=True, text=True, encoding="utf-8", cwd=root, timeout=120,
    )  # fmt: skip


def one_line(proc: CompletedProcess[str], state: Path) -> str:
    """The one error line's message (status logs JSON off a terminal: it has no --log-format)."""
    assert proc.returncode == 2, proc.stderr
    (line,) = proc.stderr.splitlines()
    message = json.loads(line)["message"] if line.startswith("{") else line.removeprefix("error: ")
    assert message.startswith(f"{state}: ") and "a bug in omnisync" not in message, line
    return str(message)


@pytest.fixture
def state(workspace: Workspace) -> Path:
    """A valid workspace whose config keeps its state in state.db (not created yet)."""
    workspace.write_products([good_row()])
    text = workspace.write_config().read_text(encoding="utf-8")
    workspace.config_path.write_text(text + "state: state.db\n", encoding="utf-8")
    return workspace.root / "state.db"


@pytest.mark.parametrize("command", READERS + WRITERS)
def test_random_bytes_in_the_state_file(state: Path, command: str) -> None:
    state.write_bytes(os.urandom(8192))
    line = one_line(run(state.parent, command), state)
    assert "is not an omnisync state file, or is damaged" in line
    assert "restore it from a backup, or move it away" in line


@pytest.mark.parametrize("command", READERS + WRITERS)
def test_damage_inside_the_state_file_is_named_when_a_query_meets_it(
    state: Path, command: str
) -> None:
    """The header is whole, so the file opens; SQLite finds the damage only when a query
    reaches the broken pages ("database disk image is malformed"), in the middle of a run."""
    for _ in range(3):  # runs, problems and channels: pages past the first
        assert run(state.parent, "build").returncode == 0
    data = bytearray(state.read_bytes())
    assert len(data) > 16384, len(data)
    for at in range(8192, len(data), 7):
        data[at] = 0xFF
    state.write_bytes(bytes(data))
    line = one_line(run(state.parent, command), state)
    assert "is not an omnisync state file, or is damaged" in line
    assert state.read_bytes() == bytes(data)  # nothing was written to it


@pytest.mark.parametrize("command", READERS + WRITERS)
def test_a_directory_in_place_of_the_state_file(state: Path, command: str) -> None:
    state.mkdir()
    line = one_line(run(state.parent, command), state)
    assert "is a directory, not a state file; point state: in the config at a file" in line


def unprivileged() -> list[str]:
    """How to run a command under ordinary file permissions: root reads and writes any file
    (CAP_DAC_OVERRIDE), so as root the command runs without those two capabilities."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv (util-linux) to drop CAP_DAC_OVERRIDE")
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]


@pytest.fixture
def created(state: Path) -> Iterator[Path]:
    """The state file, made by a first build; its folder's permissions restored after."""
    assert run(state.parent, "build").returncode == 0
    yield state
    state.parent.chmod(0o755)
    state.chmod(0o644)


@pytest.mark.parametrize("command", READERS + WRITERS)
def test_a_state_file_this_user_may_not_read(created: Path, command: str) -> None:
    created.chmod(0)
    line = one_line(run(created.parent, command, prefix=unprivileged()), created)
    assert "give the user running omnisync read and write access to it and its folder" in line


@pytest.mark.parametrize("command", WRITERS)
def test_a_state_file_this_user_may_only_read(created: Path, command: str) -> None:
    created.chmod(0o444)
    line = one_line(run(created.parent, command, prefix=unprivileged()), created)
    assert "permission denied: omnisync reads and writes it" in line
    assert run(created.parent, "status", prefix=unprivileged()).returncode == 0  # reading is


@pytest.mark.parametrize("command", WRITERS)
def test_a_state_folder_this_user_may_not_write(created: Path, command: str) -> None:
    for extra in ("-wal", "-shm"):  # left by the first build; a new run must add them
        created.with_name(created.name + extra).unlink(missing_ok=True)
    # The lock file stays (a run before left it): so the run gets past the lock to the state.
    created.with_name(created.name + ".lock").touch()
    created.parent.chmod(0o555)
    proc = run(created.parent, command, prefix=unprivileged())
    assert proc.returncode == 2 and "a bug in omnisync" not in proc.stderr, proc.stderr
    assert "-wal and -shm" in proc.stderr, proc.stderr


# --- another program's database is not a state file ---------------------------------------------


def foreign(state: Path, *statements: str) -> bytes:
    """``state`` made by another program with ``statements``; its bytes."""
    connection = sqlite3.connect(state)
    for statement in statements:
        connection.execute(statement)
    connection.commit()
    connection.close()
    return state.read_bytes()


@pytest.mark.parametrize("command", READERS + WRITERS)
def test_another_programs_database_is_refused_and_left_as_it_was(state: Path, command: str) -> None:
    before = foreign(
        state,
        "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)",
        "INSERT INTO customers VALUES (1, 'Алия')",
    )
    line = one_line(run(state.parent, command), state)
    assert "is another program's SQLite database" in line
    assert "point state: in the config at omnisync's own state file" in line
    assert state.read_bytes() == before  # no omnisync table, no WAL mode, no mark


@pytest.mark.parametrize("command", WRITERS)
def test_a_database_marked_by_another_program_is_refused(state: Path, command: str) -> None:
    before = foreign(state, "PRAGMA application_id = 1196444487")  # GeoPackage's, no tables yet
    line = one_line(run(state.parent, command), state)
    assert "(its application_id is 0x47504b47)" in line
    assert state.read_bytes() == before


def test_an_empty_file_becomes_a_state_file(state: Path) -> None:
    state.touch()
    assert run(state.parent, "build").returncode == 0
    assert pragmas(state) == (APPLICATION_ID, len(MIGRATIONS))


def pragmas(state: Path) -> tuple[int, int]:
    """(application_id, user_version) of ``state``."""
    connection = sqlite3.connect(state)
    try:
        (owner,) = connection.execute("PRAGMA application_id").fetchone()
        (version,) = connection.execute("PRAGMA user_version").fetchone()
        return int(owner), int(version)
    finally:
        connection.close()


@pytest.mark.parametrize("version", [1, 5, UNMARKED_UP_TO])
def test_a_store_from_before_the_mark_is_adopted_and_marked(state: Path, version: int) -> None:
    """A store an earlier omnisync wrote carries no application_id: it still opens, is
    migrated, and is marked; what it held is kept."""
    connection = sqlite3.connect(state)
    connection.create_function("omnisync_sku_fp", 1, lambda sku: None)  # migration 8's
    for script in MIGRATIONS[:version]:
        connection.executescript(script)
    connection.execute(f"PRAGMA user_version = {version}")
    connection.execute(
        "INSERT INTO runs (command, started_at, finished_at, exit_code) "
        "VALUES ('build', '2026-01-01T10:00:00+00:00', '2026-01-01T10:01:00+00:00', 0)"
    )
    connection.commit()
    connection.close()
    assert pragmas(state) == (0, version)
    assert run(state.parent, "build").returncode == 0
    assert pragmas(state) == (APPLICATION_ID, len(MIGRATIONS))
    connection = sqlite3.connect(state)
    try:
        assert connection.execute("SELECT count(*) FROM runs").fetchone()[0] == 2
    finally:
        connection.close()
    assert run(state.parent, "status").returncode == 0


def test_an_unmarked_store_is_not_changed_by_a_command_that_reads(state: Path) -> None:
    """status only reads: a store from before the mark (at most version 10) is left as it is,
    and asked to be migrated by a command that writes."""
    connection = sqlite3.connect(state)
    connection.create_function("omnisync_sku_fp", 1, lambda sku: None)  # migration 8's
    for script in MIGRATIONS[:UNMARKED_UP_TO]:
        connection.executescript(script)
    connection.execute(f"PRAGMA user_version = {UNMARKED_UP_TO}")
    connection.commit()
    connection.close()
    before = state.read_bytes()
    done = run(state.parent, "status")
    assert done.returncode == 2
    assert "needs a migration" in done.stdout + done.stderr
    assert state.read_bytes() == before
