"""The omnisync command against hostile catalogues, configs and paths.

Every error is one ``error: …`` line on stderr with the exit code of the README's contract and
never a traceback. Error cases run twice: in-process through typer's CliRunner and as a real
``python -m omnisync`` subprocess (what a cron job sees).
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import DEMO_CONFIG, HEADER, Workspace, csv_text, good_row
from lxml import etree
from typer.testing import CliRunner, Result

from omnisync.cli import app

G = "{http://base.google.com/ns/1.0}"
runner = CliRunner()


def invoke(*args: object, env: dict[str, str] | None = None) -> Result:
    return runner.invoke(app, [str(a) for a in args], env=env)


def run_module(*args: object, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "omnisync", *(str(a) for a in args)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=cwd,
        timeout=timeout,
    )


def one_error_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: "), stderr
    return lines[0]


def fails(cwd: Path, *args: object, code: int) -> str:
    """Run the command in-process and as a subprocess; both must exit ``code`` with one line."""
    result = invoke(*args)
    assert result.exit_code == code, (result.stdout, result.stderr)
    line = one_error_line(result.stderr)
    proc = run_module(*args, cwd=cwd)
    assert proc.returncode == code, (proc.stdout, proc.stderr)
    assert one_error_line(proc.stderr) == line
    return line


def rows(n: int) -> list[dict[str, str]]:
    return [good_row(sku=f"SKU-{i}", url=f"https://shop.example.kz/p/{i}") for i in range(n)]


def feed_path(workspace: Workspace) -> Path:
    return workspace.root / "out" / "google.xml"


def feed_items(path: Path) -> list[etree._Element]:
    return etree.parse(str(path)).findall("channel/item")


def temp_files(workspace: Workspace) -> list[Path]:
    out = workspace.root / "out"
    return sorted(out.rglob(".*.tmp")) if out.is_dir() else []


def write_yaml(workspace: Workspace, data: dict[str, object]) -> Path:
    workspace.config_path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return workspace.config_path


# --- paths that are the wrong kind of thing ---------------------------------------------------


def test_output_dir_that_is_a_file_exits_2(workspace: Workspace) -> None:
    workspace.write_products([good_row()])
    (workspace.root / "out").write_text("I am a file", encoding="utf-8")
    config = workspace.write_config()
    line = fails(workspace.root, "build", "--config", config, code=2)
    assert "output_dir" in line
    assert (workspace.root / "out").read_text(encoding="utf-8") == "I am a file"


def test_feed_target_that_is_a_directory_exits_2(workspace: Workspace) -> None:
    config = workspace.setup([good_row()])
    feed_path(workspace).mkdir(parents=True)
    line = fails(workspace.root, "build", "--config", config, code=2)
    assert "google.xml" in line
    assert feed_path(workspace).is_dir()
    assert temp_files(workspace) == []


def test_validate_output_in_a_missing_folder_exits_2(workspace: Workspace) -> None:
    config = workspace.setup([good_row()])
    target = Path("/nonexistent/dir/x.json")
    line = fails(workspace.root, "validate", "-c", config, "-f", "json", "-o", target, code=2)
    assert "/nonexistent/dir/x.json" in line


def test_products_csv_that_is_a_directory_exits_2(workspace: Workspace) -> None:
    workspace.products.mkdir()
    config = workspace.write_config()
    line = fails(workspace.root, "validate", "--config", config, code=2)
    assert "not a file" in line
    assert "catalog.products" in line


def test_validate_output_that_is_a_directory_exits_2(workspace: Workspace) -> None:
    config = workspace.setup([good_row()])
    target = workspace.root / "reports"
    target.mkdir()
    line = fails(workspace.root, "validate", "-c", config, "-f", "json", "-o", target, code=2)
    assert str(target) in line
    assert list(target.iterdir()) == []


def test_config_path_that_is_a_directory_is_a_usage_error(workspace: Workspace) -> None:
    result = invoke("validate", "--config", workspace.root)
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr
    assert "is a directory" in result.stderr


def test_config_that_is_not_utf8_exits_2(workspace: Workspace) -> None:
    workspace.write_products([good_row()])
    workspace.config_path.write_bytes(
        "catalog:\n  products: products.csv\nchannels:\n  google:\n"
        "    type: google_merchant\n    title: Магазин\n".encode("cp1251")
    )
    line = fails(workspace.root, "validate", "--config", workspace.config_path, code=2)
    assert "omnisync.yaml" in line
    assert "UTF-8" in line


# --- numbers that are not numbers -------------------------------------------------------------


@pytest.mark.parametrize("price", ["1e30", "1" * 29], ids=["exponent", "29-digits"])
def test_huge_price_is_a_rejected_row_and_the_rest_is_published(
    workspace: Workspace, price: str
) -> None:
    config = workspace.setup([good_row(), good_row(sku="HUGE", price=price), *rows(2)])
    result = invoke("build", "--config", config, "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    [problem] = report["problems"]
    assert (problem["sku"], problem["code"], problem["field"]) == ("HUGE", "not_a_number", "price")
    assert (problem["file"], problem["line"]) == ("products.csv", 3)
    ids = [i.findtext(f"{G}id") for i in feed_items(feed_path(workspace))]
    assert ids == ["KETTLE-1", "SKU-0", "SKU-1"]


def test_absurd_stock_quantity_is_a_bad_stock_row_quickly(workspace: Workspace) -> None:
    (workspace.root / "stock.csv").write_text(
        "sku,location,quantity\nKETTLE-1,WH-1,1e999999999\nKETTLE-2,WH-1,3\n", encoding="utf-8"
    )
    workspace.write_products([good_row(), good_row(sku="KETTLE-2")])
    config = workspace.write_config(stock="stock.csv")
    # int(Decimal("1e999999999")) would never finish: the timeout is the real check.
    proc = run_module("validate", "-c", config, "-f", "json", cwd=workspace.root, timeout=60)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    problems = json.loads(proc.stdout)["problems"]
    assert [(p["code"], p["sku"], p["field"], p["line"]) for p in problems] == [
        ("bad_stock_row", "KETTLE-1", "quantity", 2)
    ]


# --- configuration ----------------------------------------------------------------------------


def test_channel_key_given_twice_exits_2_naming_the_line(workspace: Workspace) -> None:
    workspace.write_products([good_row()])
    workspace.config_path.write_text(
        "catalog:\n"
        "  products: products.csv\n"
        "channels:\n"
        "  google:\n"
        "    type: google_merchant\n"
        "  google:\n"
        "    type: google_merchant\n"
        "    format: tsv\n",
        encoding="utf-8",
    )
    line = fails(workspace.root, "validate", "--config", workspace.config_path, code=2)
    assert "line 6" in line
    assert "google" in line
    assert "twice" in line


def test_channels_differing_only_in_case_exit_2(workspace: Workspace) -> None:
    workspace.write_products([good_row()])
    config = workspace.write_config(
        channels={
            "Google": {"type": "google_merchant", "currency": "KZT"},
            "google": {"type": "google_merchant", "currency": "KZT", "format": "tsv"},
        }
    )
    line = fails(workspace.root, "build", "--config", config, code=2)
    assert "channels.google" in line or "channels.Google" in line
    assert "letter case" in line
    assert not (workspace.root / "out").exists()


def test_unknown_channel_location_exits_2_naming_the_key_and_file(workspace: Workspace) -> None:
    (workspace.root / "locations.csv").write_text(
        "code,name,type\nWH-1,Warehouse,warehouse\nALM-1,Store,store\n", encoding="utf-8"
    )
    workspace.write_products([good_row()])
    config = workspace.write_config(
        channels={"google": {"type": "google_merchant", "currency": "KZT", "locations": ["NOPE"]}},
        locations="locations.csv",
    )
    line = fails(workspace.root, "build", "--config", config, code=2)
    assert "channels.google.locations" in line
    assert "NOPE" in line
    assert str(config) in line
    assert not feed_path(workspace).exists()


# --- the publish gate -------------------------------------------------------------------------


def _all_bad(workspace: Workspace) -> Path:
    return workspace.setup(
        [good_row(sku="A", gtin="123"), good_row(sku="B", url=""), good_row(sku="C", price="x")]
    )


def test_all_rows_bad_exits_1_and_publishes_nothing(workspace: Workspace) -> None:
    config = _all_bad(workspace)
    result = invoke("build", "--config", config, "--format", "json")
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.stderr
    [entry] = json.loads(result.stdout)["files"]
    # The reason, prefixed by the output's name since channels may write several files.
    assert re.match(r"(google\.xml: )?no valid items", entry["refused"]), entry["refused"]
    assert entry["published"] is False
    assert entry["items"] == 0
    assert not feed_path(workspace).exists()
    assert temp_files(workspace) == []


def test_all_rows_bad_with_force_publishes_an_empty_well_formed_feed(
    workspace: Workspace,
) -> None:
    config = _all_bad(workspace)
    result = invoke("build", "--config", config, "--format", "json", "--force")
    assert result.exit_code == 0, result.output
    [entry] = json.loads(result.stdout)["files"]
    assert (entry["published"], entry["refused"], entry["items"]) == (True, None, 0)
    root = etree.parse(str(feed_path(workspace))).getroot()
    assert root.tag == "rss"
    assert root.find("channel") is not None
    assert root.findall(".//item") == []


def test_damaged_old_feed_still_counts_for_the_gate(workspace: Workspace) -> None:
    config = workspace.setup(rows(10))
    assert invoke("build", "--config", config).exit_code == 0
    whole = feed_path(workspace).read_bytes()
    damaged = whole[: int(len(whole) * 0.85)]  # cut mid-document: no closing tags
    with pytest.raises(etree.XMLSyntaxError):
        etree.fromstring(damaged)
    feed_path(workspace).write_bytes(damaged)
    workspace.write_products(rows(2))
    result = invoke("build", "--config", config, "--format", "json")
    assert result.exit_code == 1, result.output
    [entry] = json.loads(result.stdout)["files"]
    assert "to 2 items" in entry["refused"]
    assert feed_path(workspace).read_bytes() == damaged  # the old file is kept as it was
    assert temp_files(workspace) == []


# --- CSV dialects -----------------------------------------------------------------------------


def _semicolon_products(workspace: Workspace) -> None:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=HEADER, delimiter=";", lineterminator="\n")
    writer.writeheader()
    writer.writerows([good_row(), good_row(sku="KETTLE-2", description="Semi; colon")])
    workspace.products.write_text(out.getvalue(), encoding="utf-8")


def test_semicolon_file_without_delimiter_exits_1_mentioning_catalog_delimiter(
    workspace: Workspace,
) -> None:
    _semicolon_products(workspace)
    config = workspace.write_config()
    line = fails(workspace.root, "validate", "--config", config, code=1)
    assert "catalog.delimiter" in line
    assert "products.csv:1" in line


def test_semicolon_file_with_delimiter_reads(workspace: Workspace) -> None:
    _semicolon_products(workspace)
    config = workspace.write_config(delimiter=";")
    result = invoke("build", "--config", config, "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["problems"] == []
    found = feed_items(feed_path(workspace))
    assert [i.findtext(f"{G}id") for i in found] == ["KETTLE-1", "KETTLE-2"]
    assert found[1].findtext("description") == "Semi; colon"


def test_trailing_empty_header_columns_read_every_row(workspace: Workspace) -> None:
    header = ",".join(HEADER) + ",,"
    body = csv_text([good_row(), good_row(sku="KETTLE-2"), good_row(sku="KETTLE-3")])
    data = body.splitlines()[1:]
    lines = [header, data[0] + ",,", data[1], data[2] + ","]
    workspace.products.write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = workspace.write_config()
    result = invoke("validate", "--config", config, "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["problems"] == []
    assert report["catalogue"]["products"] == 3
    assert report["channels"][0]["items_valid"] == 3


# --- human output -----------------------------------------------------------------------------


def test_validate_text_output_goes_into_the_file(workspace: Workspace) -> None:
    config = workspace.setup([good_row(), good_row(sku="BAD-GTIN", gtin="4006381333932")])
    target = workspace.root / "report.txt"
    result = invoke("validate", "--config", config, "--output", target)
    assert result.exit_code == 1, result.output
    text = target.read_text(encoding="utf-8")
    assert "2 products read" in text
    assert "problems by code" in text
    assert "gtin_invalid" in text
    assert "BAD-GTIN" in text
    assert "2 products read" in result.stdout  # the human summary is still printed


@pytest.fixture
def demo_copy(tmp_path: Path) -> Path:
    """configs/demo copied into tmp_path with a config whose output_dir is in tmp_path."""
    shutil.copytree(DEMO_CONFIG.parent / "demo", tmp_path / "demo")
    data = yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8"))
    data["output_dir"] = str(tmp_path / "feeds")
    config = tmp_path / "demo.yaml"
    config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return config


def test_demo_build_text_output(demo_copy: Path) -> None:
    result = invoke("build", "--config", demo_copy, env={"COLUMNS": "1000"})
    assert result.exit_code == 0, result.output
    out = result.stdout
    feeds = demo_copy.parent / "feeds"
    for needle in (
        "google",
        "google_tsv",
        "problems by code",
        "duplicate_sku",
        "gtin_invalid",
        f"feed google: {(feeds / 'google.xml').resolve()}",
        f"feed google_tsv: {(feeds / 'google_tsv.tsv').resolve()}",
    ):
        assert needle in out, needle
    assert (feeds / "google.xml").is_file()
    assert (feeds / "google_tsv.tsv").is_file()


# --- stock over a channel's locations ---------------------------------------------------------


def test_channel_locations_decide_availability(workspace: Workspace) -> None:
    (workspace.root / "locations.csv").write_text(
        "code,name,type,city,address,pickup\n"
        "WH-1,Склад,warehouse,Алматы,,no\n"
        "ALM-1,Магазин,store,Алматы,,yes\n",
        encoding="utf-8",
    )
    (workspace.root / "stock.csv").write_text(
        "sku,location,quantity\nWAREHOUSE-ONLY,WH-1,9\nBOTH,WH-1,2\nBOTH,ALM-1,1\n",
        encoding="utf-8",
    )
    workspace.write_products(
        [
            good_row(sku="WAREHOUSE-ONLY", quantity=""),
            good_row(sku="BOTH", quantity=""),
            good_row(sku="NO-STOCK-ROWS", quantity="5"),  # stock.csv is the stock: none
        ]
    )
    config = workspace.write_config(
        channels={
            "store": {"type": "google_merchant", "currency": "KZT", "locations": ["ALM-1"]},
            "all": {"type": "google_merchant", "currency": "KZT"},
        },
        stock="stock.csv",
        locations="locations.csv",
    )
    result = invoke("build", "--config", config, "--format", "json")
    assert result.exit_code == 0, result.output

    def availability(channel: str) -> dict[str | None, str | None]:
        found = feed_items(workspace.root / "out" / f"{channel}.xml")
        return {i.findtext(f"{G}id"): i.findtext(f"{G}availability") for i in found}

    assert availability("store") == {
        "WAREHOUSE-ONLY": "out_of_stock",
        "BOTH": "in_stock",
        "NO-STOCK-ROWS": "out_of_stock",
    }
    assert availability("all") == {
        "WAREHOUSE-ONLY": "in_stock",
        "BOTH": "in_stock",
        "NO-STOCK-ROWS": "out_of_stock",
    }
