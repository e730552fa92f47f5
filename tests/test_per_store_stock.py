"""Per-store stock on the demo catalogue: every store-level figure in Kaspi, Google local inventory
and the store displays equals stock.csv, and the warehouse never shows up as a store.
"""

from __future__ import annotations

import csv
import json
import shutil
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import DEMO_CONFIG, ROOT, Workspace, good_row
from lxml import etree
from typer.testing import CliRunner

from omnisync import pipeline
from omnisync.cli import app
from omnisync.config import load_config
from omnisync.report import RunReport

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
K = "{kaspiShopping}"
DEMO = ROOT / "configs" / "demo"
KASPI_STORES = {"ALM-1": "PP1", "AST-1": "PP2", "SHM-1": "PP3"}
LOCAL_STORES = {"ALM-1": "almaty-abaya", "AST-1": "astana-turan", "SHM-1": "shymkent-tauke"}
STORES = tuple(KASPI_STORES)
WAREHOUSE = "WH-1"
LOCATIONS = "code,name,type,city,address,pickup\n" + "".join(
    f"{c},Store {c},store,Алматы,addr,yes\n" for c in STORES
)

runner = CliRunner()


def demo_copy(root: Path, edit: Any = None) -> Path:
    """configs/demo/ copied under ``root``, with a config like configs/demo.yaml writing to
    ``root/out``; ``edit(data)`` may change the config first."""
    shutil.copytree(DEMO, root / "demo")
    data = yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8"))
    data["output_dir"] = str(root / "out")
    if edit is not None:
        edit(data)
    path = root / "demo.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def demo_skus() -> list[str]:
    with (DEMO / "products.csv").open(encoding="utf-8", newline="") as f:
        return list(dict.fromkeys(row["sku"] for row in csv.DictReader(f)))


def demo_stock() -> dict[str, dict[str, int]]:
    """stock.csv as SKU → location → quantity (rows for one SKU and location add up)."""
    stock: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    with (DEMO / "stock.csv").open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            stock[row["sku"]][row["location"]] += int(row["quantity"])
    return stock


def on_hand(sku: str, location: str) -> int:
    return demo_stock().get(sku, {}).get(location, 0)


class Build:
    def __init__(self, out: Path, report: RunReport) -> None:
        self.out, self.report = out, report

    def stats(self, channel: str) -> Any:
        return next(s for s in self.report.channels if s.channel == channel)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Build:
    root = tmp_path_factory.mktemp("demo")
    report = pipeline.build(load_config(demo_copy(root)), now=NOW)
    assert all(s.published for s in report.channels)
    return Build(root / "out", report)


def test_stock_csv_has_stores_and_the_warehouse() -> None:
    locations = {loc for stores in demo_stock().values() for loc in stores}
    assert locations == {WAREHOUSE, *STORES}


# --- Kaspi --------------------------------------------------------------------------------------


def kaspi_offers(build: Build) -> dict[str, list[dict[str, str]]]:
    tree = etree.parse(str(build.out / "kaspi.xml"))
    return {
        offer.get("sku"): [dict(a.attrib) for a in offer.iter(f"{K}availability")]
        for offer in tree.iter(f"{K}offer")
    }


def test_kaspi_lists_every_valid_product(demo: Build) -> None:
    offers = kaspi_offers(demo)
    assert len(offers) == demo.stats("kaspi").items_valid > 50
    assert set(offers) <= set(demo_skus())


def test_kaspi_stock_count_per_store_equals_stock_csv(demo: Build) -> None:
    for sku, availabilities in kaspi_offers(demo).items():
        by_store = {a["storeId"]: a for a in availabilities}
        assert set(by_store) == set(KASPI_STORES.values()), sku
        assert len(availabilities) == len(KASPI_STORES), sku
        for location, store_id in KASPI_STORES.items():
            expected = on_hand(sku, location)
            attrib = by_store[store_id]
            assert attrib["stockCount"] == str(expected), (sku, location)
            assert attrib["available"] == ("yes" if expected > 0 else "no"), (sku, location)


def test_kaspi_spot_check(demo: Build) -> None:
    offers = kaspi_offers(demo)
    assert offers["HP-SONORA-X2"] == [
        {"available": "yes", "storeId": "PP1", "stockCount": "7"},
        {"available": "yes", "storeId": "PP2", "stockCount": "4"},
        {"available": "yes", "storeId": "PP3", "stockCount": "16"},
    ]
    # In stock only in the warehouse (4) and AST-1 (6)/SHM-1 (10), none at ALM-1.
    assert offers["PH-ACME-A15"][0] == {"available": "no", "storeId": "PP1", "stockCount": "0"}


def test_kaspi_never_names_the_warehouse(demo: Build) -> None:
    text = (demo.out / "kaspi.xml").read_text(encoding="utf-8")
    store_ids = {a["storeId"] for avail in kaspi_offers(demo).values() for a in avail}
    assert store_ids == {"PP1", "PP2", "PP3"}
    assert WAREHOUSE not in text


# --- Google local inventory ---------------------------------------------------------------------


def local_rows(build: Build) -> list[dict[str, str]]:
    with (build.out / "local.tsv").open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def test_local_inventory_quantity_per_store_equals_stock_csv(demo: Build) -> None:
    rows = local_rows(demo)
    codes = {v: k for k, v in LOCAL_STORES.items()}
    seen: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        location = codes[row["store_code"]]
        expected = on_hand(row["id"], location)
        assert row["quantity"] == str(expected), (row["id"], location)
        assert row["availability"] == ("in_stock" if expected > 0 else "out_of_stock"), row
        seen[row["id"]].add(row["store_code"])
    assert len(seen) == demo.stats("local").items_valid > 50
    assert all(stores == set(LOCAL_STORES.values()) for stores in seen.values())
    assert len(rows) == len(seen) * len(LOCAL_STORES)


def test_local_inventory_never_names_the_warehouse(demo: Build) -> None:
    assert {row["store_code"] for row in local_rows(demo)} == set(LOCAL_STORES.values())
    assert WAREHOUSE not in (demo.out / "local.tsv").read_text(encoding="utf-8")


# --- store displays -----------------------------------------------------------------------------


def display(build: Build, store: str) -> dict[str, Any]:
    return json.loads((build.out / "displays" / f"{store}.json").read_text(encoding="utf-8"))


def test_displays_exist_for_stores_only(demo: Build) -> None:
    names = sorted(p.name for p in (demo.out / "displays").iterdir())
    assert names == sorted(f"{s}.{ext}" for s in STORES for ext in ("html", "json"))


def test_display_quantity_here_equals_stock_csv(demo: Build) -> None:
    for store in STORES:
        data = display(demo, store)
        assert data["store"]["code"] == store
        assert len(data["products"]) == demo.stats("displays").items_valid > 50
        for item in data["products"]:
            expected = on_hand(item["sku"], store)
            assert item["quantity_here"] == expected, (item["sku"], store)
            assert item["pickup"] is (expected > 0), (item["sku"], store)


def test_display_elsewhere_lists_exactly_the_other_stocked_stores(demo: Build) -> None:
    for store in STORES:
        for item in display(demo, store)["products"]:
            sku = item["sku"]
            expected = {
                other: on_hand(sku, other)
                for other in STORES
                if other != store and on_hand(sku, other) > 0
            }
            got = {e["code"]: e["quantity"] for e in item["elsewhere"]}
            assert got == expected, (sku, store)
            assert len(item["elsewhere"]) == len(expected), (sku, store)


def test_display_online_follows_the_warehouse(demo: Build) -> None:
    for item in display(demo, "ALM-1")["products"]:
        assert item["online"] is (on_hand(item["sku"], WAREHOUSE) > 0), item["sku"]


def test_display_never_lists_the_warehouse_as_a_store(demo: Build) -> None:
    for store in STORES:
        data = display(demo, store)
        assert data["store"]["code"] != WAREHOUSE
        codes = {e["code"] for item in data["products"] for e in item["elsewhere"]}
        assert WAREHOUSE not in codes
        assert codes <= set(STORES) - {store}


def test_display_spot_check(demo: Build) -> None:
    items = {i["sku"]: i for i in display(demo, "AST-1")["products"]}
    kettle = items["KETTLE-1700-SS"]  # WH-1 10, ALM-1 29, AST-1 12, SHM-1 4
    assert kettle["quantity_here"] == 12
    assert [(e["code"], e["quantity"]) for e in kettle["elsewhere"]] == [
        ("ALM-1", 29),
        ("SHM-1", 4),
    ]


# --- config errors ------------------------------------------------------------------------------


def test_unknown_store_location_exits_2_naming_the_key(tmp_path: Path) -> None:
    def edit(data: dict[str, Any]) -> None:
        data["channels"]["kaspi"]["stores"] = {"NOPE": "X"}

    config = demo_copy(tmp_path, edit)
    result = runner.invoke(app, ["validate", "--config", str(config)])
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "channels.kaspi.stores" in lines[0]
    assert "NOPE" in lines[0]
    assert not (tmp_path / "out").exists()


def test_unknown_local_store_location_names_the_key(tmp_path: Path) -> None:
    def edit(data: dict[str, Any]) -> None:
        data["channels"]["local"]["stores"] = {"ALM-1": "a", "NOPE": "X"}

    result = runner.invoke(app, ["build", "--config", str(demo_copy(tmp_path, edit))])
    assert result.exit_code == 2, result.output
    assert "channels.local.stores" in result.stderr
    assert not (tmp_path / "out").exists()


# --- no stock.csv: the quantity column ----------------------------------------------------------


def quantity_workspace(workspace: Workspace, channels: dict[str, dict[str, object]]) -> Path:
    workspace.write_products(
        [
            good_row(sku="HAS-5", quantity="5", url="https://shop.example.kz/p/5"),
            good_row(sku="HAS-0", quantity="0", url="https://shop.example.kz/p/0"),
            good_row(sku="UNTRACKED", quantity="", url="https://shop.example.kz/p/u"),
        ]
    )
    (workspace.root / "locations.csv").write_text(LOCATIONS, encoding="utf-8")
    return workspace.write_config(channels=channels, locations="locations.csv")


KASPI = {"type": "kaspi", "company": "Shop", "merchant_id": "1", "stores": KASPI_STORES}


def test_without_stock_csv_kaspi_availability_follows_the_quantity(workspace: Workspace) -> None:
    config = load_config(quantity_workspace(workspace, {"kaspi": KASPI}))
    report = pipeline.build(config, now=NOW)
    assert report.channels[0].published
    offers = {
        o.get("sku"): [dict(a.attrib) for a in o.iter(f"{K}availability")]
        for o in etree.parse(str(workspace.root / "out" / "kaspi.xml")).iter(f"{K}offer")
    }
    expected = {"HAS-5": "yes", "HAS-0": "no", "UNTRACKED": "yes"}
    assert set(offers) == set(expected)
    for sku, available in expected.items():
        assert offers[sku] == [
            {"available": available, "storeId": store} for store in KASPI_STORES.values()
        ], sku


def test_without_stock_csv_local_inventory_availability_follows_the_quantity(
    workspace: Workspace,
) -> None:
    """Regression: every store used to say in_stock for a product with quantity 0."""
    channels = {
        "local": {"type": "google_local_inventory", "stores": LOCAL_STORES, "currency": "KZT"}
    }
    config = load_config(quantity_workspace(workspace, channels))
    pipeline.build(config, now=NOW)
    with (workspace.root / "out" / "local.tsv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    availability = {(r["id"], r["availability"]) for r in rows}
    assert availability == {
        ("HAS-5", "in_stock"),
        ("HAS-0", "out_of_stock"),
        ("UNTRACKED", "in_stock"),
    }
