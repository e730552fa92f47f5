"""A real PostgreSQL server for the tests: a throwaway cluster from Debian's package (installed
by scripts/install-test-deps.sh, which `make test` runs), on a Unix socket only, started once
per test session. PostgreSQL refuses to run as root, so as root it runs as `postgres`."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def bindir() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    raise RuntimeError("PostgreSQL is not installed: run scripts/install-test-deps.sh")


def _free_port() -> int:
    with socket.socket() as probe:  # the socket file is named after the port
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def postgres() -> Iterator[str]:
    """Yields the URL of a fresh server's ``postgres`` database (superuser ``omnisync``)."""
    root = Path(tempfile.mkdtemp(prefix="omnisync-pg-"))  # short: a socket path has 107 bytes
    as_user: list[str] = []
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(root, user.pw_uid, user.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    bins, port = bindir(), _free_port()
    options = f"-k {root} -c listen_addresses='' -p {port} -c fsync=off -c full_page_writes=off"
    run = lambda *args: subprocess.run([*as_user, *map(str, args)], check=True,  # noqa: E731
                                       capture_output=True)  # fmt: skip
    try:
        run(bins / "initdb", "-D", root / "data", "-U", "omnisync", "-A", "trust", "-E", "UTF8",
            "--locale=C", "--no-sync")  # fmt: skip
        run(bins / "pg_ctl", "-D", root / "data", "-l", root / "log", "-o", options, "-w", "start")
        try:
            yield f"postgresql://omnisync@/postgres?host={root}&port={port}"
        finally:
            run(bins / "pg_ctl", "-D", root / "data", "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(root, ignore_errors=True)
