"""Logging (issue 6): human-readable on a terminal, JSON lines otherwise, secrets redacted.

Logs go to stderr, the report to stdout. ``text`` shows warnings and errors as ``warning: …``
lines (a person at a terminal reads the report); ``json`` adds the run's events at INFO — run
started and finished with per-channel counts, problems summarised per code — one object per
line for journald, Loki or CloudWatch. ``--quiet`` keeps only errors (text) or warnings
(json). Every line passes through ``secrets.redact``: a token a channel echoes never lands in a
log; and through :func:`visible`: a catalogue value's escape sequence never reaches a terminal.
The format defaults to ``OMNISYNC_LOG_FORMAT``, else text on a terminal and json off one.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from omnisync.models import Problem
from omnisync.secrets import redact

log = logging.getLogger("omnisync")
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
EXAMPLES = 3
_mode: list[str] = ["text"]
# What a terminal acts on instead of showing: C0 controls (ESC starts colour, cursor and
# title sequences; BEL ends some), DEL and C1 controls (0x9B is a one-byte CSI). Newline and
# tab are layout, not commands.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# JSON escapes C0 itself; DEL and C1 it leaves raw (with ensure_ascii=False).
_JSON_UNESCAPED = re.compile("[\x7f-\x9f]")


def visible(text: str) -> str:
    """``text`` with every terminal control character written out (``\\x1b``), never raw."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def json_text(data: object, indent: int | None = None) -> str:
    """``data`` as JSON for a terminal or a log: secrets redacted, and DEL and C1 controls
    escaped as JSON escapes C0 (``ensure_ascii=False`` leaves them raw; 0x9B is a one-byte
    CSI a terminal acts on)."""
    text = redact(json.dumps(data, ensure_ascii=False, indent=indent, default=str))
    return _JSON_UNESCAPED.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "message": record.getMessage(),
        }
        data.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        return json_text(data)


class Plain(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return visible(redact(f"{record.levelname.lower()}: {record.getMessage()}"))


def configure(fmt: str | None, quiet: bool = False) -> str:
    """Set up the ``omnisync`` logger for one command; returns the format in force."""
    chosen = fmt or ("text" if sys.stderr.isatty() else "json")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines() if chosen == "json" else Plain())
    quiet_level, level = (logging.WARNING, logging.INFO) if chosen == "json" else (
        logging.ERROR, logging.WARNING)  # fmt: skip
    log.handlers = [handler]
    log.propagate = False
    log.setLevel(quiet_level if quiet else level)
    _mode[0] = chosen
    return chosen


def json_mode() -> bool:
    return _mode[0] == "json"


def problems(found: list[Problem]) -> None:
    """One line per problem code with its count and a few examples (the report lists all: a
    big catalogue's thousand bad rows must not become a thousand log lines every run)."""
    counts: Counter[tuple[str, str]] = Counter()
    examples: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for p in found:  # one pass: a million problems must not be scanned once per code
        key = (p.code, str(p.severity))
        counts[key] += 1
        if counts[key] <= EXAMPLES:
            examples.setdefault(key, []).append(_example(p))
    for (code, severity), count in counts.items():
        level = logging.WARNING if severity == "error" else logging.INFO
        shown = examples[code, severity]
        log.log(level, "%s: %d (e.g. %s)", code, count, shown[0]["message"], extra={
            "event": "problems", "code": code, "severity": severity, "count": count,
            "examples": shown,
        })  # fmt: skip


def _example(problem: Problem) -> dict[str, Any]:
    return {k: v for k, v in problem.as_dict().items() if v is not None}
