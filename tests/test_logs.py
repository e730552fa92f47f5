"""Logging: JSON lines off a terminal (cron, systemd, Kubernetes), text on one; redacted."""

from __future__ import annotations

import io
import json
import logging

import pytest

from omnisync import logs
from omnisync.models import Problem, Severity
from omnisync.secrets import register


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def configured(monkeypatch: pytest.MonkeyPatch, stream: io.StringIO, quiet: bool = False) -> str:
    monkeypatch.setattr("sys.stderr", stream)
    return logs.configure(None, quiet)


def test_off_a_terminal_logs_are_json_lines_with_their_fields(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stream = io.StringIO()
    assert configured(monkeypatch, stream) == "json"
    logs.log.info("sync finished", extra={"event": "run_finished", "exit_code": 3})
    entry = json.loads(stream.getvalue())
    assert entry["level"] == "info" and entry["event"] == "run_finished"
    assert entry["exit_code"] == 3 and entry["message"] == "sync finished"


def test_on_a_terminal_only_warnings_show_as_text(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = Terminal()
    assert configured(monkeypatch, stream) == "text"
    logs.log.info("sync finished")
    logs.log.warning("SIGTERM received")
    assert stream.getvalue() == "warning: SIGTERM received\n"


def test_quiet_keeps_only_errors_in_text(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = Terminal()
    configured(monkeypatch, stream, quiet=True)
    logs.log.warning("not shown")
    logs.log.error("exit 3")
    assert stream.getvalue() == "error: exit 3\n"


def test_problems_are_summarised_per_code_and_secrets_redacted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    register("tok-SENTINEL-91ab")
    stream = io.StringIO()
    configured(monkeypatch, stream)
    found = [
        Problem(code="push_rejected", message=f"echoed tok-SENTINEL-91ab ({n})", sku=f"S{n}")
        for n in range(5)
    ] + [Problem(code="title_truncated", message="cut", severity=Severity.WARNING)]
    logs.problems(found)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(e["code"], e["count"], e["level"]) for e in lines] == [
        ("push_rejected", 5, "warning"),
        ("title_truncated", 1, "info"),
    ]
    assert len(lines[0]["examples"]) == logs.EXAMPLES
    assert "tok-SENTINEL-91ab" not in stream.getvalue()


@pytest.fixture(autouse=True)
def _restore() -> object:
    yield
    logs.log.handlers.clear()
    logs.log.setLevel(logging.NOTSET)
    logs.log.propagate = True
