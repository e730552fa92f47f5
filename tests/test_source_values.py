"""Cells every table source refuses before a channel sees them (CSV files, SQL rows and API
items share the cells, ``sources/tabular.py``): ids feeds would clean into twins."""

from __future__ import annotations

import json
import shutil
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from conftest import DEMO_CONFIG, csv_text, good_row
from pydantic import ValidationError
from typer.testing import CliRunner

from omnisync.catalogs import SqlCatalog
from omnisync.cli import app
from omnisync.models import Problem, Product
from omnisync.sources.csvfile import CsvSource
from omnisync.sources.sql import SqlSource
from omnisync.sources.values import RowError, check_id, parse_money, parse_on_hand


def read_csv(tmp_path: Path, rows: list[dict[str, str]]) -> tuple[list[Product], list[Problem]]:
    path = tmp_path / "products.csv"
    path.write_text(csv_text(rows), encoding="utf-8")
    problems: list[Problem] = []
    return list(CsvSource(path).read(problems.append)), problems


def read_sql(tmp_path: Path, rows: list[dict[str, str]]) -> tuple[list[Product], list[Problem]]:
    """The rows in an SQLite table, read with a products query."""
    path = tmp_path / "erp.db"
    columns = list(rows[0])
    with sqlite3.connect(path) as db:
        db.execute(f"CREATE TABLE goods ({', '.join(columns)})")
        marks = ", ".join("?" * len(columns))
        db.executemany(f"INSERT INTO goods VALUES ({marks})", [list(r.values()) for r in rows])
    db.close()
    settings = SqlCatalog(
        source="sql", url=f"sqlite:///{path}", products_query="SELECT * FROM goods ORDER BY rowid"
    )
    problems: list[Problem] = []
    return list(SqlSource(settings, tmp_path / "omnisync.yaml").read(problems.append)), problems


def refused(problems: list[Problem]) -> list[tuple[str, str | None, str | None, int | None]]:
    return [(p.code, p.field, p.file, p.line) for p in problems]


# --- ids with characters feeds clean away -----------------------------------------------------


@pytest.mark.parametrize(
    ("sku", "named"),
    [("A\tB", "a tab"), ("A\nB", "a line break"), ("A\r\nB", "a line break"),
     ("A\x00B", "U+0000"), ("A\x1fB", "U+001F"), ("A\x85B", "U+0085")],
)  # fmt: skip
def test_a_sku_with_a_control_character_is_refused_and_its_twin_kept(
    tmp_path: Path, sku: str, named: str
) -> None:
    rows = [good_row(sku=sku), good_row(sku="A B"), good_row(sku="C")]
    products, problems = read_csv(tmp_path, rows)
    assert [p.sku for p in products] == ["A B", "C"]
    assert refused(problems) == [("control_character", "sku", "products.csv", 2)]
    assert named in problems[0].message
    assert problems[0].sku == repr(sku)[1:-1]  # shown escaped, on one line


def test_a_lone_surrogate_is_refused_too() -> None:
    # Only an API's JSON ("\ud800") can hold one: a file's bad bytes are invalid_utf8 first.
    with pytest.raises(RowError, match="U\\+D800") as caught:
        check_id("A\ud800B", "sku")
    assert caught.value.code == "control_character"


def test_an_item_group_id_with_a_control_character_is_refused(tmp_path: Path) -> None:
    rows = [good_row(sku="A", item_group_id="G\t1"), good_row(sku="B", item_group_id="G 1")]
    products, problems = read_csv(tmp_path, rows)
    assert [p.sku for p in products] == ["B"]
    assert refused(problems) == [("control_character", "item_group_id", "products.csv", 2)]
    assert problems[0].sku == "A"


def test_a_database_sku_with_a_line_break_is_refused(tmp_path: Path) -> None:
    products, problems = read_sql(tmp_path, [good_row(sku="A\nB"), good_row(sku="A B")])
    assert [p.sku for p in products] == ["A B"]
    assert refused(problems) == [("control_character", "sku", "products_query", 1)]


@pytest.mark.parametrize("sku", ["A\u00a0B", "КОД-1", "A\u200bB", "A—B"])
def test_other_unusual_characters_stay_in_ids(tmp_path: Path, sku: str) -> None:
    products, problems = read_csv(tmp_path, [good_row(sku=sku, item_group_id=sku)])
    assert problems == []
    assert [(p.sku, p.item_group_id) for p in products] == [(sku, sku)]


# --- digits that only look like numbers -------------------------------------------------------

LOOKALIKES = ["１２３", "١٢٣", "۱۲۳", "१२३", "12３", "1２,50", "๕"]  # full-width, Arabic-Indic, …


@pytest.mark.parametrize("raw", LOOKALIKES)
@pytest.mark.parametrize("field", ["price", "sale_price", "quantity"])
def test_non_ascii_digits_in_a_number_are_refused(tmp_path: Path, raw: str, field: str) -> None:
    # Python's Decimal and int read them as numbers; a shop's 0-9 is what was meant, or not.
    rows = [{**good_row(sku="A", price="99999"), field: raw}, good_row(sku="B")]
    products, problems = read_csv(tmp_path, rows)
    assert [p.sku for p in products] == ["B"]
    assert refused(problems) == [("non_ascii_digits", field, "products.csv", 2)]
    assert "non-ASCII digits" in problems[0].message


def test_non_ascii_digits_from_a_database_are_refused(tmp_path: Path) -> None:
    products, problems = read_sql(tmp_path, [good_row(sku="A", price="١٥٩٩٠"), good_row(sku="B")])
    assert [p.sku for p in products] == ["B"]
    assert refused(problems) == [("non_ascii_digits", "price", "products_query", 1)]


@pytest.mark.parametrize(
    ("name", "text", "field"),
    [
        ("stock", "sku,location,quantity\nA,WH-1,٣\n", "quantity"),
        ("city_prices", "sku,city_id,price\nA,750000000,１５９９０\n", "price"),
        ("reviews", "sku,rating,count\nA,４,2\n", "rating"),
        ("reviews", "sku,rating,count\nA,4,１２\n", "count"),
    ],
)
def test_side_files_refuse_non_ascii_digits(
    tmp_path: Path, name: str, text: str, field: str
) -> None:
    products_csv = tmp_path / "products.csv"
    products_csv.write_text(csv_text([good_row(sku="A")]), encoding="utf-8")
    side = tmp_path / f"{name}.csv"
    side.write_text(text, encoding="utf-8")
    problems: list[Problem] = []
    list(CsvSource(products_csv, **{name: side}).read(problems.append))  # type: ignore[arg-type]
    assert [(p.field, p.file, p.line) for p in problems] == [(field, f"{name}.csv", 2)]
    assert "non-ASCII digits" in problems[0].message


@pytest.mark.parametrize("raw", ["15990", "15 990,50", "15\u00a0990.5", "15\u202f990,5", "-3"])
def test_ascii_numbers_still_read(raw: str) -> None:
    assert parse_money(raw.lstrip("-"), "price") > 0
    assert parse_on_hand(raw.split(",")[0].split(".")[0], "quantity")[0] >= 0


# --- credentials in product URLs --------------------------------------------------------------

SECRET = "s3cr3t-SENTINEL"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("url", f"https://admin:{SECRET}@shop.example.kz/p/1"),
        ("image_url", f"https://{SECRET}@cdn.example.kz/1.jpg"),
        ("additional_image_urls", f"https://cdn.example.kz/2.jpg|https://u:{SECRET}@cdn.kz/3.jpg"),
    ],
)
def test_a_url_with_credentials_refuses_the_row_without_showing_them(
    tmp_path: Path, field: str, value: str
) -> None:
    rows = [{**good_row(sku="A"), field: value}, good_row(sku="B")]
    for products, problems, where in (
        (*read_csv(tmp_path, rows), ("products.csv", 2)),
        (*read_sql(tmp_path, rows), ("products_query", 1)),
    ):
        assert [p.sku for p in products] == ["B"]
        assert refused(problems) == [("url_credentials", field, *where)]
        assert "user name or password" in problems[0].message
        assert SECRET not in repr(problems)


def test_a_1c_url_or_picture_with_credentials_refuses_the_offer(tmp_path: Path) -> None:
    from test_commerceml import catalog, read

    settings = catalog(properties={"Материал корпуса": "url"})
    xml = tmp_path / "import.xml"
    original = settings.import_file.read_text(encoding="cp1251")
    assert "нержавеющая сталь" in original
    xml.write_bytes(
        original.replace("нержавеющая сталь", f"https://1c:{SECRET}@shop.kz/p", 1).encode("cp1251")
    )
    products, problems = read(settings.model_copy(update={"import_file": xml}))
    found = [p for p in problems if p.code == "url_credentials"]
    assert [(p.field, p.sku) for p in found] == [("url", "KETTLE-1700")]
    assert "KETTLE-1700" not in {p.sku for p in products}
    assert SECRET not in repr(problems)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("url_template", f"https://1c:{SECRET}@shop.example.kz/p/{{sku}}"),
        ("image_base_url", f"https://{SECRET}@cdn.example.kz/"),
    ],
)
def test_1c_url_settings_with_credentials_are_config_errors(key: str, value: str) -> None:
    from test_commerceml import catalog

    with pytest.raises(ValidationError, match="user name or password") as caught:
        catalog(**{key: value})
    assert SECRET not in str(caught.value).replace(value, "")  # pydantic shows the input itself


def test_no_channel_publishes_a_url_with_credentials(tmp_path: Path) -> None:
    """The demo's file channels (Google XML and TSV, Kaspi, Satu, local inventory, Meta, store
    displays) built from a catalogue with a password in one product's URLs."""
    shutil.copytree(DEMO_CONFIG.parent / "demo", tmp_path / "demo")
    data = yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8"))
    data.update(output_dir="out", state="state.db")
    config = tmp_path / "omnisync.yaml"
    config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    products = tmp_path / "demo" / "products.csv"
    text = products.read_text(encoding="utf-8")
    image = "https://cdn.example.kz/img/hp-sonora-buds.jpg"
    assert text.count(image) == 1
    products.write_text(
        text.replace(image, image.replace("https://", f"https://cdn:{SECRET}@")), encoding="utf-8"
    )
    checked = CliRunner().invoke(app, ["validate", "--config", str(config)])
    assert checked.exit_code == 1, checked.output  # a data problem
    result = CliRunner().invoke(app, ["build", "--config", str(config), "--format", "json"])
    assert result.exit_code == 0, result.output  # published without that product
    report = json.loads(result.stdout)
    found = [(p["sku"], p["field"]) for p in report["problems"] if p["code"] == "url_credentials"]
    assert found == [("HP-SONORA-BUDS", "image_url")]
    written = [p for p in (tmp_path / "out").rglob("*") if p.is_file()]
    assert len(written) >= 7
    assert not [p for p in written if SECRET.encode() in p.read_bytes()]
    assert SECRET not in result.output


def test_a_1c_article_with_a_tab_refuses_the_offer(tmp_path: Path) -> None:
    from test_commerceml import catalog, read

    settings = catalog()
    changed = {}
    for name in ("import_file", "offers"):
        path: Path = getattr(settings, name)
        text = path.read_bytes().decode("cp1251").replace(">KETTLE-1700<", ">KETTLE\t1700<")
        changed[name] = tmp_path / path.name
        changed[name].write_bytes(text.encode("cp1251"))
    products, problems = read(settings.model_copy(update=changed))
    found = [(p.code, p.field, p.sku) for p in problems if p.code == "control_character"]
    assert found == [("control_character", "sku", "KETTLE\\t1700")]
    assert not [p for p in products if "1700" in p.sku]


# --- prices with more than 2 decimals ---------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "written"),
    [("1.500", "1500"), ("15.990", "15990"), ("15.995", "15995"), ("15,995", "15995"),
     ("1 234.567", "1234567"), ("9.12345", "912345")],
)  # fmt: skip
def test_a_price_with_more_than_2_decimals_is_refused(
    tmp_path: Path, raw: str, written: str
) -> None:
    """ "1.500" is one thousand five hundred written with a dot between thousands, not 1.50:
    published as it read, a tenge price went out 1000 times too low."""
    for field in ("price", "sale_price"):
        products, problems = read_csv(tmp_path, [good_row(**{field: raw}), good_row(sku="B")])
        assert [p.sku for p in products] == ["B"]
        assert refused(problems) == [("price_decimals", field, "products.csv", 2)]
        assert "a price has at most 2" in problems[0].message
        assert f"write {written}" in problems[0].message


def test_a_city_price_with_more_than_2_decimals_is_refused(tmp_path: Path) -> None:
    products_csv = tmp_path / "products.csv"
    products_csv.write_text(csv_text([good_row(sku="A")]), encoding="utf-8")
    side = tmp_path / "city_prices.csv"
    side.write_text("sku,city_id,price\nA,750000000,1.500\nA,710000000,1500.5\n", "utf-8")
    problems: list[Problem] = []
    products = list(CsvSource(products_csv, city_prices=side).read(problems.append))
    assert [(p.code, p.field, p.line) for p in problems] == [("bad_city_price_row", "price", 2)]
    assert "a price has at most 2" in problems[0].message
    assert products[0].city_prices == {"710000000": Decimal("1500.5")}


@pytest.mark.parametrize(
    ("raw", "value"),
    [("15990", "15990"), ("15990.00", "15990"), ("15 990,50", "15990.5"), ("1.5", "1.5"),
     ("15990.0000", "15990"), ("0,99", "0.99"), ("15\u202f990", "15990")],
)  # fmt: skip
def test_the_readme_price_forms_still_read(tmp_path: Path, raw: str, value: str) -> None:
    products, problems = read_csv(tmp_path, [good_row(price=raw)])
    assert problems == []
    assert products[0].price == Decimal(value)
