"""``omnisync sync`` and ``omnisync status``: the commands cron and an operator use."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from omnisync import console, report
from omnisync import status as status_api
from omnisync import sync as sync_api
from omnisync.cli_common import (
    EXIT_CODES,
    BuildFormat,
    ChannelOpt,
    ConfigOpt,
    DebugOpt,
    LogFormatOpt,
    MetricsOpt,
    QuietOpt,
    SinceOpt,
    callback,
    conclude,
    guard,
    metrics_after,
    stdout,
    utc,
)  # fmt: skip
from omnisync.config import load_config
from omnisync.logs import json_text
from omnisync.orders import pull as pull_api


def sync(
    config: ConfigOpt,
    channel: ChannelOpt = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Do everything but send, publish or change state."),
    ] = False,
    since: SinceOpt = None,
    format: Annotated[BuildFormat, typer.Option("--format", "-f")] = BuildFormat.text,
    debug: DebugOpt = False,
    log_format: LogFormatOpt = None,
    quiet: QuietOpt = False,
    metrics_file: MetricsOpt = None,
) -> None:
    """Pull orders, recompute available-to-sell, build every feed and push — the job to run
    from cron. One failing channel does not stop the others; the exit code is the worst
    outcome. SIGTERM finishes the current batch and exits; a second signal aborts."""
    with guard(debug, log_format, quiet):
        cfg = load_config(config)
        if not dry_run:
            metrics_after(metrics_file, cfg.state)
        with console.progress_bar(format is BuildFormat.text and not quiet) as tick:
            result = sync_api.sync(
                cfg, channel or (), dry_run, since=utc(since), progress=callback(tick)
            )
        if format is BuildFormat.json:
            sys.stdout.write(report.sync_json(result) + "\n")
        else:
            if result.pull is not None:
                console.render_pull(result.pull, stdout())
                if quiet:  # no report: the mail cron sends must still name each order
                    pull_api.log_alerts(result.pull)
            console.render_push(result.push, stdout())
        pulled = result.pull.run.problems if result.pull is not None else []
        conclude(result.exit_code, [*pulled, *result.push.run.problems])
        # Told (written and flushed; a failed write never gets here): not again — a dry run
        # tells them, and marks nothing. Killed right before this, the next run tells them again.
        if result.pull is not None and not dry_run:
            pull_api.mark_reported(cfg.state, result.pull)
        raise typer.Exit(result.exit_code)


def status(
    config: ConfigOpt,
    format: Annotated[BuildFormat, typer.Option("--format", "-f")] = BuildFormat.text,
    debug: DebugOpt = False,
) -> None:
    """Per channel: the last successful push and order pull with their age, items waiting,
    orders needing attention and oversells; then the last runs and how they ended."""
    with guard(debug):
        found = status_api.status(load_config(config))
        if format is BuildFormat.json:
            sys.stdout.write(json_text(found, indent=2) + "\n")
        else:
            console.render_status(found, stdout())


def register(app: typer.Typer) -> None:
    app.command(epilog=EXIT_CODES)(sync)
    app.command()(status)
