"""The omnisync command end to end: exit codes, reports on stdout, one-line errors on stderr.

Typer here (0.29, with its own bundled click) has no ``mix_stderr`` option: CliRunner always
captures stdout and stderr separately (``result.stdout`` / ``result.stderr``; ``result.output``
is the two interleaved). A few tests also run ``python -m omnisync`` in a real subprocess.
"""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
import yaml
from conftest import HEADER, Workspace, good_row
from lxml import etree
from typer.testing import CliRunner, Result

from omnisync import __version__
from omnisync.cli import app

G = "{http://base.google.com/ns/1.0}"
runner = CliRunner()

BAD_ROWS = [
    good_row(),
    good_row(sku="BAD-PRICE", price="abc"),
    good_row(sku="BAD-GTIN", gtin="4006381333932"),  # check digit should be 1
    good_row(title="A second row with the first row's SKU"),
]
# The bad SKUs and the problem code each must be reported with.
BAD_CODES = {"BAD-PRICE": "not_a_number", "BAD-GTIN": "gtin_invalid", "KETTLE-1": "duplicate_sku"}


def invoke(*args: object) -> Result:
    return runner.invoke(app, [str(a) for a in args])


def run_module(*args: object, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "omnisync", *(str(a) for a in args)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=cwd,
        timeout=120,
    )


def rows(n: int) -> list[dict[str, str]]:
    return [good_row(sku=f"SKU-{i}", url=f"https://shop.example.kz/p/{i}") for i in range(n)]


def feed_path(workspace: Workspace, channel: str = "google") -> Path:
    return workspace.root / "out" / f"{channel}.xml"


def items(path: Path) -> list[etree._Element]:
    return etree.parse(str(path)).findall("channel/item")


def temp_files(workspace: Workspace) -> list[Path]:
    return sorted((workspace.root / "out").glob(".*.tmp"))


def single_error_line(result: Result | subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


# --- validate ---------------------------------------------------------------------------------


def test_validate_clean_catalogue_exits_0(workspace: Workspace) -> None:
    config = workspace.setup([good_row(), good_row(sku="KETTLE-2")])
    result = invoke("validate", "--config", config)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert "2 products read" in result.stdout


def test_validate_writes_no_feed(workspace: Workspace) -> None:
    config = workspace.setup([good_row()])
    invoke("validate", "--config", config)
    assert not (workspace.root / "out").exists()


def test_validate_bad_rows_exits_1(workspace: Workspace) -> None:
    config = workspace.setup(BAD_ROWS)
    result = invoke("validate", "--config", config)
    assert result.exit_code == 1, result.output


def test_validate_json_names_every_bad_sku_with_a_reason(workspace: Workspace) -> None:
    config = workspace.setup(BAD_ROWS)
    result = invoke("validate", "--config", config, "--format", "json")
    assert result.exit_code == 1, result.output
    problems = json.loads(result.stdout)["problems"]
    found = {(p["sku"], p["code"]) for p in problems if p["severity"] == "error"}
    assert found == set(BAD_CODES.items())
    assert all(p["message"] for p in problems)


def test_validate_json_has_the_documented_shape(workspace: Workspace) -> None:
    config = workspace.setup(BAD_ROWS)
    report = json.loads(invoke("validate", "-c", config, "-f", "json").stdout)
    assert set(report) == {"catalogue", "channels", "problems"}
    assert report["catalogue"] == {"products": 2, "errors": 2}
    assert report["channels"] == [
        {"channel": "google", "items_total": 2, "items_valid": 1, "errors": 1, "warnings": 0}
    ]
    keys = {"sku", "channel", "field", "code", "severity", "message", "file", "line"}
    assert all(set(p) == keys for p in report["problems"])
    by_sku = {p["sku"]: p for p in report["problems"]}
    # Catalogue problems have no channel and point at the row; channel problems name it.
    assert by_sku["BAD-PRICE"]["channel"] is None
    assert (by_sku["BAD-PRICE"]["file"], by_sku["BAD-PRICE"]["line"]) == ("products.csv", 3)
    assert by_sku["BAD-PRICE"]["field"] == "price"
    assert by_sku["KETTLE-1"]["channel"] is None
    assert by_sku["KETTLE-1"]["line"] == 5
    assert by_sku["BAD-GTIN"]["channel"] == "google"
    assert by_sku["BAD-GTIN"]["field"] == "gtin"
    assert (by_sku["BAD-GTIN"]["file"], by_sku["BAD-GTIN"]["line"]) == ("products.csv", 4)


def test_validate_json_stdout_is_only_json(workspace: Workspace) -> None:
    config = workspace.setup(BAD_ROWS)
    result = invoke("validate", "--config", config, "--format", "json")
    report = json.loads(result.stdout)  # raises on any text before or after the document
    assert isinstance(report, dict)
    assert result.stderr == ""


def test_validate_json_to_output_file(workspace: Workspace) -> None:
    config = workspace.setup(BAD_ROWS)
    target = workspace.root / "report.json"
    result = invoke("validate", "-c", config, "-f", "json", "--output", target)
    assert result.exit_code == 1
    assert {p["sku"] for p in json.loads(target.read_text())["problems"]} == set(BAD_CODES)


def test_validate_junit_output_is_xml_with_a_failure_per_error(workspace: Workspace) -> None:
    config = workspace.setup(BAD_ROWS)
    target = workspace.root / "junit.xml"
    result = invoke("validate", "--config", config, "--format", "junit", "--output", target)
    assert result.exit_code == 1, result.output
    root = etree.parse(str(target)).getroot()
    assert root.tag == "testsuites"
    failures = root.findall("testsuite/testcase/failure")
    assert sorted(f.get("type") for f in failures) == sorted(BAD_CODES.values())
    for sku in BAD_CODES:
        assert any(f"sku={sku}" in (f.text or "") for f in failures)
    suites = {s.get("name"): int(s.get("failures")) for s in root.iter("testsuite")}
    assert suites == {"catalogue": 2, "google": 1}


def test_validate_junit_clean_catalogue_has_no_failure(workspace: Workspace) -> None:
    config = workspace.setup([good_row()])
    target = workspace.root / "junit.xml"
    result = invoke("validate", "--config", config, "--format", "junit", "--output", target)
    assert result.exit_code == 0
    root = etree.parse(str(target)).getroot()
    assert root.findall(".//failure") == []
    assert len(root.findall(".//testcase")) == 2  # one passing case per suite


# --- build ------------------------------------------------------------------------------------


def test_build_writes_the_feed_and_exits_0_despite_excluded_items(workspace: Workspace) -> None:
    config = workspace.setup(BAD_ROWS)
    result = invoke("build", "--config", config)
    assert result.exit_code == 0, result.output
    assert [i.findtext(f"{G}id") for i in items(feed_path(workspace))] == ["KETTLE-1"]
    assert temp_files(workspace) == []


def test_build_json_lists_the_files(workspace: Workspace) -> None:
    config = workspace.setup(BAD_ROWS)
    result = invoke("build", "--config", config, "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    [entry] = report["files"]
    assert Path(entry["path"]) == feed_path(workspace).resolve()
    assert entry["items"] == 1
    assert entry["excluded"] == 1  # BAD-GTIN; catalogue-rejected rows never reach the channel
    assert entry["published"] is True
    assert entry["refused"] is None
    assert {p["sku"] for p in report["problems"]} == set(BAD_CODES)


def test_good_row_comes_out_unchanged_in_the_xml(workspace: Workspace) -> None:
    row = good_row()
    config = workspace.setup([row])
    assert invoke("build", "--config", config).exit_code == 0
    [item] = items(feed_path(workspace))
    assert item.findtext(f"{G}id") == row["sku"]
    assert item.findtext("title") == row["title"]
    assert item.findtext("description") == row["description"]
    assert item.findtext("link") == row["url"]
    assert item.findtext(f"{G}image_link") == row["image_url"]
    assert item.findtext(f"{G}price") == "15990.00 KZT"
    assert item.findtext(f"{G}gtin") == row["gtin"]
    assert item.findtext(f"{G}brand") == row["brand"]
    assert item.findtext(f"{G}mpn") == row["mpn"]
    assert item.findtext(f"{G}condition") == "new"
    assert item.findtext(f"{G}product_type") == row["category"]


def test_duplicated_sku_appears_once_in_the_feed(workspace: Workspace) -> None:
    config = workspace.setup([good_row(), good_row(title="Second copy")])
    result = invoke("build", "--config", config)
    assert result.exit_code == 0, result.output
    found = items(feed_path(workspace))
    assert [i.findtext(f"{G}id") for i in found] == ["KETTLE-1"]
    assert found[0].findtext("title") == good_row()["title"]  # the first row wins


def test_build_only_the_selected_channel(workspace: Workspace) -> None:
    workspace.write_products([good_row()])
    config = workspace.write_config(
        channels={
            "google": {"type": "google_merchant", "format": "xml"},
            "google_tsv": {"type": "google_merchant", "format": "tsv"},
        }
    )
    result = invoke("build", "--config", config, "--channel", "google_tsv")
    assert result.exit_code == 0, result.output
    assert (workspace.root / "out" / "google_tsv.tsv").is_file()
    assert not feed_path(workspace).exists()


def test_build_default_output_dir_is_next_to_the_config(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace.write_products([good_row()])
    workspace.config_path.write_text(
        yaml.safe_dump(
            {
                "catalog": {"products": "products.csv"},
                "channels": {"google": {"type": "google_merchant"}},
            }
        ),
        encoding="utf-8",
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert invoke("build", "--config", workspace.config_path).exit_code == 0
    assert feed_path(workspace).is_file()


# --- configuration and usage errors -----------------------------------------------------------


def test_bad_format_exits_2_with_one_line_on_stderr(workspace: Workspace) -> None:
    workspace.write_products([good_row()])
    config = workspace.write_config(
        channels={"google": {"type": "google_merchant", "format": "pdf"}}
    )
    result = invoke("validate", "--config", config)
    assert result.exit_code == 2
    assert "channels.google.format" in single_error_line(result)
    assert result.stdout == ""


def debug_case(workspace: Workspace, case: str) -> tuple[Path, int, str]:
    """A config that fails with a config error (2) or a data error (1), and the error's class."""
    if case == "config":
        workspace.write_products([good_row()])
        bad = {"google": {"type": "google_merchant", "format": "pdf"}}
        return workspace.write_config(channels=bad), 2, "ConfigError"
    workspace.products.write_text("", encoding="utf-8")  # no header: nothing can be read
    return workspace.write_config(), 1, "SourceError"


@pytest.mark.parametrize("case", ["config", "data"])
def test_debug_adds_the_traceback_and_keeps_the_exit_code(workspace: Workspace, case: str) -> None:
    config, code, error = debug_case(workspace, case)
    plain = invoke("validate", "--config", config)
    debug = invoke("validate", "--config", config, "--debug")
    assert plain.exit_code == debug.exit_code == code
    assert "Traceback" in debug.stderr and error in debug.stderr
    assert debug.stderr.splitlines()[-1] == single_error_line(plain)


@pytest.mark.parametrize("case", ["config", "data"])
def test_debug_in_json_logs_carries_the_traceback_in_the_error_line(
    workspace: Workspace, case: str
) -> None:
    config, code, error = debug_case(workspace, case)
    result = invoke("validate", "--config", config, "--debug", "--log-format", "json")
    assert result.exit_code == code
    (entry,) = [json.loads(line) for line in result.stderr.splitlines()]
    assert entry["exit_code"] == code and error in entry["traceback"]


def test_missing_config_option_exits_2(workspace: Workspace) -> None:
    result = invoke("validate")
    assert result.exit_code == 2
    assert "--config" in result.stderr


def test_config_file_that_does_not_exist_exits_2(workspace: Workspace) -> None:
    result = invoke("build", "--config", workspace.root / "nope.yaml")
    assert result.exit_code == 2
    assert "nope.yaml" in single_error_line(result)


def test_unknown_channel_exits_2_naming_the_configured_ones(workspace: Workspace) -> None:
    workspace.write_products([good_row()])
    config = workspace.write_config(
        channels={
            "google": {"type": "google_merchant"},
            "google_tsv": {"type": "google_merchant", "format": "tsv"},
        }
    )
    result = invoke("build", "--config", config, "--channel", "nope")
    assert result.exit_code == 2
    line = single_error_line(result)
    assert "nope" in line
    assert "google, google_tsv" in line
    assert not (workspace.root / "out").exists()


def test_missing_products_file_exits_2_naming_catalog_products(workspace: Workspace) -> None:
    workspace.write_products([good_row()])
    config = workspace.write_config(products="missing.csv")
    result = invoke("validate", "--config", config)
    assert result.exit_code == 2
    line = single_error_line(result)
    assert "catalog.products" in line
    assert "missing.csv" in line


def _without_price(workspace: Workspace) -> Path:
    row = good_row()
    del row["price"]
    workspace.write_products([row], header=[h for h in HEADER if h != "price"])
    return workspace.write_config()


def test_products_without_price_column_exits_1_with_one_line(workspace: Workspace) -> None:
    config = _without_price(workspace)
    result = invoke("validate", "--config", config)
    assert result.exit_code == 1
    line = single_error_line(result)
    assert "products.csv:1" in line
    assert "price" in line
    assert "missing" in line


def test_build_of_unreadable_products_leaves_no_feed_or_temp_file(workspace: Workspace) -> None:
    config = _without_price(workspace)
    result = invoke("build", "--config", config)
    assert result.exit_code == 1
    assert "price" in single_error_line(result)
    assert not feed_path(workspace).exists()
    assert temp_files(workspace) == []


def test_invalid_yaml_is_one_line_on_stderr(workspace: Workspace) -> None:
    workspace.write_products([good_row()])
    workspace.config_path.write_text(
        "catalog:\n  products: products.csv\nchannels:\n  google: {type: google_merchant\n",
        encoding="utf-8",
    )
    result = invoke("validate", "--config", workspace.config_path)
    assert result.exit_code == 2
    assert "line 5" in single_error_line(result)


# --- publish gate -----------------------------------------------------------------------------


@pytest.fixture
def published(workspace: Workspace) -> bytes:
    """A first build of 10 good items, then products.csv cut down to 3 of them."""
    config = workspace.setup(rows(10))
    assert invoke("build", "--config", config).exit_code == 0
    old = feed_path(workspace).read_bytes()
    assert len(items(feed_path(workspace))) == 10
    workspace.write_products(rows(3))
    return old


def test_publish_gate_keeps_the_old_feed(workspace: Workspace, published: bytes) -> None:
    result = invoke("build", "--config", workspace.config_path, "--format", "json")
    assert result.exit_code == 1, result.output
    assert feed_path(workspace).read_bytes() == published
    [entry] = json.loads(result.stdout)["files"]
    assert entry["refused"]
    assert "from 10 to 3 items" in entry["refused"]
    assert entry["published"] is False
    assert temp_files(workspace) == []


def test_publish_gate_is_reported_as_a_problem(workspace: Workspace, published: bytes) -> None:
    result = invoke("build", "--config", workspace.config_path, "--format", "json")
    codes = [(p["code"], p["channel"]) for p in json.loads(result.stdout)["problems"]]
    assert codes == [("publish_gate", "google")]


def test_force_publishes_the_shrunken_feed(workspace: Workspace, published: bytes) -> None:
    result = invoke("build", "--config", workspace.config_path, "--format", "json", "--force")
    assert result.exit_code == 0, result.output
    assert len(items(feed_path(workspace))) == 3
    [entry] = json.loads(result.stdout)["files"]
    assert (entry["published"], entry["refused"], entry["items"]) == (True, None, 3)
    assert temp_files(workspace) == []


def test_small_drop_passes_the_gate(workspace: Workspace, published: bytes) -> None:
    workspace.write_products(rows(6))  # 40 % fewer; the default gate allows 50 %
    result = invoke("build", "--config", workspace.config_path)
    assert result.exit_code == 0, result.output
    assert len(items(feed_path(workspace))) == 6


# --- help and version -------------------------------------------------------------------------


@pytest.mark.parametrize("command", [[], ["build"], ["validate"]], ids=["app", "build", "validate"])
def test_help_mentions_the_exit_codes(command: list[str]) -> None:
    result = invoke(*command, "--help")
    assert result.exit_code == 0
    assert "Exit codes" in result.stdout
    assert "4 another run" in " ".join(result.stdout.split())


def test_version_prints_the_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout == f"omnisync {__version__}\n"
    assert __version__ == version("omnisync")


# --- real subprocess --------------------------------------------------------------------------


def test_subprocess_json_report_is_alone_on_stdout(workspace: Workspace) -> None:
    config = workspace.setup(BAD_ROWS)
    proc = run_module("validate", "--config", config, "--format", "json", cwd=workspace.root)
    assert proc.returncode == 1
    assert {p["sku"] for p in json.loads(proc.stdout)["problems"]} == set(BAD_CODES)
    assert proc.stderr == ""


def test_subprocess_config_error_is_one_stderr_line_and_exit_2(workspace: Workspace) -> None:
    workspace.write_products([good_row()])
    config = workspace.write_config(
        channels={"google": {"type": "google_merchant", "format": "pdf"}}
    )
    proc = run_module("build", "--config", config, "--format", "json", cwd=workspace.root)
    assert proc.returncode == 2
    assert proc.stdout == ""
    line = single_error_line(proc)
    assert line.startswith("error: ")
    assert "channels.google.format: Input should be 'xml' or 'tsv'" in line


def test_subprocess_debug_shows_the_traceback(workspace: Workspace) -> None:
    workspace.write_products([good_row()])
    config = workspace.write_config(
        channels={"google": {"type": "google_merchant", "format": "pdf"}}
    )
    proc = run_module("validate", "--config", config, "--debug", cwd=workspace.root)
    assert proc.returncode == 2  # as without --debug
    assert "Traceback" in proc.stderr
    assert "ConfigError" in proc.stderr


def test_subprocess_build_exit_codes_follow_the_gate(workspace: Workspace) -> None:
    config = workspace.setup(rows(10))
    assert run_module("build", "-c", config, cwd=workspace.root).returncode == 0
    workspace.write_products(rows(3))
    refused = run_module("build", "-c", config, cwd=workspace.root)
    assert refused.returncode == 1
    assert "not published" in refused.stdout
    assert run_module("build", "-c", config, "--force", cwd=workspace.root).returncode == 0
