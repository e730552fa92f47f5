"""``make bench``: one table — wall time, items per second, peak RSS — for the floor, the
pandas baseline and omnisync on generated catalogues, with the issue 17 targets checked as
ratios against the floor measured in the same run. Each scenario runs in its own process.

    python benchmarks/run.py                      # 100k and 1M SKUs
    python benchmarks/run.py --sizes 20000        # quicker
    python benchmarks/run.py --smoke              # CI: tiny, checks the benchmarks still run
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from generate import VERSION, write  # noqa: E402

CHANNELS = ["build:google", "build:kaspi", "build:satu", "build:local", "build:meta"]
ORDERS = 10_000
DATA = Path(os.environ.get("OMNISYNC_BENCH_DATA", HERE / ".data"))


def measure(scenario: str, folder: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(HERE / "measure.py"), scenario, str(folder)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"{scenario} failed:\n{done.stderr}")
    found: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return found


def catalogue(size: int) -> Path:
    folder = DATA / f"v{VERSION}" / str(size)
    if not (folder / "omnisync.yaml").exists():
        print(f"generating {size:,} SKUs in {folder} …", file=sys.stderr)
        write(folder, size)
    return folder


def scenarios(smoke: bool) -> list[str]:
    found = ["floor", *CHANNELS, "build:all", "plan", f"orders:{200 if smoke else ORDERS}"]
    if importlib.util.find_spec("pandas") is not None:
        found.insert(1, "pandas")
    elif not smoke:
        raise SystemExit("the pandas baseline needs pandas: pip install -e '.[bench]'")
    return found


def table(results: list[dict[str, Any]]) -> str:
    lines = ["| scenario | SKUs | seconds | items/s | peak RSS MB | × floor |",
             "|---|---:|---:|---:|---:|---:|"]  # fmt: skip
    floors = {r["size"]: r["seconds"] for r in results if r["scenario"] == "floor"}
    for r in results:
        rate = r["items"] / r["seconds"] if r["seconds"] else 0
        ratio = r["seconds"] / floors[r["size"]] if floors.get(r["size"]) else 0
        name = r["scenario"]
        if name == "plan":
            name = f"plan ({r['changed']:,} changed, {r['requests']} requests)"
        lines.append(f"| {name} | {r['size']:,} | {r['seconds']:.2f} | {rate:,.0f} | "
                     f"{r['peak_rss_mb']:.0f} | {ratio:.2f} |")  # fmt: skip
    return "\n".join(lines)


def targets(results: list[dict[str, Any]]) -> list[tuple[str, bool]]:
    """Issue 17's targets, on the largest size measured."""
    size = max(r["size"] for r in results)
    at = {r["scenario"]: r for r in results if r["size"] == size}
    floor, google = at["floor"]["seconds"], at["build:google"]
    everything, plan = at["build:all"], at["plan"]
    found = [
        ("Google XML ≤ 0.5× the floor", google["seconds"] <= 0.5 * floor),
        ("Google XML peak RSS ≤ 256 MB", google["peak_rss_mb"] <= 256),
        ("five file channels, multi-store, ≤ 1.5× the floor", everything["seconds"] <= 1.5 * floor),
        ("five file channels peak RSS ≤ 512 MB", everything["peak_rss_mb"] <= 512),
    ]
    if "pandas" in at:
        faster = at["pandas"]["seconds"] >= 15 * google["seconds"]
        found.append(("≥ 15× faster than pandas", faster))
    found.append(("push planning, 1 % changed, ≤ 2 s", plan["seconds"] <= 2))
    exact = plan["requests"] == plan["expected_requests"]
    found.append((f"exactly ceil(changed / batch) = {plan['expected_requests']} requests", exact))
    pulled = at[f"orders:{ORDERS}"]  # against the largest catalogue: pull reads its SKUs
    found.append((f"{ORDERS:,} orders ingested in ≤ 10 s", pulled["seconds"] <= 10))
    sizes = sorted({r["size"] for r in results})
    if len(sizes) > 1:
        small = {r["scenario"]: r["peak_rss_mb"] for r in results if r["size"] == sizes[0]}
        builds = [*CHANNELS, "build:all"]
        grows = all(at[s]["peak_rss_mb"] <= 1.5 * small[s] for s in builds)
        found.append((f"peak RSS grows ≤ 1.5× from {sizes[0]:,} to {size:,} SKUs", grows))
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    sizes = [2000] if args.smoke else [int(s) for s in args.sizes.split(",")]
    results = []
    for size in sizes:
        folder = catalogue(size)
        for scenario in scenarios(args.smoke):
            print(f"{scenario} on {size:,} …", end=" ", file=sys.stderr, flush=True)
            results.append({**measure(scenario, folder), "size": size})
            print(f"{results[-1]['seconds']:.1f} s, {results[-1]['peak_rss_mb']:.0f} MB",
                  file=sys.stderr)  # fmt: skip
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")  # fmt: skip
    print(table(results))
    if args.smoke:
        return
    missed = [name for name, met in targets(results) if not met]
    for name, met in targets(results):
        print(f"{'met' if met else 'MISSED'}: {name}")
    sys.exit(1 if missed else 0)


if __name__ == "__main__":
    main()
