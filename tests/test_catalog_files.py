"""Catalogue files as real shops export them: another encoding (windows-1251 from 1C and Excel
in Kazakhstan), a delimiter per file. Settings, source and CLI."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from conftest import Workspace, csv_text, good_row
from test_commerceml import catalog as exchange_set
from test_push_ledger import T0, WAREHOUSE
from typer.testing import CliRunner

from omnisync import push
from omnisync.catalogs import CatalogConfig
from omnisync.cli import app
from omnisync.config import load_config
from omnisync.errors import ConfigError, SourceError
from omnisync.models import Problem, Product
from omnisync.sandbox.server import Sandbox
from omnisync.sources.commerceml import CommerceMLSource
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


def _english_then_cyrillic() -> list[dict[str, str]]:
    """800 rows of ASCII only (over 64 KiB), then one in Cyrillic."""
    english = [good_row(sku=f"EN-{n}", title=f"Kettle {n} " + "x" * 90, category="")
               for n in range(800)]  # fmt: skip
    return [*english, good_row(sku="RU-1", title=CYRILLIC)]


def test_a_utf8_file_whose_first_64_kib_are_ascii_is_still_caught(tmp_path: Path) -> None:
    """800 English rows, then one Cyrillic: the first block says nothing about the encoding,
    and the Cyrillic would be published garbled under windows-1251."""
    rows = _english_then_cyrillic()
    path = tmp_path / "products.csv"
    path.write_bytes(csv_text(rows).encode())
    assert path.read_bytes()[:65536].isascii()
    with pytest.raises(SourceError, match=r"products\.csv: the file looks like UTF-8"):
        read_all(CsvSource(path, encoding="windows-1251"))


def test_a_windows_1251_file_whose_first_64_kib_are_ascii_reads(tmp_path: Path) -> None:
    rows = _english_then_cyrillic()
    path = tmp_path / "products.csv"
    path.write_bytes(csv_text(rows).encode("cp1251"))
    products, problems = read_all(CsvSource(path, encoding="windows-1251"))
    assert problems == [] and products[-1].title == CYRILLIC


def test_utf8_keeps_reading_a_bom(tmp_path: Path) -> None:
    path = tmp_path / "products.csv"
    path.write_bytes(b"\xef\xbb\xbf" + csv_text([good_row()]).encode())
    products, problems = read_all(CsvSource(path, encoding="UTF8"))
    assert (problems, [p.sku for p in products]) == ([], ["KETTLE-1"])


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_a_utf8_file_declared_windows_1251_stops_naming_the_file(
    tmp_path: Path, bom: bytes
) -> None:
    """Read as windows-1251, UTF-8 Cyrillic is valid text ("Р§Р°Р№РЅРёРє") and went out to
    every channel; with a BOM, the header's first column was "п»їsku" and "sku" was missing."""
    path = tmp_path / "stock.csv"
    path.write_bytes(bom + f"sku,location,quantity\nKETTLE-1,{CYRILLIC},4\n".encode())
    products = tmp_path / "products.csv"
    products.write_bytes(csv_text([good_row()]).encode())  # ASCII only: either encoding
    with pytest.raises(SourceError) as caught:
        read_all(CsvSource(products, stock=path, encoding="windows-1251"))
    message = str(caught.value)
    assert message.startswith("stock.csv: the file looks like UTF-8")
    assert "catalog.encoding: utf-8" in message


def test_windows_1251_is_not_taken_for_utf8(tmp_path: Path) -> None:
    """Every Cyrillic letter and sign 1251 has, in a row: no run of them decodes as UTF-8."""
    letters = bytes(range(0xC0, 0x100)).decode("cp1251") + "Ёё№«»"
    path = tmp_path / "products.csv"
    path.write_bytes(csv_text([good_row(title=letters)]).encode("cp1251"))
    products, problems = read_all(CsvSource(path, encoding="windows-1251"))
    assert (problems, [p.title for p in products]) == ([], [letters])


@pytest.mark.parametrize("encoding", ["utf-8", "windows-1251"])
@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be"])
def test_a_utf16_file_is_named_as_such(tmp_path: Path, encoding: str, codec: str) -> None:
    """Excel's "Unicode text": no hint to try windows-1251 (what invalid UTF-8 suggests)."""
    data = csv_text([good_row(title=CYRILLIC)]).encode(codec)
    path = tmp_path / "products.csv"
    path.write_bytes(data if codec == "utf-16" else b"\xfe\xff" + data)
    with pytest.raises(
        SourceError, match=r'^products\.csv: the file is UTF-16 \(Excel\'s "Unicode'
    ):
        read_all(CsvSource(path, encoding=encoding))
    products, problems = read_all(CsvSource(path, encoding="utf-16"))  # what the message offers
    assert (problems, [p.title for p in products]) == ([], [CYRILLIC])


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


@dataclass(frozen=True)
class Row:
    sku: str
    price: int = 15990
    quantity: int = 1
    title: str = "Acme Electric Kettle 1.7 L"


def catalogue(n: int = 12) -> list[Row]:
    return [Row(f"S{i:02}", quantity=i % 4) for i in range(n)]


def write_push(root: Path, sandbox: Sandbox, rows: list[Row]) -> Path:
    """products.csv, stock.csv, locations and an Ozon config pushing to the sandbox."""
    products = [good_row(sku=r.sku, price=str(r.price), title=r.title, quantity="") for r in rows]
    (root / "products.csv").write_text(csv_text(products), encoding="utf-8")
    stock = "".join(f"{r.sku},WH-1,{r.quantity}\n" for r in rows)
    (root / "stock.csv").write_text("sku,location,quantity\n" + stock, encoding="utf-8")
    (root / "locations.csv").write_text(
        "code,name,type,city,address,pickup\nWH-1,Склад,warehouse,Алматы,,no\n", encoding="utf-8"
    )
    channel = {"type": "ozon", "base_url": sandbox.url, "client_id": "9",
               "api_key": "env:OZON_API_KEY", "currency": "KZT", "requests_per_minute": 6000,
               "warehouses": {"WH-1": WAREHOUSE}}  # fmt: skip
    data = {"catalog": {"products": "products.csv", "stock": "stock.csv",
                        "locations": "locations.csv"}, "state": "state.db",
            "channels": {"ozon": channel}}  # fmt: skip
    path = root / "omnisync.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def held(sandbox: Sandbox) -> dict[str, Any]:
    state = httpx.get(f"{sandbox.url}/_sandbox/state").json()
    return {name: state.get(name) for name in ("ozon_stocks", "ozon_prices")}


def pushed(config: Path, **kw: Any) -> push.PushReport:
    return push.push(load_config(config), now=kw.pop("now", T0), **kw)


def windows_1251_push(root: Path, sandbox: Sandbox, rows: list[Row]) -> Path:
    """The Ozon catalogue with Cyrillic titles, saved in windows-1251."""
    config = write_push(root, sandbox, [replace(r, title=CYRILLIC) for r in rows])
    for name in ("products.csv", "stock.csv", "locations.csv"):
        path = root / name
        path.write_bytes(path.read_text(encoding="utf-8").encode("cp1251"))
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    data["catalog"]["encoding"] = "windows-1251"
    config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return config


def test_a_push_sends_what_changed_in_a_catalogue_in_another_encoding(
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
    assert second.pushes[0].planned["update"] == 1  # the changed stock alone
    assert held(sandbox)["ozon_stocks"][f"S03@{WAREHOUSE}"] == 9


# --- a delimiter per file ---------------------------------------------------------------------


def semicolons(text: str) -> str:
    return text.replace(",", ";")


def test_each_file_may_have_its_own_delimiter(tmp_path: Path) -> None:
    products = tmp_path / "products.csv"
    products.write_text(csv_text([good_row(), good_row(sku="KETTLE-2")]), encoding="utf-8")
    stock = tmp_path / "stock.csv"
    stock.write_text("sku;location;quantity\nKETTLE-1;WH-1;2\nKETTLE-2;WH-1;5\n", encoding="utf-8")
    locations = tmp_path / "locations.csv"
    locations.write_text("code\tname\ttype\nWH-1\tСклад, главный\twarehouse\n", encoding="utf-8")
    reviews = tmp_path / "reviews.csv"
    reviews.write_text("sku|rating|count\nKETTLE-1|4,5|12\n", encoding="utf-8")
    source = CsvSource(
        products, stock=stock, locations=locations, reviews=reviews,
        delimiters={"stock": ";", "locations": "\t", "reviews": "|"},
    )  # fmt: skip
    problems: list[Problem] = []
    assert [loc.name for loc in source.locations(problems.append)] == ["Склад, главный"]
    found = list(source.read(problems.append))
    assert problems == []
    assert [(p.stock, p.rating, p.review_count) for p in found] == [
        ({"WH-1": 2}, Decimal("4.5"), 12),
        ({"WH-1": 5}, None, None),
    ]


def test_the_catalogue_delimiter_is_every_files_default(tmp_path: Path) -> None:
    products = tmp_path / "products.csv"
    products.write_text(semicolons(csv_text([good_row(category="")])), encoding="utf-8")
    stock = tmp_path / "stock.csv"
    stock.write_text("sku,location,quantity\nKETTLE-1,WH-1,2\n", encoding="utf-8")
    source = CsvSource(products, stock=stock, delimiter=";", delimiters={"stock": ","})
    found, problems = read_all(source)
    assert problems == []
    assert found[0].stock == {"WH-1": 2}


def test_a_side_file_delimited_otherwise_hints_at_its_setting(tmp_path: Path) -> None:
    products = tmp_path / "products.csv"
    products.write_text(csv_text([good_row()]), encoding="utf-8")
    stock = tmp_path / "stock.csv"
    stock.write_text("sku;location;quantity\nKETTLE-1;WH-1;2\n", encoding="utf-8")
    with pytest.raises(SourceError, match=r"stock\.csv:1: .*catalog\.delimiters\.stock"):
        read_all(CsvSource(products, stock=stock))


def test_excels_sep_line_sets_the_files_delimiter(tmp_path: Path) -> None:
    """Excel writes "sep=;" as the first line and reads the file by it; the line is no header,
    the lines under it keep their numbers, and it wins over the delimiter settings."""
    rows = [good_row(sku="A", category=""), good_row(sku="B", price="x", category="")]
    products = tmp_path / "products.csv"
    products.write_text("sep=;\r\n" + semicolons(csv_text(rows)), encoding="utf-8")
    stock = tmp_path / "stock.csv"
    stock.write_text("SEP=|\nsku|location|quantity\nA|WH-1|2\n", encoding="utf-8")
    source = CsvSource(products, stock=stock, delimiters={"stock": ";"})
    found, problems = read_all(source)
    assert [(p.sku, p.line, p.stock) for p in found] == [("A", 3, {"WH-1": 2})]
    assert [(p.code, p.file, p.line) for p in problems] == [("not_a_number", "products.csv", 4)]


def test_delimiters_setting_reaches_the_source(workspace: Workspace) -> None:
    workspace.write_products([good_row()])
    (workspace.root / "stock.csv").write_text(
        "sku;location;quantity\nKETTLE-1;WH-1;0\n", encoding="utf-8"
    )
    config = workspace.write_config(stock="stock.csv", delimiters={"stock": ";"})  # type: ignore[arg-type]
    loaded = load_config(config)
    assert isinstance(loaded.catalog, CatalogConfig)
    assert loaded.catalog.delimiters == {"stock": ";"}
    result = runner.invoke(app, ["build", "--config", str(config), "--format", "json"])
    assert result.exit_code == 0, result.output
    feed = (workspace.root / "out" / "google.xml").read_text(encoding="utf-8")
    assert "out_of_stock" in feed  # the stock file's 0 was read


@pytest.mark.parametrize(
    ("delimiters", "path", "fragment"),
    [
        ({"stok": ";"}, "catalog.delimiters.stok.[key]", "'stock'"),
        ({"stock": ":"}, "catalog.delimiters.stock", "';'"),
        ({"reviews": ";"}, "catalog", "delimiters: no reviews file"),
    ],
)
def test_bad_delimiters_are_config_errors(
    workspace: Workspace, delimiters: dict[str, str], path: str, fragment: str
) -> None:
    (workspace.root / "stock.csv").write_text("sku,location,quantity\n", encoding="utf-8")
    issues = config_issues(workspace, stock="stock.csv", delimiters=delimiters)
    assert [p for p, _ in issues] == [path], issues
    assert fragment in issues[0][1]


def test_a_push_reads_files_with_their_own_delimiters(tmp_path: Path, sandbox: Sandbox) -> None:
    rows = catalogue()
    config = write_push(tmp_path, sandbox, rows)
    locations = tmp_path / "locations.csv"
    locations.write_text(semicolons(locations.read_text(encoding="utf-8")), encoding="utf-8")
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    data["catalog"]["delimiters"] = {"locations": ";"}
    config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert pushed(config).run.problems == []
    stock = tmp_path / "stock.csv"
    stock.write_text(stock.read_text(encoding="utf-8").replace("S03,WH-1,3", "S03,WH-1,9"))
    second = pushed(config, now=T0 + timedelta(hours=1))
    assert second.run.problems == []
    assert held(sandbox)["ozon_stocks"][f"S03@{WAREHOUSE}"] == 9


def test_a_1c_exchange_sets_csv_files_take_their_delimiters_and_encoding(tmp_path: Path) -> None:
    locations = tmp_path / "locations.csv"
    text = "code\ttype\tname\nWH-1\twarehouse\tСклад; главный\nALM-1\tstore\tМагазин\n"
    locations.write_bytes(text.encode("cp1251"))
    reviews = tmp_path / "reviews.csv"
    reviews.write_bytes("sku;rating;count\nKETTLE-1700;4,5;7\n".encode("cp1251"))
    settings = exchange_set(
        locations=str(locations), reviews=str(reviews), delimiter=";",
        delimiters={"locations": "\t"}, encoding="windows-1251",
    )  # fmt: skip
    source = CommerceMLSource(settings, Path("omnisync.yaml"))
    problems: list[Problem] = []
    assert [loc.name for loc in source.locations(problems.append)] == ["Склад; главный", "Магазин"]
    kettle = next(p for p in source.read(problems.append) if p.sku == "KETTLE-1700")
    assert (kettle.rating, kettle.review_count) == (Decimal("4.5"), 7)
    assert [p for p in problems if p.file in ("locations.csv", "reviews.csv")] == []


@pytest.mark.parametrize("stray", [False, True])
def test_a_windows_1251_catalogue_is_read_by_the_engine_as_per_row(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch, stray: bool
) -> None:
    """The engine reads a UTF-8 copy of a file in another encoding, line for line: the same
    feed and problems as the csv module's reading (the stock file's too). A byte the encoding
    lacks (0x98 in windows-1251) leaves the file to the csv module, which reports its row."""
    from test_engine_feeds import both

    rows = [good_row(sku=f"K-{n}", title=f"{CYRILLIC} {n}", brand="Бренд") for n in range(4)]
    rows[2]["price"] = "x"
    workspace.write_products(rows)
    data = workspace.products.read_text(encoding="utf-8").encode("cp1251")
    if stray:
        data = data.replace("Бренд".encode("cp1251"), b"\x98", 1)
    workspace.products.write_bytes(data)
    stock = "sku,location,quantity\nK-0,Склад,2\nK-1,Склад,0\n".encode("cp1251")
    (workspace.root / "stock.csv").write_bytes(stock)
    config = workspace.write_config(encoding="windows-1251", stock="stock.csv")
    result = both(config, monkeypatch)
    assert result["engine"] is not stray
    codes = sorted(p["code"] for p in result["problems"])
    # The row with the stray byte is refused, so its stock row names an unknown SKU.
    refused = ["invalid_encoding", "not_a_number", "stock_unknown_sku"]
    assert codes == (refused if stray else ["not_a_number"])
    assert CYRILLIC in result["feeds"]["google.xml"].decode()
