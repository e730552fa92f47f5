"""One benchmark scenario, measured in this process: prints a JSON line with wall time, items
and peak RSS. ``run.py`` starts one process per scenario so each peak is its own.

    python benchmarks/measure.py SCENARIO FOLDER

Scenarios: ``floor`` (Python's csv reader and a string template with escaping — the least any
Google feed writer does), ``pandas`` (what a user might write: read_csv + DataFrame.to_xml),
``build:CHANNEL`` and ``build:all`` (omnisync), ``plan`` (push planning with 1 % changed).
"""

from __future__ import annotations

import csv
import json
import os
import resource
import shutil
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


def main() -> None:
    scenario, folder = sys.argv[1], Path(sys.argv[2])
    out = folder / f"out-{scenario.replace(':', '-')}"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    began = time.perf_counter()
    if scenario == "floor":
        items = floor(folder, out / "google.xml")
    elif scenario == "pandas":
        items = pandas(folder, out / "google.xml")
    else:
        wanted = scenario.split(":", 1)[1]
        items = build(folder, out, FILE_CHANNELS if wanted == "all" else [wanted])
    seconds = time.perf_counter() - began
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    result: dict[str, Any] = {"scenario": scenario, "seconds": round(seconds, 3),
                              "items": items, "peak_rss_mb": round(peak, 1)}  # fmt: skip
    shutil.rmtree(out, ignore_errors=True)
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    os.environ.setdefault("OMNISYNC_LOG_FORMAT", "text")
    main()
