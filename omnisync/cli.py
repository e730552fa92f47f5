"""The ``omnisync`` command: parse options, call one library function, render, exit.

No business logic lives here: each command is a thin wrapper (commands on orders live in
``cli_orders``); errors become one line and an exit code in ``cli_common.guard``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from omnisync import __version__, cli_ops, console, pipeline, report
from omnisync import push as push_api
from omnisync.cli_common import (
    EXIT_CODES,
    BuildFormat,
    ChannelOpt,
    ConfigOpt,
    DebugOpt,
    LogFormatOpt,
    MetricsOpt,
    QuietOpt,
    ValidateFormat,
    callback,
    finish,
    guard,
    metrics_after,
    stdout,
)  # fmt: skip
from omnisync.cli_exchange import exchange_app
from omnisync.cli_orders import orders_app
from omnisync.config import Config, load_config
from omnisync.errors import ExitCode, UsageError

app = typer.Typer(
    name="omnisync",
    help="One central catalogue, every sales channel: validated feeds, pushes and orders.",
    epilog=EXIT_CODES,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.add_typer(orders_app, name="orders")
app.add_typer(exchange_app, name="exchange")
cli_ops.register(app)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"omnisync {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """One central catalogue, every sales channel: validated feeds, pushes and orders."""


@app.command(epilog=EXIT_CODES)
def validate(
    config: ConfigOpt,
    channel: ChannelOpt = None,
    format: Annotated[ValidateFormat, typer.Option("--format", "-f")] = ValidateFormat.text,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the report here instead of stdout.")
    ] = None,
    debug: DebugOpt = False,
    log_format: LogFormatOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Check the catalogue and every channel's rules; write no feed. Exit 1 on any error."""
    with guard(debug, log_format, quiet):
        cfg = load_config(config)
        with console.progress_bar(format is ValidateFormat.text) as tick:
            result = pipeline.validate(cfg, channel or (), progress=callback(tick))
        _emit(result, format.value, output, building=False)
        finish(ExitCode.DATA if result.has_errors else ExitCode.OK, result.problems)


@app.command(epilog=EXIT_CODES)
def build(
    config: ConfigOpt,
    channel: ChannelOpt = None,
    format: Annotated[BuildFormat, typer.Option("--format", "-f")] = BuildFormat.text,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Publish even when the publish gate would refuse a shrunken feed."
        ),
    ] = False,
    debug: DebugOpt = False,
    log_format: LogFormatOpt = None,
    quiet: QuietOpt = False,
    metrics_file: MetricsOpt = None,
) -> None:
    """Write every channel's feed atomically. Items with errors are left out and reported;
    exit 0 when the feeds were published, 1 when the publish gate kept an old file."""
    with guard(debug, log_format, quiet):
        cfg: Config = load_config(config)
        metrics_after(metrics_file, cfg.state)
        with console.progress_bar(format is BuildFormat.text and not quiet) as tick:
            result = pipeline.build(cfg, channel or (), force=force, progress=callback(tick))
        _emit(result, format.value, None, building=True)
        refused = any(s.refused for s in result.channels)
        finish(ExitCode.DATA if refused else ExitCode.OK, result.problems)


@app.command(epilog=EXIT_CODES)
def push(
    config: ConfigOpt,
    channel: ChannelOpt = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Plan and report; send nothing, change no state.")
    ] = False,
    format: Annotated[BuildFormat, typer.Option("--format", "-f")] = BuildFormat.text,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Publish files (Kaspi) even when the publish gate would refuse."
        ),
    ] = False,
    full: Annotated[
        bool,
        typer.Option(
            "--full",
            hidden=True,
            help="Accepted and ignored: every push reads every SKU (cron lines may still pass it).",
        ),
    ] = False,
    debug: DebugOpt = False,
    log_format: LogFormatOpt = None,
    quiet: QuietOpt = False,
    metrics_file: MetricsOpt = None,
) -> None:
    """Send what changed since the last acknowledged push (absolute values), re-assert what is
    older than reassert_after, remove what left. Exit 3 when any item failed or was deferred."""
    with guard(debug, log_format, quiet):
        _push(config, channel, dry_run, format, force, full, quiet, metrics_file)


@app.command(epilog=EXIT_CODES)
def diff(
    config: ConfigOpt,
    channel: ChannelOpt = None,
    format: Annotated[BuildFormat, typer.Option("--format", "-f")] = BuildFormat.text,
    debug: DebugOpt = False,
    log_format: LogFormatOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """What push would send (push --dry-run): counts per action and the changes."""
    with guard(debug, log_format, quiet):
        _push(config, channel, True, format, False, False, quiet, None)


def _push(
    config: Path,
    channel: list[str] | None,
    dry_run: bool,
    format: BuildFormat,
    force: bool,
    full: bool,
    quiet: bool,
    metrics_file: Path | None,
) -> None:
    cfg = load_config(config)
    if not dry_run:
        metrics_after(metrics_file, cfg.state)
    with console.progress_bar(format is BuildFormat.text and not quiet) as tick:
        result = push_api.push(
            cfg, channel or (), dry_run=dry_run, force=force, progress=callback(tick), full=full
        )
    if format is BuildFormat.json:
        sys.stdout.write(report.push_json(result) + "\n")
    else:
        console.render_push(result, stdout())
    finish(result.exit_code, result.run.problems)


@app.command()
def sandbox(
    port: Annotated[
        int,
        typer.Option("--port", min=0, max=65535, help="Port on 127.0.0.1; 0: any free one."),
    ] = 8765,
    fail_rate: Annotated[
        float,
        typer.Option("--fail-rate", min=0, max=1, help="Share of API calls answered with 503."),
    ] = 0.0,
    latency: Annotated[
        int, typer.Option("--latency", min=0, help="Milliseconds added to every answer.")
    ] = 0,
    ready_file: Annotated[
        Path | None,
        typer.Option(
            "--ready-file",
            help="Once it listens, write its URL, pid and instance token here (JSON), for a "
            "script to wait for and check against GET /_sandbox/identity.",
            dir_okay=False,
            metavar="PATH",
        ),
    ] = None,
    debug: DebugOpt = False,
) -> None:
    """Serve a local emulator of the Ozon, Satu, Google Merchant and Kaspi APIs until
    interrupted. Exit 2 when the port is taken."""
    from omnisync.sandbox.server import Sandbox  # the server is only loaded when asked for

    with guard(debug):
        try:
            server = Sandbox(port=port, fail_rate=fail_rate, latency_ms=latency)
        except OSError as exc:  # EADDRINUSE above all: another sandbox, or another program
            raise UsageError(
                f"cannot listen on 127.0.0.1:{port} ({exc.strerror or exc}); choose another "
                "--port, or --port 0 for a free one"
            ) from None
        if ready_file is not None:
            _write_ready(ready_file, {"url": server.url, **server.identity()})
    typer.echo(f"omnisync sandbox on {server.url} (Ctrl-C stops it)")
    try:
        server.server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server.server_close()


def _write_ready(path: Path, found: dict[str, object]) -> None:
    """Whole or not at all (written aside, then renamed): a script polling for it never reads
    half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    aside = path.with_name(f".{path.name}.tmp")
    aside.write_text(json.dumps(found) + "\n", encoding="utf-8")
    aside.replace(path)


catalog_app = typer.Typer(help="The central store's catalogue snapshot.", no_args_is_help=True)
app.add_typer(catalog_app, name="catalog")


@catalog_app.command("import", epilog=EXIT_CODES)
def catalog_import(
    config: ConfigOpt,
    format: Annotated[BuildFormat, typer.Option("--format", "-f")] = BuildFormat.text,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Import even when the catalogue lost more than half its products."
        ),
    ] = False,
    debug: DebugOpt = False,
    log_format: LogFormatOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Load the catalogue's CSV files into the central store (the config's state: file),
    replacing the previous snapshot in one transaction."""
    with guard(debug, log_format, quiet):
        stats, result = pipeline.import_catalog(load_config(config), force=force)
        if format is BuildFormat.json:
            typer.echo(report.import_json(stats, result))
        else:
            console.render_import(stats, result, stdout())


def _emit(result: report.RunReport, fmt: str, output: Path | None, building: bool) -> None:
    """The report on stdout, or in ``output`` with the human summary on stdout."""
    if fmt == "text":
        if output is not None:
            with output.open("w", encoding="utf-8") as f:
                console.render(result, console.Terminal(file=f, width=120), building)
        console.render(result, stdout(), building)
        return
    if fmt == "junit":
        data = report.junit_xml(result)
    else:
        text = report.build_json(result) if building else report.validate_json(result)
        data = (text + "\n").encode("utf-8")
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    output.write_bytes(data)
    console.render(result, stdout(), building)


def main() -> None:
    app()
