"""city_prices.csv and reviews.csv: loaded by SKU, bad rows reported with file and line."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from conftest import Workspace, csv_text, good_row

from omnisync.models import Problem, Product
from omnisync.rules import PriceRule, Rules, RuleSet, render
from omnisync.sources.csvfile import CsvSource


def read(tmp_path: Path, name: str, text: str) -> tuple[list[Product], list[Problem]]:
    products = tmp_path / "products.csv"
    products.write_text(csv_text([good_row(), good_row(sku="KETTLE-2")]), encoding="utf-8")
    side = tmp_path / f"{name}.csv"
    side.write_text(text, encoding="utf-8")
    problems: list[Problem] = []
    source = CsvSource(products, **{name: side})  # type: ignore[arg-type]
    return list(source.read(problems.append)), problems


def test_city_prices_attach_to_their_products(tmp_path: Path) -> None:
    text = 'sku,city_id,price\nKETTLE-1,750000000,15990\nKETTLE-1,710000000,"16 490,50"\n'
    (first, second), problems = read(tmp_path, "city_prices", text)
    assert first.city_prices == {"750000000": Decimal("15990"), "710000000": Decimal("16490.50")}
    assert second.city_prices is None
    assert problems == []


def test_bad_city_price_rows_are_reported_and_skipped(tmp_path: Path) -> None:
    text = ("sku,city_id,price\nKETTLE-1,750000000,abc\nKETTLE-1,<x>&,100\n"
            "KETTLE-1,750000000,100\nKETTLE-1,750000000,200\nGHOST,750000000,1\n")  # fmt: skip
    (first, _), problems = read(tmp_path, "city_prices", text)
    assert first.city_prices == {"750000000": Decimal("100")}
    found = [(p.code, p.line, p.field) for p in problems]
    assert found == [
        ("bad_city_price_row", 2, "price"),
        ("bad_city_price_row", 3, "city_id"),
        ("bad_city_price_row", 5, "city_id"),
        ("city_price_unknown_sku", 6, "sku"),  # a leftover names its SKU's first row
    ]
    assert all(p.file == "city_prices.csv" for p in problems)


@pytest.mark.parametrize("merge_sides", [False, True])
def test_a_side_row_of_an_unknown_sku_names_its_first_line(
    tmp_path: Path, merge_sides: bool
) -> None:
    """The text report printed "(stock.csv:None)"."""
    products = tmp_path / "products.csv"
    products.write_text(csv_text([good_row(sku="A"), good_row(sku="B")]), encoding="utf-8")
    stock = tmp_path / "stock.csv"
    stock.write_text("sku,location,quantity\nA,W,1\nGHOST,W,1\nGHOST,X,2\nB,W,3\n", "utf-8")
    problems: list[Problem] = []
    list(CsvSource(products, stock=stock, merge_sides=merge_sides).read(problems.append))
    assert [(p.code, p.sku, p.file, p.line) for p in problems] == [
        ("stock_unknown_sku", "GHOST", "stock.csv", 3)
    ]


def test_reviews_attach_and_bad_rows_are_reported(tmp_path: Path) -> None:
    text = "sku,rating,count\nKETTLE-1,4.5,12\nKETTLE-2,7,3\nKETTLE-2,4,-1\nKETTLE-2,x,1\n"
    (first, second), problems = read(tmp_path, "reviews", text)
    assert (first.rating, first.review_count) == (Decimal("4.5"), 12)
    assert (second.rating, second.review_count) == (None, None)
    assert [(p.line, p.field, p.code) for p in problems] == [
        (3, "rating", "bad_review_row"), (4, "count", "bad_review_row"),
        (5, "rating", "bad_review_row"),
    ]  # fmt: skip


def test_price_rules_reach_city_prices() -> None:
    product = Product(
        sku="A",
        title="A",
        price=Decimal("1000"),
        url="",
        image_url="",
        city_prices={"750000000": Decimal("1000")},
    )
    shown = RuleSet(Rules(price=PriceRule(markup_percent=Decimal(10)))).apply(product)
    assert shown.city_prices == {"750000000": Decimal("1100.00")}


def test_exclude_leaves_out_a_product_matching_any_criterion() -> None:
    rules = RuleSet(Rules.model_validate({"exclude": {"brand": ["Nomad"], "sku": ["*-REF"]}}))

    def p(sku: str, brand: str) -> Product:
        return Product(sku=sku, title="t", price=Decimal(1), url="", image_url="", brand=brand)

    assert not rules.admits(p("A-1", "Nomad"), None)
    assert not rules.admits(p("A-REF", "Acme"), None)
    assert rules.admits(p("A-1", "Acme"), None)


def test_category_keys_are_normalised() -> None:
    rules = RuleSet(Rules.model_validate({"categories": {"Дом>Посуда": "672", "Дом": "536"}}))
    product = Product(
        sku="A",
        title="t",
        price=Decimal(1),
        url="",
        image_url="",
        category=("Дом", "Посуда", "Казаны"),
    )
    assert rules.category(product) == "672"


def test_templates_keep_line_breaks_and_drop_empty_gaps() -> None:
    product = Product(
        sku="A",
        title="Kettle",
        price=Decimal(1),
        url="",
        image_url="",
        description="Line one\\nLine two",
    )
    assert render("{brand} {title}", product) == "Kettle"
    assert render("{title}: {description}", product) == "Kettle: Line one\\nLine two"


@pytest.mark.parametrize("engine", [True, False])
def test_a_run_reads_the_side_files_its_channels_read(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch, engine: bool
) -> None:
    """city_prices.csv is Kaspi's: a Google build does not read it (its broken rows are the
    Kaspi runs' to report), a Kaspi build does — on the engine's path and the per-item one."""
    from omnisync import pipeline
    from omnisync.config import load_config
    from omnisync.engine import run as engine_run

    if not engine:
        monkeypatch.setattr(engine_run, "plan", lambda run: None)
    workspace.write_products([good_row(sku="K-1")])
    (workspace.root / "city_prices.csv").write_text("sku,city_id,price\nK-1,x,abc\n", "utf-8")
    (workspace.root / "locations.csv").write_text(
        "code,name,type,city\nS1,Store 1,store,750000000\n", encoding="utf-8"
    )
    kaspi = {"type": "kaspi", "company": "Shop", "merchant_id": "1", "stores": {"S1": "PP1"}}
    google = {"type": "google_merchant", "format": "xml", "currency": "KZT"}
    catalog = {"city_prices": "city_prices.csv", "locations": "locations.csv"}
    config = load_config(workspace.write_config({"google": google, "kaspi": kaspi}, **catalog))

    def problems(channel: str) -> list[tuple[str | None, int | None]]:
        report = pipeline.build(config, [channel])
        return [(p.file, p.line) for p in report.problems if p.file == "city_prices.csv"]

    assert problems("google") == []
    assert problems("kaspi") == [("city_prices.csv", 2)]
