"""What a run found and did, and its machine-readable forms (JSON, JUnit XML).

Formats are documented in the README ("Reports"). Problems are kept in order of discovery.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree

from omnisync.logs import json_text
from omnisync.models import Problem, Severity
from omnisync.secrets import redact
from omnisync.text import xml_safe


@dataclass(slots=True)
class ChannelStats:
    channel: str
    items_total: int = 0
    items_valid: int = 0
    errors: int = 0
    warnings: int = 0
    filtered: int = 0  # left out by the channel's include/exclude rules (not problems)
    paths: list[Path] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # entries written per output
    published: bool = False
    refused: str | None = None

    @property
    def path(self) -> Path | None:
        """The channel's first (for most channels, only) output."""
        return self.paths[0] if self.paths else None

    @property
    def excluded(self) -> int:
        return self.items_total - self.items_valid


@dataclass(slots=True)
class RunReport:
    channels: list[ChannelStats] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    products: int = 0  # distinct products the source produced (after its own rejections)

    def add(self, problem: Problem) -> None:
        self.problems.append(problem)

    @property
    def has_errors(self) -> bool:
        return any(p.severity is Severity.ERROR for p in self.problems)

    @property
    def catalogue_errors(self) -> int:
        return sum(1 for p in self.problems if p.channel is None and p.severity is Severity.ERROR)

    def by_code(self) -> Counter[tuple[str, str]]:
        return Counter((str(p.severity), p.code) for p in self.problems)


def _catalogue(report: RunReport) -> dict[str, int]:
    return {"products": report.products, "errors": report.catalogue_errors}


def validate_json(report: RunReport) -> str:
    return _dump(
        {
            "catalogue": _catalogue(report),
            "channels": [
                {
                    "channel": s.channel,
                    "items_total": s.items_total,
                    "items_valid": s.items_valid,
                    "errors": s.errors,
                    "warnings": s.warnings,
                }
                for s in report.channels
            ],
            "problems": [p.as_dict() for p in report.problems],
        }
    )


def build_json(report: RunReport) -> str:
    return _dump(
        {
            "catalogue": _catalogue(report),
            "files": [
                {
                    "channel": s.channel,
                    "path": str(s.path) if s.path else None,
                    "paths": [str(p) for p in s.paths],
                    "filtered": s.filtered,
                    "items": s.items_valid,
                    "excluded": s.excluded,
                    "published": s.published,
                    "refused": s.refused,
                }
                for s in report.channels
            ],
            "problems": [p.as_dict() for p in report.problems],
        }
    )


def dump(data: object) -> str:
    """Any report data as JSON, with secrets redacted."""
    return _dump(data)


def _dump(data: object) -> str:
    return json_text(data, indent=2)


def junit_xml(report: RunReport) -> bytes:
    """One <testsuite> per channel (plus "catalogue"); each problem a <testcase>: errors fail,
    warnings are skipped, and a suite without problems holds one passing case."""
    root = etree.Element("testsuites", name="omnisync validate")
    suites = ["catalogue", *(s.channel for s in report.channels)]
    for suite_name in suites:
        channel = None if suite_name == "catalogue" else suite_name
        problems = [p for p in report.problems if p.channel == channel]
        _suite(root, suite_name, problems)
    text = etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)
    return redact(text.decode("utf-8")).encode("utf-8")


def _suite(root: etree._Element, name: str, problems: list[Problem]) -> None:
    failures = sum(1 for p in problems if p.severity is Severity.ERROR)
    suite = etree.SubElement(
        root,
        "testsuite",
        name=name,
        tests=str(max(len(problems), 1)),
        failures=str(failures),
        skipped=str(len(problems) - failures),
    )
    if not problems:
        etree.SubElement(suite, "testcase", classname=name, name="all items valid")
    for p in problems:
        where = p.sku or (f"{p.file}:{p.line}" if p.file else "-")
        case = etree.SubElement(
            suite,
            "testcase",
            classname=f"{name}.{p.field or 'row'}",
            name=xml_safe(f"{where} {p.code}"),
        )
        kind = "failure" if p.severity is Severity.ERROR else "skipped"
        # Messages quote catalogue text, which may hold characters XML cannot carry.
        element = etree.SubElement(case, kind, message=xml_safe(p.message), type=p.code)
        element.text = xml_safe(_location(p))


def _location(p: Problem) -> str:
    parts = [
        f"sku={p.sku}" if p.sku else "",
        f"{p.file}:{p.line}" if p.file else "",
        f"field={p.field}" if p.field else "",
    ]
    return " ".join(x for x in parts if x) + f"\n{p.message}"


def push_json(result: Any) -> str:
    """``omnisync push --format json`` (``result`` is a push.PushReport)."""
    return _dump(push_data(result))


def push_data(result: Any) -> dict[str, Any]:
    return {
        "dry_run": result.dry_run,
        "channels": [
            {"channel": p.channel, "account": p.account, "planned": p.planned, "sent": p.sent,
             "failed": p.failed, "deferred": p.deferred}
            for p in result.pushes
        ],
        "changes": [{"channel": p.channel, **change} for p in result.pushes
                    for change in p.changes],
        "published": [{"channel": s.channel, "paths": [str(x) for x in s.paths],
                       "published": s.published, "refused": s.refused}
                      for s in result.run.channels if s.paths],
        "problems": [p.as_dict() for p in result.run.problems],
    }  # fmt: skip


def import_json(stats: Any, report: RunReport) -> str:
    """``omnisync catalog import --format json`` (``stats`` is a store.catalog.ImportStats)."""
    imported = {
        "products": stats.products,
        "stock_rows": stats.stock_rows,
        "locations": stats.locations,
        "previous": stats.previous,
    }
    return _dump({"imported": imported, "problems": [p.as_dict() for p in report.problems]})


def pull_json(result: Any) -> str:
    """``omnisync orders pull --format json`` (``result`` is an orders.pull.PullReport)."""
    return _dump(pull_data(result))


def pull_data(result: Any) -> dict[str, Any]:
    return {
        "channels": [
            {"channel": p.channel, "account": p.account, "since": p.since.isoformat(),
             "until": p.until.isoformat(), "new": p.stats.new, "updated": p.stats.updated,
             "unchanged": p.stats.unchanged, "acknowledged": p.acknowledged,
             "needs_attention": len(p.stats.needs_attention),
             "oversold": sorted(p.stats.oversold), "error": p.error}
            for p in result.pulls
        ],
        "problems": [p.as_dict() for p in result.run.problems],
    }  # fmt: skip


def sync_json(result: Any) -> str:
    """``omnisync sync --format json`` (``result`` is a sync.SyncReport)."""
    pulled = pull_data(result.pull) if result.pull is not None else None
    return _dump({"exit_code": int(result.exit_code), "dry_run": result.dry_run,
                  "pull": pulled, "push": push_data(result.push)})  # fmt: skip
