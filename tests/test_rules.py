"""Declarative channel rules (the ``rules:`` block): config validation with key paths, the
compiled RuleSet (filters, templates, price, categories, stock) and their effect on every feed.
"""

from __future__ import annotations

import copy
import csv
import json
import shutil
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import DEMO_CONFIG, HEADER, ROOT, Workspace, good_row
from lxml import etree

from omnisync import pipeline
from omnisync.channels.base import ChannelContext
from omnisync.channels.google import GoogleMerchant, GoogleMerchantConfig
from omnisync.channels.kaspi import Kaspi, KaspiConfig
from omnisync.channels.meta import MetaCatalog, MetaConfig
from omnisync.channels.satu import Satu, SatuConfig
from omnisync.config import load_config
from omnisync.errors import ConfigError
from omnisync.models import Location, Product
from omnisync.report import RunReport
from omnisync.rules import PriceRule, Rules, RuleSet, adjust_price, render

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
G = "{http://base.google.com/ns/1.0}"
K = "{kaspiShopping}"
DEMO = ROOT / "configs" / "demo"
SHOP = {"name": "Shop", "company": "Shop LLP", "url": "https://shop.example.kz"}


def product(**overrides: Any) -> Product:
    base: dict[str, Any] = {
        "sku": "KETTLE-1",
        "title": "Kettle",
        "price": Decimal("15990"),
        "url": "https://shop.example.kz/p/kettle-1",
        "image_url": "https://cdn.example.kz/img/kettle-1.jpg",
        "brand": "Acme",
        "category": ("Бытовая техника", "Кухня"),
        "quantity": 5,
    }
    return Product(**{**base, **overrides})


def ruleset(**rules: Any) -> RuleSet:
    return RuleSet(Rules.model_validate(rules))


def google(**rules: Any) -> GoogleMerchant:
    config = GoogleMerchantConfig(type="google_merchant", currency="KZT", rules=rules)
    return GoogleMerchant("google", config)


# --- config validation through load_config ------------------------------------------------------


def config_with_rules(workspace: Workspace, rules: object) -> Path:
    workspace.write_products([good_row()])
    channel = {"type": "google_merchant", "currency": "KZT", "rules": rules}
    return workspace.write_config(channels={"google": channel})


def config_issues(workspace: Workspace, rules: object) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as caught:
        load_config(config_with_rules(workspace, rules))
    return caught.value.issues


def paths(issues: list[tuple[str, str]]) -> list[str]:
    return [path for path, _ in issues]


def test_valid_rules_load(workspace: Workspace) -> None:
    rules = {
        "include": {"category": ["Бытовая техника"], "brand": ["acme"], "in_stock": True},
        "exclude": {"sku": ["*-REF"]},
        "fields": {"title": "{brand} {title}"},
        "price": {"markup_percent": 10, "add": 5, "round_to": 10, "rounding": "up"},
        "categories": {"Бытовая техника": "604"},
        "stock": {"buffer": 2, "allocate_percent": 50, "max": 10, "floor": 1},
    }
    config = load_config(config_with_rules(workspace, rules))
    loaded = config.channels["google"].rules
    assert loaded.stock is not None and loaded.stock.buffer == 2
    assert loaded.price is not None and loaded.price.rounding == "up"
    assert loaded.fields == {"title": "{brand} {title}"}


def test_unknown_key_inside_rules_names_its_path(workspace: Workspace) -> None:
    issues = config_issues(workspace, {"stok": {"buffer": 2}})
    assert paths(issues) == ["channels.google.rules.stok"]
    assert "unknown key" in issues[0][1]


def test_unknown_key_inside_a_filter_names_its_path(workspace: Workspace) -> None:
    issues = config_issues(workspace, {"include": {"brands": ["Acme"]}})
    assert paths(issues) == ["channels.google.rules.include.brands"]


@pytest.mark.parametrize(
    "template",
    [
        "{title.__class__}",
        "{title.__class__.__init__.__globals__}",
        "{title[0]}",
        "{price:>10}",
        "{title!r}",
        "{}",
        "{0}",
        "{title",
    ],
)
def test_template_that_is_not_a_plain_placeholder_is_refused(
    workspace: Workspace, template: str
) -> None:
    issues = config_issues(workspace, {"fields": {"title": template}})
    assert paths(issues) == ["channels.google.rules.fields"]


def test_template_target_that_cannot_be_templated_is_refused(workspace: Workspace) -> None:
    issues = config_issues(workspace, {"fields": {"price": "{title}"}})
    assert paths(issues) == ["channels.google.rules.fields"]
    assert "'price' cannot be templated" in issues[0][1]


@pytest.mark.parametrize(
    ("rules", "path"),
    [
        ({"stock": {"buffer": -1}}, "channels.google.rules.stock.buffer"),
        ({"stock": {"allocate_percent": 150}}, "channels.google.rules.stock.allocate_percent"),
        ({"stock": {"allocate_percent": -1}}, "channels.google.rules.stock.allocate_percent"),
        ({"stock": {"max": -1}}, "channels.google.rules.stock.max"),
        ({"stock": {"floor": -3}}, "channels.google.rules.stock.floor"),
        ({"price": {"round_to": 0}}, "channels.google.rules.price.round_to"),
        ({"price": {"round_to": -10}}, "channels.google.rules.price.round_to"),
        ({"price": {"markup_percent": -101}}, "channels.google.rules.price.markup_percent"),
        ({"price": {"rounding": "banker"}}, "channels.google.rules.price.rounding"),
        ({"include": {"min_price": -1}}, "channels.google.rules.include.min_price"),
    ],
)
def test_out_of_range_rule_values_name_their_key_path(
    workspace: Workspace, rules: dict[str, object], path: str
) -> None:
    assert paths(config_issues(workspace, rules)) == [path]


def test_every_rule_error_is_reported_at_once(workspace: Workspace) -> None:
    issues = config_issues(
        workspace, {"stock": {"buffer": -1, "allocate_percent": 150}, "price": {"round_to": 0}}
    )
    assert sorted(paths(issues)) == [
        "channels.google.rules.price.round_to",
        "channels.google.rules.stock.allocate_percent",
        "channels.google.rules.stock.buffer",
    ]


# --- filters ------------------------------------------------------------------------------------

AUDIO = product(sku="HP-1", category=("Электроника", "Аудио"), brand="Sonora")
ELECTRONICS = product(sku="PH-1", category=("Электроника",), brand="Acme")
LOOKALIKE = product(sku="X-1", category=("Электроника2", "Аудио"), brand="Acme")
KITCHEN = product(sku="KT-1", category=("Бытовая техника", "Кухня"), brand="ACME")


def test_include_category_is_a_path_prefix() -> None:
    rules = ruleset(include={"category": ["Электроника"]})
    assert rules.admits(AUDIO, 5)
    assert rules.admits(ELECTRONICS, 5)
    assert not rules.admits(LOOKALIKE, 5)
    assert not rules.admits(KITCHEN, 5)


def test_include_category_deeper_prefix() -> None:
    rules = ruleset(include={"category": ["Электроника > Аудио"]})
    assert rules.admits(AUDIO, 5)
    assert not rules.admits(ELECTRONICS, 5)


def test_include_brand_ignores_case() -> None:
    rules = ruleset(include={"brand": ["acme"]})
    assert rules.admits(KITCHEN, 5)  # "ACME"
    assert rules.admits(ELECTRONICS, 5)  # "Acme"
    assert not rules.admits(AUDIO, 5)  # "Sonora"


def test_include_sku_glob() -> None:
    rules = ruleset(include={"sku": ["HP-*", "*-REF"]})
    assert rules.admits(product(sku="HP-SONORA"), 5)
    assert rules.admits(product(sku="PH-A15-REF"), 5)
    assert not rules.admits(product(sku="PH-A15"), 5)
    assert not rules.admits(product(sku="hp-lower"), 5)  # globs are case-sensitive


def test_include_min_price() -> None:
    rules = ruleset(include={"min_price": 10000})
    assert rules.admits(product(price=Decimal("10000")), 5)
    assert not rules.admits(product(price=Decimal("9999.99")), 5)


def test_include_in_stock() -> None:
    rules = ruleset(include={"in_stock": True})
    assert rules.admits(product(), 3)
    assert not rules.admits(product(), 0)
    assert rules.admits(product(), None)  # stock not tracked counts as in stock


def test_include_out_of_stock_only() -> None:
    rules = ruleset(include={"in_stock": False})
    assert rules.admits(product(), 0)
    assert not rules.admits(product(), 3)
    assert not rules.admits(product(), None)


def test_include_criteria_all_must_hold() -> None:
    rules = ruleset(include={"category": ["Электроника"], "brand": ["Acme"]})
    assert rules.admits(ELECTRONICS, 5)
    assert not rules.admits(AUDIO, 5)  # right category, wrong brand
    assert not rules.admits(KITCHEN, 5)  # right brand, wrong category


def test_exclude_beats_include() -> None:
    rules = ruleset(include={"brand": ["Acme"]}, exclude={"sku": ["PH-*"]})
    assert not rules.admits(ELECTRONICS, 5)
    assert rules.admits(KITCHEN, 5)


def test_exclude_with_no_criteria_excludes_nothing() -> None:
    rules = ruleset(exclude={})
    assert all(rules.admits(p, q) for p in (AUDIO, ELECTRONICS, KITCHEN) for q in (0, 5, None))


def test_include_with_no_criteria_admits_everything() -> None:
    rules = ruleset(include={})
    assert all(rules.admits(p, q) for p in (AUDIO, LOOKALIKE) for q in (0, None))


def test_exclude_out_of_stock() -> None:
    rules = ruleset(exclude={"in_stock": False})
    assert not rules.admits(product(), 0)
    assert rules.admits(product(), 1)
    assert rules.admits(product(), None)


def test_prepare_filters_on_units_after_the_stock_rule() -> None:
    channel = google(include={"in_stock": True}, stock={"buffer": 2})
    assert channel.prepare(product(quantity=3)) is not None
    assert channel.prepare(product(quantity=2)) is None  # 2 - buffer 2 = 0 units shown
    assert channel.prepare(product(quantity=None)) is not None


def test_prepare_returns_none_for_an_excluded_product() -> None:
    channel = google(exclude={"brand": ["acme"]})
    assert channel.prepare(product(brand="Acme")) is None
    assert channel.prepare(product(brand="Sonora")) is not None


# --- templates ----------------------------------------------------------------------------------


def test_template_prefixes_the_brand() -> None:
    shown = google(fields={"title": "{brand} {title}"}).prepare(product())
    assert shown is not None
    assert shown.title == "Acme Kettle"


def test_template_with_empty_brand_leaves_no_leading_space() -> None:
    shown = ruleset(fields={"title": "{brand} {title}"}).apply(product(brand=""))
    assert shown.title == "Kettle"


def test_template_with_empty_middle_value_leaves_no_double_space() -> None:
    rules = ruleset(fields={"title": "{brand} {color} {title}"})
    assert rules.apply(product(color="")).title == "Acme Kettle"


def test_template_reads_a_custom_attribute_column() -> None:
    rules = ruleset(fields={"title": "{title}, {material}"})
    shown = rules.apply(product(attributes={"material": "steel"}))
    assert shown.title == "Kettle, steel"


def test_unknown_placeholder_renders_empty() -> None:
    assert render("{brand} {nonexistent} {title}", product()) == "Acme Kettle"


def test_template_keeps_literal_text_and_escaped_braces() -> None:
    assert render("{{{brand}}} – {title}!", product()) == "{Acme} – Kettle!"


def test_template_can_set_several_fields() -> None:
    rules = ruleset(fields={"brand": "{brand} Co", "mpn": "{sku}"})
    shown = rules.apply(product())
    assert (shown.brand, shown.mpn) == ("Acme Co", "KETTLE-1")
    assert shown.title == "Kettle"  # untouched


def test_template_from_a_csv_attribute_reaches_the_feed(workspace: Workspace) -> None:
    header = [*HEADER, "material"]
    workspace.write_products([{**good_row(), "material": "steel"}], header=header)
    rules = {"fields": {"title": "{brand} {title} ({material})"}}
    config = load_config(
        workspace.write_config(
            channels={"google": {"type": "google_merchant", "currency": "KZT", "rules": rules}}
        )
    )
    config = config.model_copy(update={"output_dir": workspace.root / "out"})
    pipeline.build(config, now=NOW)
    feed = etree.parse(str(workspace.root / "out" / "google.xml"))
    assert feed.findtext("channel/item/title") == "Acme Acme Electric Kettle 1.7 L (steel)"


# --- price rule ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rounding", "expected"),
    [("nearest", Decimal("17590")), ("up", Decimal("17600")), ("down", Decimal("17590"))],
)
def test_price_rule_markup_add_and_round(rounding: str, expected: Decimal) -> None:
    # 15990 * 1.10 + 5 = 17594 → step 10
    rule = PriceRule(
        markup_percent=Decimal(10), add=Decimal(5), round_to=Decimal(10), rounding=rounding
    )
    assert adjust_price(Decimal("15990"), rule) == expected


@pytest.mark.parametrize(
    ("rounding", "expected"),
    [("nearest", Decimal("120")), ("up", Decimal("120")), ("down", Decimal("110"))],
)
def test_price_rule_half_step_rounding(rounding: str, expected: Decimal) -> None:
    # 100 * 1.10 + 5 = 115: exactly half a step
    rule = PriceRule(
        markup_percent=Decimal(10), add=Decimal(5), round_to=Decimal(10), rounding=rounding
    )
    assert adjust_price(Decimal("100"), rule) == expected


def test_price_rule_without_rounding_keeps_cents() -> None:
    rule = PriceRule(markup_percent=Decimal("12.5"))
    assert adjust_price(Decimal("99.99"), rule) == Decimal("112.49")  # 112.48875 → cents


def test_price_rule_never_negative() -> None:
    assert adjust_price(Decimal("100"), PriceRule(add=Decimal(-500))) == Decimal(0)
    assert adjust_price(Decimal("100"), PriceRule(markup_percent=Decimal(-100))) == Decimal(0)


def test_price_rule_applies_to_sale_price_too() -> None:
    rules = ruleset(price={"markup_percent": 10, "add": 5, "round_to": 10, "rounding": "up"})
    shown = rules.apply(product(price=Decimal("15990"), sale_price=Decimal("100")))
    assert shown.price == Decimal("17600")
    assert shown.sale_price == Decimal("120")


def test_price_rule_leaves_a_missing_sale_price_missing() -> None:
    shown = ruleset(price={"add": 5}).apply(product(sale_price=None))
    assert shown.sale_price is None
    assert shown.price == Decimal("15995")


def test_price_rule_reaches_the_kaspi_price() -> None:
    config = KaspiConfig(
        type="kaspi",
        company="c",
        merchant_id="1",
        stores={"S1": "PP1"},
        rules={"price": {"markup_percent": 10}},
    )
    channel = Kaspi("kaspi", config)
    shown = channel.prepare(product(price=Decimal("1000")))
    assert shown is not None
    assert channel.to_record(shown).fields["price"] == 1100


def test_price_rule_reaches_kaspi_city_prices() -> None:
    """Regression: city prices used to bypass the price rule."""
    config = KaspiConfig(
        type="kaspi",
        company="c",
        merchant_id="1",
        stores={"S1": "PP1"},
        rules={"price": {"markup_percent": 10}},
    )
    channel = Kaspi("kaspi", config)
    shown = channel.prepare(
        product(price=Decimal("1000"), city_prices={"750000000": Decimal("1000")})
    )
    assert shown is not None
    assert channel.to_record(shown).fields["cityprices"] == [("750000000", 1100)]


# --- category mapping ---------------------------------------------------------------------------

CATEGORIES = {"Электроника": "222", "Электроника > Аудио": "223"}


def test_category_mapping_longest_prefix_wins() -> None:
    rules = ruleset(categories=CATEGORIES)
    assert rules.category(product(category=("Электроника", "Аудио", "Наушники"))) == "223"
    assert rules.category(product(category=("Электроника", "Смартфоны"))) == "222"
    assert rules.category(product(category=("Электроника2",))) is None
    assert rules.category(product(category=())) is None


def test_category_mapping_order_in_config_does_not_matter() -> None:
    reversed_order = dict(reversed(list(CATEGORIES.items())))
    rules = ruleset(categories=reversed_order)
    assert rules.category(product(category=("Электроника", "Аудио"))) == "223"


def test_category_mapping_feeds_google_product_category() -> None:
    channel = google(categories=CATEGORIES)
    audio = product(category=("Электроника", "Аудио", "Наушники"), google_category="505771")
    other = product(category=("Дом",), google_category="536")
    assert channel.to_record(audio).fields["google_product_category"] == "223"
    assert channel.to_record(other).fields["google_product_category"] == "536"  # no mapping


def test_category_mapping_feeds_satu_portal_category_id() -> None:
    config = SatuConfig(type="satu", shop=SHOP, rules={"categories": CATEGORIES})
    channel = Satu("satu", config)
    audio = product(category=("Электроника", "Аудио", "Наушники"))
    phone = product(category=("Электроника", "Смартфоны"))
    kitchen = product(category=("Бытовая техника",))
    assert channel.to_record(audio).fields["portal_category_id"] == "223"
    assert channel.to_record(phone).fields["portal_category_id"] == "222"
    assert channel.to_record(kitchen).fields["portal_category_id"] is None


# --- stock rule ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stock", "on_hand", "expected"),
    [
        ({"buffer": 2, "allocate_percent": 50}, 10, 4),
        ({"buffer": 2, "allocate_percent": 50, "max": 3}, 10, 3),
        ({"buffer": 2, "allocate_percent": 50, "max": 3, "floor": 3}, 10, 0),
        ({"buffer": 2, "allocate_percent": 50, "floor": 3}, 10, 4),
        ({"buffer": 2, "allocate_percent": 50}, 11, 4),  # 4.5 rounded down
        ({"allocate_percent": 33}, 10, 3),  # 3.3 rounded down
        ({"allocate_percent": 0}, 100, 0),
        ({"buffer": 2}, 1, 0),  # never negative
        ({"buffer": 2}, 2, 0),
        ({"buffer": 2}, 0, 0),
        ({"max": 5}, 100, 5),
        ({"floor": 2}, 2, 0),
        ({"floor": 2}, 3, 3),
        ({}, 7, 7),
    ],
)
def test_stock_rule_order(stock: dict[str, int], on_hand: int, expected: int) -> None:
    assert ruleset(stock=stock).units(on_hand) == expected


def test_stock_rule_buffer_applies_before_allocation() -> None:
    # buffer first: (10 - 4) * 50% = 3; allocation first would be 10 * 50% - 4 = 1
    assert ruleset(stock={"buffer": 4, "allocate_percent": 50}).units(10) == 3


def test_stock_rule_keeps_untracked_stock_untracked() -> None:
    assert ruleset(stock={"buffer": 2, "max": 3, "floor": 1}).units(None) is None


def test_no_stock_rule_passes_units_through() -> None:
    assert ruleset().units(10) == 10
    assert ruleset().units(None) is None


def test_channel_units_apply_the_stock_rule_over_its_locations() -> None:
    config = MetaConfig(
        type="meta",
        currency="KZT",
        locations=["A", "B"],
        rules={"stock": {"buffer": 2, "allocate_percent": 50}},
    )
    channel = MetaCatalog("meta", config)
    stocked = product(stock={"A": 6, "B": 4, "C": 100})
    assert channel.units(stocked) == 4  # (6 + 4 - 2) * 50%
    assert channel.units(product(quantity=None)) is None


def test_channel_units_at_applies_the_stock_rule_per_store() -> None:
    config = KaspiConfig(
        type="kaspi",
        company="c",
        merchant_id="1",
        stores={"A": "PP1"},
        rules={"stock": {"buffer": 2}},
    )
    locations = {c: Location(code=c, name=c, type="store") for c in ("A", "B")}
    channel = Kaspi("kaspi", config, ChannelContext(locations=locations, now=NOW))
    stocked = product(stock={"A": 5, "B": 1})
    assert channel.units_at(stocked, "A") == 3
    assert channel.units_at(stocked, "B") == 0
    assert channel.units_at(stocked, "missing") == 0
    assert channel.units_at(product(stock=None, quantity=9), "A") is None


# --- a rule change shows in every affected feed -------------------------------------------------

BUFFER = 2
STORE_CODES = {"ALM-1": "PP1", "AST-1": "PP2", "SHM-1": "PP3"}
LOCAL_CODES = {"ALM-1": "almaty-abaya", "AST-1": "astana-turan", "SHM-1": "shymkent-tauke"}


def demo_copy(root: Path, rules: dict[str, object] | None = None) -> Path:
    """configs/demo/ copied under ``root`` with a config like configs/demo.yaml writing to
    ``root/out``; ``rules`` is added to every channel."""
    shutil.copytree(DEMO, root / "demo")
    data = yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8"))
    data["output_dir"] = str(root / "out")
    if rules is not None:
        for channel in data["channels"].values():
            channel["rules"] = copy.deepcopy(rules)
    path = root / "demo.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def demo_stock() -> dict[str, dict[str, int]]:
    stock: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    with (DEMO / "stock.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            stock[row["sku"]][row["location"]] += int(row["quantity"])
    return stock


class Feeds:
    """The stock figures of one demo build, per channel, by SKU."""

    def __init__(self, out: Path, report: RunReport) -> None:
        self.report = report
        self.kaspi = self._kaspi(out / "kaspi.xml")
        self.local = self._local(out / "local.tsv")
        self.display = self._display(out / "displays")
        with (out / "meta.csv").open(encoding="utf-8", newline="") as f:
            self.meta = {r["id"]: r["quantity_to_sell_on_facebook"] for r in csv.DictReader(f)}
        satu = etree.parse(str(out / "satu.xml"))
        self.satu = {o.get("id"): o.findtext("quantity_in_stock") for o in satu.iter("offer")}
        google_feed = etree.parse(str(out / "google.xml"))
        self.google = {
            i.findtext(f"{G}id"): i.findtext(f"{G}availability") for i in google_feed.iter("item")
        }

    @staticmethod
    def _kaspi(path: Path) -> dict[str, dict[str, str | None]]:
        return {
            offer.get("sku"): {
                a.get("storeId"): a.get("stockCount") for a in offer.iter(f"{K}availability")
            }
            for offer in etree.parse(str(path)).iter(f"{K}offer")
        }

    @staticmethod
    def _local(path: Path) -> dict[str, dict[str, str]]:
        found: dict[str, dict[str, str]] = defaultdict(dict)
        with path.open(encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f, delimiter="\t"):
                found[row["id"]][row["store_code"]] = row["quantity"]
        return found

    @staticmethod
    def _display(folder: Path) -> dict[str, dict[str, int | None]]:
        found: dict[str, dict[str, int | None]] = defaultdict(dict)
        for store in STORE_CODES:
            data = json.loads((folder / f"{store}.json").read_text(encoding="utf-8"))
            for item in data["products"]:
                found[item["sku"]][store] = item["quantity_here"]
        return found


@pytest.fixture(scope="module")
def before_after(tmp_path_factory: pytest.TempPathFactory) -> tuple[Feeds, Feeds]:
    builds = []
    for name, rules in (("plain", None), ("buffered", {"stock": {"buffer": BUFFER}})):
        root = tmp_path_factory.mktemp(name)
        report = pipeline.build(load_config(demo_copy(root, rules)), now=NOW)
        builds.append(Feeds(root / "out", report))
    return builds[0], builds[1]


def less(value: int) -> int:
    return max(value - BUFFER, 0)


FOCUS = "VAC-ACME-S7"  # WH-1 2, AST-1 2, SHM-1 3, none at ALM-1: 7 in total


def test_focus_sku_stock_is_what_the_test_expects() -> None:
    assert demo_stock()[FOCUS] == {"WH-1": 2, "AST-1": 2, "SHM-1": 3}


def test_buffer_lowers_kaspi_stock_count_per_store(before_after: tuple[Feeds, Feeds]) -> None:
    before, after = before_after
    assert before.kaspi[FOCUS] == {"PP1": "0", "PP2": "2", "PP3": "3"}
    assert after.kaspi[FOCUS] == {"PP1": "0", "PP2": "0", "PP3": "1"}
    for sku, stores in before.kaspi.items():
        assert after.kaspi[sku] == {s: str(less(int(q or 0))) for s, q in stores.items()}, sku


def test_buffer_lowers_local_inventory_quantity_per_store(
    before_after: tuple[Feeds, Feeds],
) -> None:
    before, after = before_after
    assert after.local[FOCUS] == {"almaty-abaya": "0", "astana-turan": "0", "shymkent-tauke": "1"}
    for sku, stores in before.local.items():
        assert after.local[sku] == {s: str(less(int(q))) for s, q in stores.items()}, sku


def test_buffer_lowers_store_display_quantity_here(before_after: tuple[Feeds, Feeds]) -> None:
    before, after = before_after
    assert after.display[FOCUS] == {"ALM-1": 0, "AST-1": 0, "SHM-1": 1}
    for sku, stores in before.display.items():
        assert after.display[sku] == {s: less(q or 0) for s, q in stores.items()}, sku


def test_buffer_lowers_meta_quantity_once_over_all_locations(
    before_after: tuple[Feeds, Feeds],
) -> None:
    before, after = before_after
    assert (before.meta[FOCUS], after.meta[FOCUS]) == ("7", "5")
    for sku, quantity in before.meta.items():
        assert after.meta[sku] == str(less(int(quantity))), sku


def test_buffer_lowers_satu_quantity_in_stock(before_after: tuple[Feeds, Feeds]) -> None:
    before, after = before_after
    assert (before.satu[FOCUS], after.satu[FOCUS]) == ("7", "5")
    for sku, quantity in before.satu.items():
        assert quantity is not None
        assert after.satu[sku] == str(less(int(quantity))), sku


def test_buffer_flips_low_stock_products_out_of_stock_on_google(
    before_after: tuple[Feeds, Feeds],
) -> None:
    before, after = before_after
    totals = {sku: sum(stores.values()) for sku, stores in demo_stock().items()}
    low = sorted(sku for sku in before.google if 0 < totals.get(sku, 0) <= BUFFER)
    assert low  # the demo has such products (e.g. TV-ACME-32-USED with 1 unit)
    assert "TV-ACME-32-USED" in low
    for sku in low:
        assert (before.google[sku], after.google[sku]) == ("in_stock", "out_of_stock"), sku
    for sku, availability in before.google.items():
        if totals.get(sku, 0) > BUFFER:
            assert availability == after.google[sku] == "in_stock", sku


def test_buffer_keeps_every_item_in_every_feed(before_after: tuple[Feeds, Feeds]) -> None:
    before, after = before_after
    for channel in ("kaspi", "local", "display", "meta", "satu", "google"):
        assert set(getattr(before, channel)) == set(getattr(after, channel)), channel
    assert [s.filtered for s in after.report.channels] == [0] * len(after.report.channels)


# --- filtered products in the run report --------------------------------------------------------


def test_filtered_products_are_counted_not_reported(workspace: Workspace) -> None:
    workspace.write_products(
        [
            good_row(),
            good_row(sku="SONORA-1", brand="Sonora", url="https://shop.example.kz/p/s1"),
            good_row(sku="SONORA-2", brand="sonora", url="https://shop.example.kz/p/s2"),
        ]
    )
    rules = {"exclude": {"brand": ["SONORA"]}}
    config = load_config(
        workspace.write_config(
            channels={
                "google": {"type": "google_merchant", "currency": "KZT", "rules": rules},
                "meta": {"type": "meta", "currency": "KZT"},
            }
        )
    )
    report = pipeline.build(config, now=NOW)
    google_stats, meta_stats = report.channels
    assert (google_stats.filtered, google_stats.items_total, google_stats.items_valid) == (2, 1, 1)
    assert (meta_stats.filtered, meta_stats.items_total) == (0, 3)
    assert google_stats.excluded == 0
    assert not report.has_errors
    assert not [p for p in report.problems if p.sku in {"SONORA-1", "SONORA-2"}]
    feed = etree.parse(str(workspace.root / "out" / "google.xml"))
    assert [i.findtext(f"{G}id") for i in feed.iter("item")] == ["KETTLE-1"]


def test_filtered_products_count_in_validate_too(workspace: Workspace) -> None:
    workspace.write_products(
        [good_row(), good_row(sku="CHEAP-1", price="100", url="https://shop.example.kz/p/c")]
    )
    rules = {"include": {"min_price": 1000}}
    config = load_config(
        workspace.write_config(
            channels={"google": {"type": "google_merchant", "currency": "KZT", "rules": rules}}
        )
    )
    report = pipeline.validate(config, now=NOW)
    (stats,) = report.channels
    assert (stats.filtered, stats.items_total) == (1, 1)
    assert report.problems == []
