"""The central store: migrations, catalogue import (one transaction, gated) and the sqlite
source reading the snapshot back in SKU order."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from conftest import DEMO_CONFIG, Workspace, good_row

from omnisync import pipeline
from omnisync.config import load_config
from omnisync.errors import ConfigError, SourceError
from omnisync.models import Product
from omnisync.sources.registry import make_source
from omnisync.store import open_store
from omnisync.store.catalog import ImportRefused, from_json, read_products, to_json
from omnisync.store.schema import MIGRATIONS


def demo(tmp_path: Path, source: str = "csv") -> Path:
    shutil.copytree(DEMO_CONFIG.parent / "demo", tmp_path / "demo")
    data = yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8"))
    data.update(output_dir="out", state="state.db")
    data["catalog"]["source"] = source
    path = tmp_path / "omnisync.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_a_new_state_file_is_migrated_to_the_current_version(tmp_path: Path) -> None:
    store = open_store(tmp_path / "state.db")
    assert store.version == len(MIGRATIONS)
    tables = {r[0] for r in store.db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"products", "stock", "locations", "reservations", "push_ledger", "runs"} <= tables
    store.close()
    assert open_store(tmp_path / "state.db").version == len(MIGRATIONS)  # idempotent


def test_a_newer_state_file_is_refused(tmp_path: Path) -> None:
    store = open_store(tmp_path / "state.db")
    store.db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    store.close()
    with pytest.raises(ConfigError, match="newer than this omnisync"):
        open_store(tmp_path / "state.db")


def test_product_json_round_trip_keeps_decimals_and_tuples() -> None:
    product = Product(sku="A", title="Чайник", price=Decimal("15990.50"), url="u", image_url="i",
                      sale_price=Decimal("1"), category=("A", "B"), attributes={"material": "x"},
                      city_prices={"750000000": Decimal("10.10")}, rating=Decimal("4.5"),
                      review_count=3)  # fmt: skip
    back = from_json(to_json(product), {"WH-1": 2})
    assert back.title == "Чайник"
    assert (back.price, back.sale_price, back.category) == (product.price, Decimal("1"), ("A", "B"))
    assert back.city_prices == {"750000000": Decimal("10.10")} and back.stock == {"WH-1": 2}
    assert (back.rating, back.review_count, back.attributes) == (
        Decimal("4.5"),
        3,
        {"material": "x"},
    )


def test_import_then_sqlite_source_gives_the_same_feeds(tmp_path: Path) -> None:
    csv_dir, sql_dir = tmp_path / "csv", tmp_path / "sql"
    csv_config, sql_config = load_config(demo(csv_dir)), load_config(demo(sql_dir, "sqlite"))
    stats, report = pipeline.import_catalog(sql_config)
    assert (stats.products, stats.locations, stats.previous) == (64, 4, 0)
    assert {p.code for p in report.problems} == {"not_a_number", "duplicate_sku"}
    now = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    pipeline.build(csv_config, ["kaspi", "local", "satu"], now=now)
    pipeline.build(sql_config, ["kaspi", "local", "satu"], now=now)
    for name in ("local.tsv", "kaspi.xml", "satu.xml"):
        # The store yields SKU order, the CSV file order: the same lines, maybe reordered.
        sql = (sql_dir / "out" / name).read_text(encoding="utf-8").splitlines()
        csv = (csv_dir / "out" / name).read_text(encoding="utf-8").splitlines()
        assert sorted(sql) == sorted(csv), name


def test_products_come_back_in_sku_order_with_their_stock(tmp_path: Path) -> None:
    config = load_config(demo(tmp_path, "sqlite"))
    pipeline.import_catalog(config)
    store = open_store(config.state)
    products = list(read_products(store))
    assert [p.sku for p in products] == sorted(p.sku for p in products)
    kettle = next(p for p in products if p.sku == "HP-SONORA-X2")
    assert kettle.stock == {"WH-1": 15, "ALM-1": 7, "AST-1": 4, "SHM-1": 16}


def test_an_import_that_loses_most_products_is_refused_and_changes_nothing(
    workspace: Workspace,
) -> None:
    workspace.write_products([good_row(sku=f"S-{i}") for i in range(10)])
    workspace.write_config()
    config = load_config(workspace.config_path)
    pipeline.import_catalog(config)
    workspace.write_products([good_row(sku="S-1")])
    with pytest.raises(ImportRefused, match="1 products where the store has 10"):
        pipeline.import_catalog(config)
    store = open_store(config.state)
    assert store.db.execute("SELECT count(*) FROM products").fetchone()[0] == 10
    store.close()
    stats, _ = pipeline.import_catalog(config, force=True)
    assert (stats.products, stats.previous) == (1, 10)


def test_sqlite_source_without_an_import_says_what_to_do(workspace: Workspace) -> None:
    workspace.write_products([good_row()])
    workspace.write_config(source="sqlite")
    with pytest.raises(SourceError, match="run omnisync catalog import"):
        pipeline.validate(load_config(workspace.config_path))


def test_an_older_state_file_is_migrated_forward(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_store(tmp_path / "state.db").close()  # at the current version
    newer = (*MIGRATIONS, "CREATE TABLE later (x INTEGER);")
    monkeypatch.setattr("omnisync.store.db.MIGRATIONS", newer)
    store = open_store(tmp_path / "state.db")
    assert store.version == len(newer)
    assert store.db.execute("SELECT count(*) FROM later").fetchone()[0] == 0
    store.close()


def test_a_failed_migration_leaves_the_file_at_its_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_store(tmp_path / "state.db").close()
    broken = (*MIGRATIONS, "CREATE TABLE half (x INTEGER);\nTHIS IS NOT SQL;")
    monkeypatch.setattr("omnisync.store.db.MIGRATIONS", broken)
    with pytest.raises(sqlite3.OperationalError):
        open_store(tmp_path / "state.db")
    monkeypatch.setattr("omnisync.store.db.MIGRATIONS", MIGRATIONS)
    store = open_store(tmp_path / "state.db")
    assert store.version == len(MIGRATIONS)
    tables = {r[0] for r in store.db.execute("SELECT name FROM sqlite_master")}
    assert "half" not in tables


def test_skus_are_read_without_building_products_and_match_the_catalogue(
    tmp_path: Path,
) -> None:
    """``orders pull`` matches order lines against ``skus()``: every SKU of the catalogue, a row
    with a bad price included (the SKU exists; the row's problem is validate's to report)."""
    config = load_config(demo(tmp_path))
    csv_source = make_source(config, "csv")
    built = [p.sku for p in csv_source.read(lambda _: None)]
    listed = list(csv_source.skus(lambda _: None))
    assert set(built) < set(listed) and "BAD-PRICE-TEXT" in set(listed) - set(built)
    pipeline.import_catalog(config)
    stored = set(make_source(config, "sqlite").skus(lambda _: None))
    assert stored == set(built)
