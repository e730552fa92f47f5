"""One benchmark scenario, measured in this process: prints a JSON line with wall time, items
and peak RSS. ``run.py`` starts one process per scenario so each peak is its own.

    python benchmarks/measure.py SCENARIO FOLDER

Scenarios: ``floor`` (Python's csv reader and a string template with escaping — the least any
Google feed writer does), ``pandas`` (what a user might write: read_csv + DataFrame.to_xml),
``build:CHANNEL`` and ``build:all`` (omnisync), ``plan`` (push planning with 1 % changed).
"""

from __future__ import annotations

import csv
import itertools
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

FILE_CHANNELS = ["google", "kaspi", "satu", "local", "meta"]


def floor(folder: Path, out: Path) -> int:
    """A Google RSS feed from products.csv: no validation, no stock, no rules."""
    count = 0
    with (
        (folder / "products.csv").open(encoding="utf-8", newline="") as f,
        out.open("w", encoding="utf-8", buffering=1 << 20) as w,
    ):
        rows = csv.reader(f)
        at = {name: i for i, name in enumerate(next(rows))}
        w.write('<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0" '
                'xmlns:g="http://base.google.com/ns/1.0"><channel>\n')  # fmt: skip
        for row in rows:
            w.write(
                f"<item><g:id>{escape(row[at['sku']])}</g:id><title>{escape(row[at['title']])}"
                f"</title><description>{escape(row[at['description']])}</description><link>"
                f"{escape(row[at['url']])}</link><g:image_link>{escape(row[at['image_url']])}"
                f"</g:image_link><g:price>{row[at['price']]} KZT</g:price><g:availability>"
                f"in_stock</g:availability><g:brand>{escape(row[at['brand']])}</g:brand>"
                f"<g:gtin>{row[at['gtin']]}</g:gtin></item>\n"
            )
            count += 1
        w.write("</channel></rss>\n")
    return count


def pandas(folder: Path, out: Path) -> int:
    import pandas as pd  # a benchmark-only dependency (pip install -e '.[bench]')

    frame = pd.read_csv(folder / "products.csv", dtype=str, keep_default_na=False)
    frame.to_xml(out, index=False, root_name="channel", row_name="item")
    return len(frame)


def build(folder: Path, out: Path, channels: list[str]) -> int:
    from omnisync import pipeline
    from omnisync.config import load_config

    config = load_config(folder / "omnisync.yaml")
    config = config.model_copy(update={"output_dir": out, "state": out / "state.db"})
    report = pipeline.build(config, channels)
    return report.products


def plan(folder: Path, out: Path) -> tuple[int, dict[str, Any]]:
    """Push planning for Ozon with 1 % of the stock changed, against a ledger that holds the
    whole catalogue as acknowledged — the cron case. The channel's sender is replaced by one
    that accepts and counts (nothing leaves the machine): the timed run plans, "sends" and
    records. The push before it (the ledger, and what each SKU's rows were) runs first in a
    process of its own, so the peak RSS is the timed run's."""
    from omnisync import push
    from omnisync.channels.ozon import BATCH

    subprocess.run([sys.executable, __file__, "plan-setup", str(folder), str(out)], check=True)
    calls = _counting_ozon()
    config = _plan_config(folder, out)
    catalog = config.catalog.model_copy(update={"stock": out / "stock.csv"})
    config = config.model_copy(update={"catalog": catalog})
    changed = int((out / "changed").read_text())
    began = time.perf_counter()
    result = push.push(config, ["ozon"])
    seconds = time.perf_counter() - began
    expected = -(-changed // BATCH["stock"])  # ceil
    extra = {
        "changed": changed,
        "requests": len(calls),
        "expected_requests": expected,
        "planned_updates": result.pushes[0].planned["update"],
        "timed_seconds": seconds,
    }
    return result.run.products, extra


def plan_setup(folder: Path, out: Path) -> None:
    """The push before the timed one, then the stock file with 1 % changed."""
    from omnisync import push

    _counting_ozon()
    push.push(_plan_config(folder, out), ["ozon"])
    changed = _change_stock(folder, out / "stock.csv", every=100)
    (out / "changed").write_text(str(changed))


def _plan_config(folder: Path, out: Path) -> Any:
    from omnisync.config import load_config

    config = load_config(folder / "omnisync.yaml")
    return config.model_copy(update={"output_dir": out, "state": out / "state.db"})


def _counting_ozon() -> list[int]:
    """Ozon answering every item as accepted, counting its requests (batch sizes)."""
    from omnisync.channels.capabilities import ItemResult
    from omnisync.channels.ozon import Ozon

    calls: list[int] = []
    Ozon.open_api = lambda self, budget: _NoApi()  # type: ignore[method-assign]
    Ozon.send = lambda self, api, stream, batch: (  # type: ignore[method-assign]
        calls.append(len(batch)) or [ItemResult(i.key, True) for i in batch]
    )
    return calls


def orders(folder: Path, out: Path, count: int) -> tuple[int, dict[str, Any]]:
    """``count`` Ozon postings pulled from the sandbox (real HTTP over loopback) and ingested:
    stored, lines mapped, stock reserved, cursor moved."""
    from datetime import UTC, datetime, timedelta

    import httpx

    from omnisync.config import load_config
    from omnisync.orders import pull
    from omnisync.sandbox.server import Sandbox

    sandbox = Sandbox().start()
    try:
        with (folder / "products.csv").open(encoding="utf-8", newline="") as f:
            skus = [row[0] for row in itertools.islice(csv.reader(f), 1, 101)]
        httpx.post(f"{sandbox.url}/_sandbox/orders", json={"ozon": count, "skus": skus})
        config = load_config(folder / "omnisync.yaml")
        ozon = config.channels["ozon"].model_copy(
            update={"base_url": sandbox.url, "requests_per_minute": 60000}
        )
        channels = {**config.channels, "ozon": ozon}
        config = config.model_copy(update={"output_dir": out, "state": out / "state.db",
                                           "channels": channels})  # fmt: skip
        since = datetime(2026, 10, 1, tzinfo=UTC)
        began = time.perf_counter()
        result = pull.pull(config, ["ozon"], since=since, now=since + timedelta(days=60))
        seconds = time.perf_counter() - began
    finally:
        sandbox.stop()
    return result.pulls[0].stats.new, {"timed_seconds": seconds}


class _NoApi:
    def close(self) -> None:
        return None


def _change_stock(folder: Path, target: Path, every: int) -> int:
    """A copy of stock.csv where every ``every``-th SKU has one unit more at WH-1 (the
    warehouse Ozon gets): exactly 1 % of the items change for ``every=100``."""
    changed = 0
    with (
        (folder / "stock.csv").open(encoding="utf-8", newline="") as f,
        target.open("w", encoding="utf-8", newline="") as w,
    ):
        rows, out = csv.reader(f), csv.writer(w)
        out.writerow(next(rows))
        for n, (sku, group) in enumerate(itertools.groupby(rows, key=lambda row: row[0])):
            at = {location: int(quantity) for _, location, quantity in group}
            if n % every == 0:
                at["WH-1"], changed = at.get("WH-1", 0) + 1, changed + 1
            out.writerows([sku, location, quantity] for location, quantity in at.items())
    return changed


def main() -> None:
    scenario, folder = sys.argv[1], Path(sys.argv[2])
    if scenario == "plan-setup":
        plan_setup(folder, Path(sys.argv[3]))
        return
    out = folder / f"out-{scenario.replace(':', '-')}"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    began, extra = time.perf_counter(), {}
    if scenario == "floor":
        items = floor(folder, out / "google.xml")
    elif scenario == "pandas":
        items = pandas(folder, out / "google.xml")
    elif scenario == "plan":
        items, extra = plan(folder, out)
    elif scenario.startswith("orders:"):
        items, extra = orders(folder, out, int(scenario.split(":", 1)[1]))
    else:
        wanted = scenario.split(":", 1)[1]
        items = build(folder, out, FILE_CHANNELS if wanted == "all" else [wanted])
    seconds = extra.pop("timed_seconds", None) or time.perf_counter() - began
    # A run is one process (issue 17); the plan's child is its setup, run before it.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    result: dict[str, Any] = {"scenario": scenario, "seconds": round(seconds, 3),
                              "items": items, "peak_rss_mb": round(peak, 1), **extra}  # fmt: skip
    shutil.rmtree(out, ignore_errors=True)
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    os.environ.setdefault("OMNISYNC_LOG_FORMAT", "text")
    os.environ.setdefault("BENCH_OZON_KEY", "bench-key")
    main()
