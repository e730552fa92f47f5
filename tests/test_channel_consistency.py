"""Every channel shows the same assortment and the same price; per-store channels count the
stores they map; store displays never share a file; empty feeds are explained."""

from __future__ import annotations

import csv
import json
import shutil
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from conftest import DEMO_CONFIG, Workspace, good_row
from lxml import etree

from omnisync import pipeline
from omnisync.channels.registry import lookup
from omnisync.channels.store_display import file_stem, output_names
from omnisync.config import load_config
from omnisync.errors import ConfigError
from omnisync.models import Product, Severity

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def demo_copy(tmp_path: Path, **channel_updates: dict[str, object]) -> Path:
    """configs/demo copied into tmp_path, with some channels' settings replaced."""
    shutil.copytree(DEMO_CONFIG.parent / "demo", tmp_path / "demo")
    data = yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8"))
    data["output_dir"] = "out"
    for name, settings in channel_updates.items():
        data["channels"][name] = settings
    path = tmp_path / "omnisync.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def read_rows(path: Path, delimiter: str = ",") -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter=delimiter))


def test_a_sale_price_above_the_price_is_ignored_by_every_one_price_channel(
    tmp_path: Path,
) -> None:
    config = load_config(demo_copy(tmp_path))
    pipeline.build(config, now=NOW)
    out = tmp_path / "out"
    kaspi = etree.parse(str(out / "kaspi.xml"))
    ns = {"k": "kaspiShopping"}
    assert kaspi.xpath("string(//k:offer[@sku='BAD-SALE-HIGH']/k:price)", namespaces=ns) == "29990"
    satu = etree.parse(str(out / "satu.xml"))
    assert satu.xpath("string(//offer[@id='BAD-SALE-HIGH']/price)") == "29990"
    assert not satu.xpath("//offer[@id='BAD-SALE-HIGH']/oldprice")
    meta = {r["id"]: r for r in read_rows(out / "meta.csv")}
    assert (meta["BAD-SALE-HIGH"]["price"], meta["BAD-SALE-HIGH"]["sale_price"]) == (
        "29990.00 KZT", "")  # fmt: skip
    display = json.loads((out / "displays" / "ALM-1.json").read_text(encoding="utf-8"))
    entry = next(p for p in display["products"] if p["sku"] == "BAD-SALE-HIGH")
    assert (entry["price"], entry["old_price"]) == ("29990.00", None)


@pytest.mark.parametrize(
    ("sale", "on_sale", "selling"),
    [(None, False, "100"), ("80", True, "80"), ("100", False, "100"), ("120", False, "100"),
     ("0", False, "100")],
)  # fmt: skip
def test_selling_price(sale: str | None, on_sale: bool, selling: str) -> None:
    product = Product(
        sku="A",
        title="A",
        price=Decimal("100"),
        url="",
        image_url="",
        sale_price=None if sale is None else Decimal(sale),
    )
    assert (product.on_sale, product.selling_price) == (on_sale, Decimal(selling))


def test_local_inventory_leaves_out_what_the_primary_feed_rejects(tmp_path: Path) -> None:
    config = load_config(demo_copy(tmp_path))
    report = pipeline.build(config, ["google", "local"], now=NOW)
    out = tmp_path / "out"
    google_ids = {e.text for e in etree.parse(str(out / "google.xml")).iter(
        "{http://base.google.com/ns/1.0}id")}  # fmt: skip
    rows = read_rows(out / "local.tsv", "\t")
    assert {r["id"] for r in rows} == google_ids
    local = next(p for p in report.problems if p.channel == "local" and p.sku == "BAD-LINK")
    assert local.code == "link_invalid" and "primary feed would reject" in local.message


def test_local_inventory_writes_the_regular_price_and_the_sale_price(tmp_path: Path) -> None:
    config = load_config(demo_copy(tmp_path))
    pipeline.build(config, ["local"], now=NOW)
    rows = read_rows(tmp_path / "out" / "local.tsv", "\t")
    row = next(r for r in rows if r["id"] == "HP-SONORA-X2")
    assert (row["price"], row["sale_price"]) == ("39990.00 KZT", "34990.00 KZT")


def test_an_unmapped_store_never_appears(tmp_path: Path) -> None:
    path = demo_copy(
        tmp_path,
        kaspi={"type": "kaspi", "company": "X", "merchant_id": "1", "stores": {"ALM-1": "PP1"}},
        local={"type": "google_local_inventory", "currency": "KZT", "stores": {"ALM-1": "a"}},
    )
    pipeline.build(load_config(path), ["kaspi", "local"], now=NOW)
    kaspi = (tmp_path / "out" / "kaspi.xml").read_text(encoding="utf-8")
    assert kaspi.count('storeId="PP1"') == kaspi.count("<offer ") > 50
    assert "PP2" not in kaspi and "PP3" not in kaspi
    rows = read_rows(tmp_path / "out" / "local.tsv", "\t")
    assert {r["store_code"] for r in rows} == {"a"}


def test_per_store_channels_count_only_their_stores_for_in_stock(tmp_path: Path) -> None:
    # HP-NOMAD-WIRED has stock at WH-1 and ALM-1 only: a Kaspi channel mapping AST-1 alone
    # must treat it as out of stock.
    path = demo_copy(tmp_path, kaspi={
        "type": "kaspi", "company": "X", "merchant_id": "1", "stores": {"AST-1": "PP2"},
        "rules": {"include": {"in_stock": True}}})  # fmt: skip
    report = pipeline.build(load_config(path), ["kaspi"], now=NOW)
    kaspi = (tmp_path / "out" / "kaspi.xml").read_text(encoding="utf-8")
    assert 'sku="HP-NOMAD-WIRED"' not in kaspi
    assert report.channels[0].filtered > 0
    assert 'available="no"' not in kaspi


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"stores": {"ALM-1": "PP1"}, "locations": ["WH-1"]}, "list them in stores"),
        ({"stores": {"ALM-1": "PP1", "AST-1": "PP1"}}, "PP1 is mapped from several"),
        ({"stores": {"ALM-1": " "}}, "blank"),
    ],
)
def test_store_map_settings_are_checked(
    workspace: Workspace, settings: dict[str, object], message: str
) -> None:
    workspace.write_products([good_row()])
    workspace.write_config({"kaspi": {"type": "kaspi", "company": "X", "merchant_id": "1",
                                      **settings}})  # fmt: skip
    with pytest.raises(ConfigError, match=message):
        load_config(workspace.config_path)


def test_store_files_never_collide() -> None:
    codes = ["ALM-1", "ALM/1", "ALM.1", "ALM 1", "АЛМ-1", "АСТ-1", "..", ""]
    stems = [file_stem(code) for code in codes]
    assert len(set(stems)) == len(codes)
    assert stems[0] == "ALM-1"
    assert all("/" not in s and s not in (".", "..", "") for s in stems)
    assert output_names("displays", "ALM/1")[0].startswith("displays/ALM_1-")


@pytest.mark.parametrize("kind", ["store_display", "pickup_board"])
def test_a_display_without_stores_is_a_config_error(workspace: Workspace, kind: str) -> None:
    workspace.write_products([good_row()])
    workspace.write_config({"displays": {"type": kind}})
    config = load_config(workspace.config_path)
    with pytest.raises(ConfigError, match=r"channels\.displays\.stores: no stores"):
        pipeline.build(config)


@pytest.mark.parametrize(
    ("settings", "message"),
    [({"stores": ["ALM-1", "ALM-1"]}, "listed twice"), ({"locations": ["WH-1"]}, "stores")],
)
def test_display_settings_are_checked(
    workspace: Workspace, settings: dict[str, object], message: str
) -> None:
    workspace.write_products([good_row()])
    workspace.write_config({"displays": {"type": "store_display", **settings}})
    with pytest.raises(ConfigError, match=message):
        load_config(workspace.config_path)


def test_a_feed_filtered_to_nothing_says_so_and_allow_empty_publishes(
    workspace: Workspace,
) -> None:
    workspace.write_products([good_row()])
    rules = {"include": {"brand": ["Nobody"]}}
    workspace.write_config({"google": {"type": "google_merchant", "currency": "KZT",
                                       "rules": rules}})  # fmt: skip
    report = pipeline.build(load_config(workspace.config_path))
    refused = report.channels[0].refused
    assert refused is not None and "filtered out every item" in refused
    assert "nothing was published" in refused
    workspace.write_config({"google": {"type": "google_merchant", "currency": "KZT",
                                       "rules": rules, "allow_empty": True}})  # fmt: skip
    report = pipeline.build(load_config(workspace.config_path))
    assert report.channels[0].published
    assert etree.parse(str(workspace.root / "out" / "google.xml")).findall(".//item") == []


# What each catalogue channel calls the product's title.
TITLE_FIELDS = {
    "google_merchant": "title", "meta": "title", "satu": "name", "kaspi": "model",
    "store_display": "title",
}  # fmt: skip


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("<b>Жирный</b> чайник <script>alert(1)</script>", "Жирный чайник"),
        ("\x1b[31mКРАСНЫЙ\x1b[0m\x1b]0;x\x07 чайник", "КРАСНЫЙ чайник"),
    ],
)
def test_a_title_is_the_same_plain_text_on_every_channel_with_one_warning(
    raw: str, shown: str
) -> None:
    config = load_config(DEMO_CONFIG)
    product = Product(
        sku="TITLE-HTML", title=raw, description="Чайник", price=Decimal("15990"),
        currency="KZT", url="https://shop.example.kz/p/1", brand="Acme",
        image_url="https://cdn.example.kz/1.jpg", category=("Кухня",),
    )  # fmt: skip
    checked = set()
    for name, settings in config.channels.items():
        field = TITLE_FIELDS.get(settings.type)
        if field is None:
            continue
        channel = lookup(settings.type)(name, settings)
        record = channel.to_record(product)
        assert record.fields[field] == shown, name
        found = [(p.field, p.severity) for p in channel.validate(record)
                 if p.code == "title_markup_removed"]  # fmt: skip
        assert found == [(field, Severity.WARNING)], name
        checked.add(settings.type)
    assert checked == set(TITLE_FIELDS)
