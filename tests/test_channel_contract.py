"""The contract every registered channel keeps, run against the demo configuration.

Every built-in channel type appears in configs/demo.yaml; for each of its channels: output is
deterministic, the demo catalogue without its deliberately broken rows validates clean, the
outputs match the golden files byte for byte, mapping is pure, and the publish gate counts what
the writer wrote.
"""

from __future__ import annotations

import csv
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import DEMO_CONFIG
from golden import assert_golden

from omnisync import pipeline
from omnisync.channels.capabilities import FileFeed
from omnisync.channels.registry import BUILTIN, lookup
from omnisync.config import Config, load_config
from omnisync.models import Severity
from omnisync.sources.registry import make_source

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
DEMO = load_config(DEMO_CONFIG)
# The file channels: push-only channels are held to their contract against the sandbox.
CHANNELS = sorted(n for n, c in DEMO.channels.items() if issubclass(lookup(c.type), FileFeed))


def _demo(output_dir: Path, config: Config = DEMO) -> Config:
    # Also a state file of its own: the repo's feeds/out/state.db (make demo) holds reservations.
    return config.model_copy(update={"output_dir": output_dir, "state": output_dir / "state.db"})


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pipeline.RunReport]:
    out = tmp_path_factory.mktemp("demo")
    return out, pipeline.build(_demo(out), now=NOW)


@pytest.fixture(scope="module")
def clean_config(tmp_path_factory: pytest.TempPathFactory) -> Config:
    """The demo catalogue without its deliberately broken rows (BAD-*, the duplicate)."""
    folder = tmp_path_factory.mktemp("clean")
    shutil.copytree(DEMO_CONFIG.parent / "demo", folder / "demo")
    products = folder / "demo" / "products.csv"
    with products.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    seen: set[str] = set()
    kept = [
        r
        for r in rows
        if not r["sku"].startswith("BAD-") and not (r["sku"] in seen or seen.add(r["sku"]))
    ]  # type: ignore[func-returns-value]
    with products.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(kept)
    catalog = DEMO.catalog.model_copy(update={
        name: folder / "demo" / getattr(DEMO.catalog, name).name
        for name in ("products", "stock", "locations", "city_prices", "reviews")
    })  # fmt: skip
    return DEMO.model_copy(
        update={"catalog": catalog, "output_dir": folder / "out", "state": folder / "s.db"}
    )


def test_every_builtin_channel_type_is_in_the_demo() -> None:
    assert {c.type for c in DEMO.channels.values()} == set(BUILTIN)


@pytest.mark.parametrize("name", CHANNELS)
def test_demo_publishes(built: tuple[Path, pipeline.RunReport], name: str) -> None:
    _, report = built
    stats = next(s for s in report.channels if s.channel == name)
    assert stats.published, stats.refused
    assert stats.paths and all(p.stat().st_size > 0 for p in stats.paths)


@pytest.mark.parametrize("name", CHANNELS)
def test_output_matches_golden(
    built: tuple[Path, pipeline.RunReport], name: str, update_golden: bool
) -> None:
    out, report = built
    stats = next(s for s in report.channels if s.channel == name)
    for path in stats.paths:
        relative = path.relative_to(out).as_posix()
        assert_golden(path.read_bytes(), f"demo/{relative}", update_golden)


@pytest.mark.parametrize("name", CHANNELS)
def test_output_is_deterministic(
    built: tuple[Path, pipeline.RunReport], name: str, tmp_path: Path
) -> None:
    out, report = built
    pipeline.build(_demo(tmp_path), [name], now=NOW)
    stats = next(s for s in report.channels if s.channel == name)
    for path in stats.paths:
        again = tmp_path / path.relative_to(out)
        assert again.read_bytes() == path.read_bytes(), again


@pytest.mark.parametrize("name", CHANNELS)
def test_gate_counts_what_the_writer_wrote(
    built: tuple[Path, pipeline.RunReport], name: str
) -> None:
    out, report = built
    stats = next(s for s in report.channels if s.channel == name)
    channel = lookup(DEMO.channels[name].type)(name, DEMO.channels[name])
    assert isinstance(channel, FileFeed)
    for path in stats.paths:
        output = path.relative_to(out).as_posix()
        assert channel.count_items(output, path) == stats.counts[output]
        # Product channels list products; a pickup board lists orders (none in this demo run:
        # it reads the products only to name them).
        assert stats.counts[output] > 0 or DEMO.channels[name].type == "pickup_board"


@pytest.mark.parametrize("name", CHANNELS)
def test_clean_demo_validates_clean(clean_config: Config, name: str) -> None:
    report = pipeline.validate(clean_config, [name], now=NOW)
    (stats,) = report.channels
    errors = [p for p in report.problems if p.severity is Severity.ERROR]
    assert errors == []
    channel_type = lookup(DEMO.channels[name].type)
    expected = report.products if channel_type.lists_products else 0
    assert stats.items_valid == stats.items_total == expected and report.products > 50


@pytest.mark.parametrize("name", CHANNELS)
def test_mapping_is_pure_and_problems_name_the_channel(name: str) -> None:
    channel = lookup(DEMO.channels[name].type)(name, DEMO.channels[name])
    for product in make_source(DEMO).read(lambda _: None):
        first, second = channel.to_record(product), channel.to_record(product)
        assert first == second
        for problem in channel.validate(first):
            assert (problem.channel, problem.sku) == (name, first.key)
            assert (problem.file, problem.line) == (product.file, product.line)
