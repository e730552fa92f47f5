"""Terminal control characters in catalogue or marketplace text are shown escaped (``\\x1b``),
never raw: a title carrying ``ESC [31m`` or ``ESC ]0;…BEL`` must not recolour the terminal,
move its cursor or retitle the window of whoever reads the report."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from conftest import Workspace, good_row
from typer.testing import CliRunner

from omnisync import logs
from omnisync.cli import app
from omnisync.console import Terminal, error_line, render_orders

RED = "\x1b[31mRED"  # SGR: colour
TITLE = "\x1b]0;pwned\x07"  # OSC: window title, ended by BEL
CSI = "\x9b2J"  # the one-byte C1 CSI: clear the screen
RAW = ("\x1b", "\x07", "\x9b")

runner = CliRunner()


def assert_escaped(shown: str) -> None:
    assert not any(c in shown for c in RAW), repr(shown)


def test_a_catalogue_value_in_the_report_is_escaped(workspace: Workspace) -> None:
    # the GTIN rule quotes the value as it is (SKUs are escaped by the source already)
    workspace.write_products([good_row(sku="BAD", gtin=f"12{RED}{TITLE}"), good_row()])
    result = runner.invoke(app, ["validate", "--config", str(workspace.write_config())])
    assert result.exit_code == 1, result.stderr
    assert "GTIN 12\\x1b[31mRED\\x1b]0;pwned\\x07 must" in result.stdout
    assert_escaped(result.stdout + result.stderr)


def test_a_catalogue_value_in_a_json_report_is_escaped(workspace: Workspace) -> None:
    """JSON escapes C0 itself; DEL and C1 (0x9B: a one-byte CSI) it would write raw."""
    workspace.write_products([good_row(sku="BAD", gtin=f"12{CSI}\x7f"), good_row()])
    config = str(workspace.write_config())
    result = runner.invoke(app, ["validate", "--config", config, "--format", "json"])
    assert result.exit_code == 1, result.stderr
    assert_escaped(result.stdout) and "\x7f" not in result.stdout
    gtins = [p["message"] for p in json.loads(result.stdout)["problems"] if p["sku"] == "BAD"]
    assert any(f"12{CSI}\x7f" in message for message in gtins)  # the value, kept


def test_a_value_in_a_one_line_error_is_escaped(workspace: Workspace) -> None:
    workspace.write_products([good_row()])
    workspace.config_path.write_text(
        'catalog: {products: products.csv}\nchannels: {"\\e[31mX\\a": {type: google_merchant}}\n',
        encoding="utf-8",
    )
    result = runner.invoke(app, ["validate", "--config", str(workspace.config_path)])
    assert result.exit_code == 2
    assert "channels.\\x1b[31mX\\x07: use letters" in result.stderr
    assert_escaped(result.stderr)


def test_error_line_escapes_c0_c1_and_del_but_not_layout() -> None:
    stream = io.StringIO()
    error_line(f"a{RED}\tb{CSI}\x7f\x00", stream)
    assert stream.getvalue() == "error: a\\x1b[31mRED\tb\\x9b2J\\x7f\\x00\n"


def test_tables_on_a_real_terminal_keep_their_colours_but_escape_the_data() -> None:
    out = io.StringIO()
    order = {"channel": "kaspi", "code": f"{TITLE}O-1", "status": "new", "created_at": "today",
             "lines": [{"sku": RED, "channel_sku": None, "quantity": 1}], "flags": []}  # fmt: skip
    render_orders([order], Terminal(file=out, width=120, force_terminal=True))
    shown = out.getvalue()
    assert "\\x1b]0;pwned\\x07O-1" in shown and "\\x1b[31mRED" in shown
    assert TITLE not in shown and RED not in shown and "\x07" not in shown


@pytest.fixture
def text_log() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.Plain())
    logs.log.handlers, logs.log.propagate = [handler], False
    yield stream
    logs.log.handlers.clear()
    logs.log.propagate = True


def test_text_logs_escape_control_characters(text_log: io.StringIO) -> None:
    logs.log.warning("kaspi rejected %s: %s", RED, TITLE + CSI)
    assert text_log.getvalue() == (
        "warning: kaspi rejected \\x1b[31mRED: \\x1b]0;pwned\\x07\\x9b2J\n"
    )


def test_json_logs_escape_c1_and_keep_the_value(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    logs.configure("json")
    try:
        logs.log.warning("title %s", RED + CSI + "\x7f")
    finally:
        logs.log.handlers.clear()
        logs.log.propagate = True
    line = stream.getvalue()
    assert_escaped(line)
    assert "\x7f" not in line
    assert json.loads(line)["message"] == f"title {RED}{CSI}\x7f"
