"""Cells every table source refuses before a channel sees them (CSV files, SQL rows and API
items share the cells, ``sources/tabular.py``): ids feeds would clean into twins."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from conftest import csv_text, good_row

from omnisync.catalogs import SqlCatalog
from omnisync.models import Problem, Product
from omnisync.sources.csvfile import CsvSource
from omnisync.sources.sql import SqlSource
from omnisync.sources.values import RowError, check_id


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
