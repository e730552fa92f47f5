"""The benchmarks still run (CI runs this tiny version; `make bench` the real one, untimed)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
from generate import VERSION


def test_the_benchmark_smoke_run_prints_every_scenario(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--smoke"],
        capture_output=True, text=True, timeout=600,
        env={**os.environ, "OMNISYNC_BENCH_DATA": str(tmp_path)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = [line.split("|")[1].strip() for line in done.stdout.splitlines()[3:]]
    assert rows[0] == "floor" and "build:google" in rows and "build:all" in rows
    assert rows[-2].startswith("plan (20 changed, 1 requests)") and rows[-1] == "orders:200"
    folder = tmp_path / f"v{VERSION}" / "2000"
    assert (folder / "products.csv").stat().st_size > 100_000  # really generated
    assert not list(folder.glob("out-*"))  # each scenario cleans up
