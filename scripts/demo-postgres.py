"""make demo's PostgreSQL step: start a throwaway PostgreSQL server (Debian's package, as the
tests do: tests/pgserver.py), fill it like an ERP (scripts/demo-erp-db.py), build the demo's
feeds from it with configs/demo-sql.yaml's queries into feeds/out-pg, and say whether they are
the CSV demo's (feeds/out). Without PostgreSQL installed it says so and does nothing."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from pgserver import bindir, postgres  # noqa: E402  (the tests' throwaway server)

from omnisync import pipeline  # noqa: E402
from omnisync.config import load_config  # noqa: E402

FEEDS = ("google.xml", "google_tsv.tsv", "kaspi.xml", "satu.xml", "local.tsv", "meta.csv")
STAMPED = (
    b"<kaspi_catalog ",
    b"<yml_catalog ",
)  # Kaspi and Satu stamp the minute they were written


def main() -> int:
    try:
        bindir()
    except RuntimeError:
        print("  PostgreSQL is not installed here (make test installs it): step skipped")
        return 0
    spec = importlib.util.spec_from_file_location("erp", ROOT / "scripts" / "demo-erp-db.py")
    assert spec is not None and spec.loader is not None
    erp = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(erp)
    out = ROOT / "feeds" / "out-pg"
    with postgres() as url:
        erp.fill(url)
        config = load_config(ROOT / "configs" / "demo-sql.yaml")
        catalog = config.catalog.model_copy(update={"url": url})
        config = config.model_copy(update={"catalog": catalog, "output_dir": out,
                                           "state": out / "state.db"})  # fmt: skip
        pipeline.build(config)
    return _compare(out)


def _compare(out: Path) -> int:
    for feed in FEEDS:
        mine, csv = (_unstamped(folder / feed) for folder in (out, ROOT / "feeds" / "out"))
        same = "the same as from the CSV files" if mine == csv else "DIFFERS from feeds/out"
        print(f"  feeds/out-pg/{feed}: {same}")
        if mine != csv:
            return 1
    return 0


def _unstamped(path: Path) -> list[bytes]:
    return [
        line for line in path.read_bytes().splitlines() if not line.lstrip().startswith(STAMPED)
    ]


if __name__ == "__main__":
    sys.exit(main())
