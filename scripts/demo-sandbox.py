"""`make demo`'s sandbox check: wait until the sandbox it started (``omnisync sandbox --port 0
--ready-file READY``, process PID) listens, make sure the server at its URL is that very
sandbox (``GET /_sandbox/identity``: its pid and instance token), then write the demo config
pointed at it:

    python scripts/demo-sandbox.py READY PID configs/demo.yaml feeds/out/demo-sandbox.yaml

Prints the sandbox's URL. Exits 1 with one line when the sandbox died or another program
answers: the demo must never push to a server that is not its own (on a shared machine a fixed
port may be anyone's). configs/demo.yaml keeps the documented http://127.0.0.1:8765 (where
`omnisync sandbox` listens by default); the copy has the sandbox's URL instead, and its paths
made relative to where it is written."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

DOCUMENTED = "http://127.0.0.1:8765"
WAIT_S = 30
PATHS = ("output_dir", "state")  # the catalogue's file paths are rebased too


def main(ready: Path, pid: int, config: Path, out: Path) -> str:
    found = _wait(ready, pid)
    _check(found, pid)
    _write_config(config, out, found["url"])
    return str(found["url"])


def _wait(ready: Path, pid: int) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_S
    while not ready.exists():
        if not _alive(pid):
            raise SystemExit("the sandbox did not start (it exited); see feeds/out/sandbox.log")
        if time.monotonic() > deadline:
            raise SystemExit(f"the sandbox did not start in {WAIT_S} s; see feeds/out/sandbox.log")
        time.sleep(0.1)
    found: dict[str, Any] = json.loads(ready.read_text(encoding="utf-8"))
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's: not ours either way, the check says so
        return True
    # A child that exited but was not reaped yet is a zombie: dead for this purpose.
    status = Path(f"/proc/{pid}/stat")
    return not (status.exists() and status.read_text().split(") ", 1)[-1].startswith("Z"))


def _check(found: dict[str, Any], pid: int) -> None:
    """The server at the URL is the process we started, this run of it."""
    try:
        answer = httpx.get(f"{found['url']}/_sandbox/identity", timeout=5).json()
    except (httpx.HTTPError, ValueError) as exc:
        raise SystemExit(f"{found['url']} does not answer as a sandbox ({exc})") from None
    ours = {"service": "omnisync-sandbox", "pid": pid, "instance": found.get("instance")}
    if not isinstance(answer, dict) or {k: answer.get(k) for k in ours} != ours:
        raise SystemExit(f"{found['url']} is not the demo's own sandbox (pid {pid}); not used")


def _write_config(config: Path, out: Path, url: str) -> None:
    data = yaml.safe_load(config.read_text(encoding="utf-8").replace(DOCUMENTED, url))
    here, there = config.parent.resolve(), out.parent.resolve()

    def rebased(value: str) -> str:
        return os.path.relpath(here / value, there)

    for key in PATHS:
        if isinstance(data.get(key), str):
            data[key] = rebased(data[key])
    catalog = data.get("catalog") or {}
    for key, value in catalog.items():
        if isinstance(value, str) and (here / value).exists():
            catalog[key] = rebased(value)
    out.parent.mkdir(parents=True, exist_ok=True)
    header = f"# {config} pointed at the demo's sandbox ({url}); written by {sys.argv[0]}\n"
    out.write_text(header + yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")


if __name__ == "__main__":
    if len(sys.argv) != 5:
        raise SystemExit(__doc__)
    ready, pid, config, out = sys.argv[1:]
    print(main(Path(ready), int(pid), Path(config), Path(out)))
