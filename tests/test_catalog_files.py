"""Catalogue files as real shops export them: another encoding (windows-1251 from 1C and Excel
in Kazakhstan), a delimiter per file. Settings, source and CLI."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from conftest import Workspace, csv_text, good_row
from test_incremental import Row, catalogue, held, pushed
from test_incremental import write as write_push
from test_push_ledger import T0, WAREHOUSE
from typer.testing import CliRunner

from omnisync.cli import app
from omnisync.config import load_config
from omnisync.errors import ConfigError, SourceError
from omnisync.models import Problem, Product
from omnisync.sandbox.server import Sandbox
from omnisync.sources.csvfile import CsvSource

runner = CliRunner()
CYRILLIC = "Чайник электрический"


def read_all(source: CsvSource) -> tuple[list[Product], list[Problem]]:
    problems: list[Problem] = []
    source.locations(problems.append)
    return list(source.read(problems.append)), problems


def config_issues(workspace: Workspace, **catalog: object) -> list[tuple[str, str]]:
    workspace.write_products([good_row()])
    workspace.write_config(**catalog)  # type: ignore[arg-type]
    with pytest.raises(ConfigError) as caught:
        load_config(workspace.config_path)
    return caught.value.issues


# --- catalog.encoding -------------------------------------------------------------------------


def test_windows_1251_file_reads_with_its_encoding(tmp_path: Path) -> None:
    path = tmp_path / "products.csv"
    path.write_bytes(csv_text([good_row(title=CYRILLIC)]).encode("windows-1251"))
    products, problems = read_all(CsvSource(path, encoding="windows-1251"))
    assert problems == []
    assert [p.title for p in products] == [CYRILLIC]


def test_side_files_are_read_in_the_catalogue_encoding(tmp_path: Path) -> None:
    products = tmp_path / "products.csv"
    products.write_bytes(csv_text([good_row()]).encode("cp1251"))
    locations = tmp_path / "locations.csv"
    text = "code,name,type\nСКЛАД-1,Главный склад,warehouse\n"
    locations.write_bytes(text.encode("cp1251"))
    stock = tmp_path / "stock.csv"
    stock.write_bytes("sku,location,quantity\nKETTLE-1,СКЛАД-1,4\n".encode("cp1251"))
    source = CsvSource(products, stock=stock, locations=locations, encoding="cp1251")
    found, problems = read_all(source)
    assert problems == []
    assert found[0].stock == {"СКЛАД-1": 4}


def test_a_windows_1251_file_read_as_utf8_names_file_line_and_the_setting(
    tmp_path: Path,
) -> None:
    path = tmp_path / "products.csv"
    rows = [good_row(sku="A-1", category="Kitchen"), good_row(sku="B-1", title=CYRILLIC)]
    path.write_bytes(csv_text(rows).encode("windows-1251"))
    products, problems = read_all(CsvSource(path))
    assert [p.sku for p in products] == ["A-1"]
    assert [(p.code, p.file, p.line, p.sku) for p in problems] == [
        ("invalid_utf8", "products.csv", 3, "B-1")
    ]
    assert "catalog.encoding" in problems[0].message
    assert "windows-1251" in problems[0].message


def test_bytes_the_configured_encoding_lacks_are_a_problem_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "products.csv"
    data = csv_text([good_row(sku="A-1"), good_row(sku="B-1", title="BROKEN")]).encode("cp1251")
    path.write_bytes(data.replace(b"BROKEN", b"Kettle \x98"))  # 0x98 is unassigned in cp1251
    products, problems = read_all(CsvSource(path, encoding="windows-1251"))
    assert [p.sku for p in products] == ["A-1"]
    assert [(p.code, p.line, p.sku) for p in problems] == [("invalid_encoding", 3, "B-1")]
    assert "windows-1251" in problems[0].message
    assert "catalog.encoding" in problems[0].message


def test_an_undecodable_header_suggests_the_setting(tmp_path: Path) -> None:
    path = tmp_path / "products.csv"
    path.write_bytes("\n".join(["sku,title,price,url,image_url,цвет", ""]).encode("cp1251"))
    with pytest.raises(SourceError, match=r"products\.csv:1: .*catalog\.encoding"):
        read_all(CsvSource(path))


def test_utf8_keeps_reading_a_bom(tmp_path: Path) -> None:
    path = tmp_path / "products.csv"
    path.write_bytes(b"\xef\xbb\xbf" + csv_text([good_row()]).encode())
    products, problems = read_all(CsvSource(path, encoding="UTF8"))
    assert (problems, [p.sku for p in products]) == ([], ["KETTLE-1"])


@pytest.mark.parametrize("name", ["windows-1252x", "rot13", "base64", ""])
def test_unknown_or_non_text_encoding_is_a_config_error(workspace: Workspace, name: str) -> None:
    issues = config_issues(workspace, encoding=name)
    assert [path for path, _ in issues] == ["catalog.encoding"]
    assert "windows-1251" in issues[0][1]


def test_encoding_setting_reaches_the_source(workspace: Workspace) -> None:
    workspace.products.write_bytes(csv_text([good_row(title=CYRILLIC)]).encode("cp1251"))
    config = workspace.write_config(encoding="windows-1251")
    result = runner.invoke(app, ["build", "--config", str(config), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["problems"] == []
    assert CYRILLIC in (workspace.root / "out" / "google.xml").read_text(encoding="utf-8")


def windows_1251_push(root: Path, sandbox: Sandbox, rows: list[Row]) -> Path:
    """test_incremental's Ozon catalogue with Cyrillic titles, saved in windows-1251."""
    config = write_push(root, sandbox, [replace(r, title=CYRILLIC) for r in rows])
    for name in ("products.csv", "stock.csv", "locations.csv"):
        path = root / name
        path.write_bytes(path.read_text(encoding="utf-8").encode("cp1251"))
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    data["catalog"]["encoding"] = "windows-1251"
    config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return config


def test_an_incremental_push_reads_what_changed_in_the_catalogue_encoding(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    rows = catalogue()
    config = windows_1251_push(tmp_path, sandbox, rows)
    assert pushed(config).run.problems == []
    rows[3] = replace(rows[3], quantity=9)
    windows_1251_push(tmp_path, sandbox, rows)
    second = pushed(config, now=T0 + timedelta(hours=1))
    assert second.run.problems == []
    assert second.run.products == 12
    assert held(sandbox)["ozon_stocks"][f"S03@{WAREHOUSE}"] == 9
