"""Everything a person sees: the summary table, problems grouped by code, progress, errors.

Machine formats (JSON, JUnit) come from :mod:`omnisync.report`; this module only renders.
Text from the catalogue or a marketplace is shown with its control characters escaped
(:class:`Terminal`, :func:`error_line`): a title carrying ``ESC [31m`` or ``ESC ]0;…BEL``
must not recolour the terminal, move its cursor or retitle its window.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from omnisync.logs import visible
from omnisync.models import Problem
from omnisync.push import PushReport, PushStats
from omnisync.report import RunReport
from omnisync.secrets import redact
from omnisync.status import KINDS
from omnisync.store.catalog import ImportStats
from omnisync.store.ledger import ACTIONS

EXAMPLES_PER_CODE = 3


class Terminal(Console):
    """A rich Console that shows control characters escaped (``\\x1b``) in all text it renders:
    every table cell, title and line of ours is a str that passes through ``render_str``."""

    def render_str(self, text: str, **options: Any) -> Text:
        return super().render_str(visible(text), **options)


def error_line(message: str, stream: TextIO | None = None) -> None:
    """One line on stderr; plain write so brackets in paths are never taken as markup."""
    (stream or sys.stderr).write(f"error: {visible(redact(message))}\n")


@contextmanager
def progress_bar(enabled: bool) -> Iterator[object]:
    """A live product counter on stderr when it is a terminal; a no-op callback otherwise."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    columns = (SpinnerColumn(), TextColumn("{task.completed:,} products"), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("reading", total=None)
        yield lambda n: bar.update(task, completed=n)


def render_import(stats: ImportStats, report: RunReport, console: Console) -> None:
    console.print(
        f"imported {stats.products} products, {stats.stock_rows} stock rows and "
        f"{stats.locations} locations (the store held {stats.previous} products)",
        highlight=False,
    )
    if report.problems:
        console.print(_problems(report))


def render_push(result: PushReport, console: Console) -> None:
    verb = "would send" if result.dry_run else "sent"
    table = Table(title=f"omnisync push{' (dry run: nothing sent)' if result.dry_run else ''}")
    for column in ("channel", "account", *ACTIONS, "sent", "failed", "deferred"):
        table.add_column(column, justify="left" if column in ("channel", "account") else "right")
    for p in result.pushes:
        counts = [str(p.planned.get(action, 0)) for action in ACTIONS]
        table.add_row(p.channel, p.account, *counts, str(p.sent), str(p.failed), str(p.deferred))
    console.print(table)
    for p in result.pushes:
        if p.changes:
            console.print(_sample(p, verb))
    if result.run.problems:
        console.print(_problems(result.run))
    for stats in result.run.channels:
        for path in stats.paths if stats.published else ():
            console.print(
                f"[green]published[/] {stats.channel}: {escape(str(path))}", highlight=False
            )


def _sample(p: PushStats, verb: str) -> Table:
    table = Table(title=f"{p.channel}: {len(p.changes)} changes it {verb} (first 10)")
    for column in ("action", "stream", "key", "payload"):
        table.add_column(column)
    for change in p.changes[:10]:
        payload = redact(json.dumps(change["payload"], ensure_ascii=False))
        table.add_row(change["action"], change["stream"], escape(change["key"]), escape(payload))
    return table


def render_pull(result: Any, console: Console) -> None:
    table = Table(title="omnisync orders pull")
    columns = (
        "channel",
        "account",
        "new",
        "updated",
        "unchanged",
        "acknowledged",
        "needs attention",
        "oversold",
        "error",
    )
    for column in columns:
        table.add_column(column)
    for p in result.pulls:
        s = p.stats
        table.add_row(
            p.channel,
            p.account,
            str(s.new),
            str(s.updated),
            str(s.unchanged),
            str(p.acknowledged),
            str(len(s.needs_attention)),
            ", ".join(sorted(s.oversold)),
            escape(redact(p.error or "")),
        )
    console.print(table)
    if result.run.problems:
        console.print(_problems(result.run))


def render_orders(orders: list[dict[str, Any]], console: Console) -> None:
    table = Table(title=f"{len(orders)} orders")
    for column in ("channel", "order", "status", "created", "lines", "flags"):
        table.add_column(column)
    for o in orders:
        lines = ", ".join(
            f"{line['sku'] or line['channel_sku']} ×{line['quantity']}" for line in o["lines"]
        )
        table.add_row(
            o["channel"],
            escape(o["code"]),
            o["status"],
            o["created_at"],
            escape(lines),
            ", ".join(o["flags"]),
        )
    console.print(table)


def render(report: RunReport, console: Console, building: bool) -> None:
    console.print(_summary(report, building))
    if report.problems:
        console.print(_problems(report))
    for stats in report.channels:
        if stats.published:
            for path in stats.paths:
                console.print(
                    f"[green]feed[/] {stats.channel}: {escape(str(path))}", highlight=False
                )
        elif stats.refused:
            console.print(
                f"[red]not published[/] {stats.channel}: {escape(stats.refused)}", highlight=False
            )


def _summary(report: RunReport, building: bool) -> Table:
    table = Table(
        title=f"omnisync — {report.products} products read, "
        f"{report.catalogue_errors} catalogue errors"
    )
    for column in ("channel", "items", "valid", "excluded", "errors", "warnings", "filtered"):
        table.add_column(column, justify="left" if column == "channel" else "right")
    if building:
        table.add_column("feed")
    for s in report.channels:
        row = [
            s.channel,
            *(
                str(n)
                for n in (
                    s.items_total,
                    s.items_valid,
                    s.excluded,
                    s.errors,
                    s.warnings,
                    s.filtered,
                )
            ),
        ]
        if building:
            row.append(
                "published" if s.published else "[red]not published[/]" if s.refused else "-"
            )
        table.add_row(*row)
    return table


def _problems(report: RunReport) -> Table:
    table = Table(title="problems by code")
    for column in ("severity", "code", "count", "examples"):
        table.add_column(column, justify="right" if column == "count" else "left")
    examples: dict[tuple[str, str], list[Problem]] = {}
    for p in report.problems:
        bucket = examples.setdefault((str(p.severity), p.code), [])
        if len(bucket) < EXAMPLES_PER_CODE:
            bucket.append(p)
    for (severity, code), count in sorted(report.by_code().items()):
        style = "red" if severity == "error" else "yellow"
        text = "\n".join(escape(_example(p)) for p in examples[(severity, code)])
        table.add_row(f"[{style}]{severity}[/]", code, str(count), text)
    return table


def _example(p: Problem) -> str:
    return redact(_describe(p))


def _describe(p: Problem) -> str:
    where = ", ".join(x for x in (p.channel, f"{p.file}:{p.line}" if p.file else None) if x)
    who = p.sku or "-"
    return f"{who} ({where}): {p.message}" if where else f"{who}: {p.message}"


def render_status(found: dict[str, Any], console: Console) -> None:
    """``omnisync status``: a table per channel, oversells, then the last runs."""
    table = Table(title=f"omnisync status ({found['state']})")
    for column in ("channel", "pushed", "published", "orders pulled", "waiting", "open orders"):
        table.add_column(column)
    for c in found["channels"]:
        waiting, orders = c["waiting"], c["orders"]
        table.add_row(
            c["channel"],
            *(_when(c[f"last_successful_{kind}"], c[f"last_{kind}"]) for kind in KINDS),
            f"{waiting['failed']} failed, {waiting['deferred']} deferred",
            f"{orders['open']} ({orders['needs_attention']} need attention, "
            f"{orders['oversold']} oversold)",
        )
    console.print(table)
    for o in found["oversells"]:
        console.print(
            f"oversold: {o['channel']} order {o['code']} ({o['status']})", highlight=False
        )
    runs = Table(title="last runs")
    for column in ("started", "command", "took", "outcome", "problems", "error"):
        runs.add_column(column)
    for r in found["runs"]:
        took = f"{r['duration_s']:.1f}s" if r["duration_s"] is not None else "-"
        problems = ", ".join(f"{code} {n}" for code, n in sorted(r["problems"].items()))
        runs.add_row(r["started_at"], r["command"], took, r["outcome"], problems,
                     escape(redact(r["error"] or "")))  # fmt: skip
    console.print(runs)


def _when(success: dict[str, Any] | None, last: dict[str, Any] | None) -> str:
    """The last success: its age and counts; a newer failed attempt is pointed out."""
    if last is None:
        return "-"
    text = f"{_age(success['age_s'])} ago: {_counts(success)}" if success else "never succeeded"
    return text if last["ok"] else f"{text}; failed {_age(last['age_s'])} ago"


def _counts(outcome: dict[str, Any]) -> str:
    keys = ("sent", "failed", "deferred", "items", "new", "updated")
    return ", ".join(f"{outcome[k]} {k}" for k in keys if outcome.get(k)) or "nothing to do"


def _age(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
