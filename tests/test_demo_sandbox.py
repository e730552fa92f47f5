"""`make demo`'s sandbox: on a free port, and only its own — the demo pushed to whatever listened
on 8765, on a shared machine someone else's process. ``omnisync sandbox --port 0 --ready-file``
says where it listens and who it is; scripts/demo-sandbox.py checks the server there is that
very process before writing the demo config pointed at it. A taken port is one line, exit 2."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import DEMO_CONFIG, ROOT, run_cli, start_cli

from omnisync.config import load_config
from omnisync.sandbox.server import Sandbox

SCRIPT = ROOT / "scripts" / "demo-sandbox.py"


@pytest.fixture
def own_sandbox(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    """``omnisync sandbox --port 0`` in its own process, and its ready file."""
    ready = tmp_path / "sandbox.json"
    process = start_cli("sandbox", "--port", "0", "--ready-file", ready)
    try:
        yield process, ready
    finally:
        process.terminate()
        process.communicate(timeout=30)


def wait_for(ready: Path) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while not ready.exists():
        assert time.monotonic() < deadline, "the sandbox never wrote its ready file"
        time.sleep(0.05)
    found: dict[str, Any] = json.loads(ready.read_text(encoding="utf-8"))
    return found


def demo_sandbox(ready: Path, pid: int, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), str(ready), str(pid), str(DEMO_CONFIG), str(out)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_a_taken_port_is_one_line_and_exit_2() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("sandbox", "--port", port, timeout=60)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert f"127.0.0.1:{port}" in result.stderr and "--port 0" in result.stderr


def test_port_0_listens_on_a_free_port_and_says_which_and_who(
    own_sandbox: tuple[subprocess.Popen[str], Path],
) -> None:
    process, ready = own_sandbox
    found = wait_for(ready)
    assert found["url"].startswith("http://127.0.0.1:") and not found["url"].endswith(":0")
    identity = httpx.get(f"{found['url']}/_sandbox/identity").json()
    assert identity == {"service": "omnisync-sandbox", "pid": process.pid,
                        "instance": found["instance"]}  # fmt: skip


def test_the_demo_takes_its_own_sandbox_and_points_its_config_at_it(
    own_sandbox: tuple[subprocess.Popen[str], Path], tmp_path: Path
) -> None:
    process, ready = own_sandbox
    out = tmp_path / "out" / "demo-sandbox.yaml"
    result = demo_sandbox(ready, process.pid, out)
    assert result.returncode == 0, result.stderr
    url = result.stdout.strip()
    assert url == wait_for(ready)["url"]
    config = load_config(out)
    assert config.channels["ozon"].base_url == url  # type: ignore[attr-defined]
    assert set(re.findall(r"http://127\.0\.0\.1:\d+", out.read_text(encoding="utf-8"))) == {url}
    products = config.catalog.products.resolve()  # type: ignore[union-attr]
    assert products == DEMO_CONFIG.parent / "demo" / "products.csv"
    assert httpx.get(f"{url}/_sandbox/identity").json()["pid"] == process.pid


def test_the_demo_refuses_a_server_that_is_not_its_own_sandbox(
    own_sandbox: tuple[subprocess.Popen[str], Path], tmp_path: Path
) -> None:
    """Another sandbox (another process) answers at the URL the ready file names: not used."""
    process, ready = own_sandbox
    wait_for(ready)
    other = Sandbox().start()
    try:
        found = {**wait_for(ready), "url": other.url}
        forged = tmp_path / "forged.json"
        forged.write_text(json.dumps(found), encoding="utf-8")
        result = demo_sandbox(forged, process.pid, tmp_path / "demo.yaml")
    finally:
        other.stop()
    assert result.returncode == 1
    assert "not the demo's own sandbox" in result.stderr
    assert not (tmp_path / "demo.yaml").exists()


def test_the_demo_stops_when_its_sandbox_did_not_start(tmp_path: Path) -> None:
    """Its sandbox exited (here: the port it was given is taken); a server that listens
    elsewhere changes nothing."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        ready = tmp_path / "sandbox.json"
        process = start_cli("sandbox", "--port", port, "--ready-file", ready)
        process.communicate(timeout=60)
        result = demo_sandbox(ready, process.pid, tmp_path / "demo.yaml")
    assert result.returncode == 1
    assert "the sandbox did not start" in result.stderr
    assert not (tmp_path / "demo.yaml").exists()
