"""The README documents the real CLI: its usage lines and exit codes match the code."""

from __future__ import annotations

import re

from conftest import ROOT
from typer.testing import CliRunner

from omnisync.cli import app
from omnisync.errors import ExitCode

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_quick_start_is_exactly_the_two_commands() -> None:
    block = README.split("## Quick start", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ["make demo", "make test"]


def test_every_documented_option_exists_in_the_commands_help() -> None:
    usage = re.findall(
        r"^omnisync ((?:catalog |orders |exchange )?\w+) +(.*)$", README, flags=re.MULTILINE
    )
    commands = {command for command, _ in usage}
    assert commands == {
        "validate",
        "build",
        "push",
        "diff",
        "catalog import",
        "orders pull",
        "orders list",
        "orders board",
        "orders ship",
        "orders cancel",
        "sandbox",
        "sync",
        "status",
        "exchange serve",
    }
    registered = {
        c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands
    }
    groups = {"catalog", "orders", "exchange"}
    assert registered == {command.split()[0] for command in commands} - groups
    for command, line in usage:
        args = [*command.split(), "--help"]
        help_text = CliRunner().invoke(app, args, terminal_width=200).output
        for option in re.findall(r"--[a-z-]+", line):
            assert option in help_text, f"{command} {option}"
        for choices in re.findall(r"--format ([a-z|]+)", line):
            assert f"<{choices}>" in help_text


def test_every_exit_code_is_in_the_readme_table() -> None:
    table = README.split("### Exit codes", 1)[1].split("##", 1)[0]
    documented = {int(code) for code in re.findall(r"^\| (\d+) \|", table, flags=re.MULTILINE)}
    assert documented == {int(code) for code in ExitCode}
