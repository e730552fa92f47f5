"""The ``omnisync`` command: parse options, call one pipeline function, render, exit.

No business logic lives here. Errors from the library are turned into one line on stderr and
the exit code of the contract below, once, in :func:`_guard`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console

from omnisync import __version__, console, pipeline, report
from omnisync import push as push_api
from omnisync.config import Config, load_config
from omnisync.errors import ExitCode, OmnisyncError
from omnisync.orders import fulfil
from omnisync.orders import pull as orders_pull_api
from omnisync.store.orders import list_orders, pickup_board

EXIT_CODES = """\
Exit codes: 0 ok · 1 data problems (validation errors, publish gate) · 2 usage or configuration
error · 3 channel failure or partial push · 4 another run holds the lock."""

app = typer.Typer(
    name="omnisync",
    help="One central catalogue, every sales channel: validated feeds, pushes and orders.",
    epilog=EXIT_CODES,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

T = TypeVar("T")


class ValidateFormat(StrEnum):
    text = "text"
    json = "json"
    junit = "junit"


class BuildFormat(StrEnum):
    text = "text"
    json = "json"


ConfigOpt = Annotated[
    Path,
    typer.Option(
        "--config", "-c", help="The YAML configuration file.", dir_okay=False, metavar="FILE"
    ),
]
ChannelOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--channel",
        help="Only this channel (repeat for several); default: every channel.",
        metavar="NAME",
    ),
]
DebugOpt = Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")]


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
) -> None:
    """Check the catalogue and every channel's rules; write no feed. Exit 1 on any error."""
    with _guard(debug):
        cfg = load_config(config)
        with console.progress_bar(format is ValidateFormat.text) as tick:
            result = pipeline.validate(cfg, channel or (), progress=_callback(tick))
        _emit(result, format.value, output, building=False)
        raise typer.Exit(ExitCode.DATA if result.has_errors else ExitCode.OK)


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
) -> None:
    """Write every channel's feed atomically. Items with errors are left out and reported;
    exit 0 when the feeds were published, 1 when the publish gate kept an old file."""
    with _guard(debug):
        cfg: Config = load_config(config)
        with console.progress_bar(format is BuildFormat.text) as tick:
            result = pipeline.build(cfg, channel or (), force=force, progress=_callback(tick))
        _emit(result, format.value, None, building=True)
        refused = any(s.refused for s in result.channels)
        raise typer.Exit(ExitCode.DATA if refused else ExitCode.OK)


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
    debug: DebugOpt = False,
) -> None:
    """Send what changed since the last acknowledged push (absolute values), re-assert what is
    older than reassert_after, remove what left. Exit 3 when any item failed or was deferred."""
    _push(config, channel, dry_run, format, force, debug)


@app.command(epilog=EXIT_CODES)
def diff(
    config: ConfigOpt,
    channel: ChannelOpt = None,
    format: Annotated[BuildFormat, typer.Option("--format", "-f")] = BuildFormat.text,
    debug: DebugOpt = False,
) -> None:
    """What push would send (push --dry-run): counts per action and the changes."""
    _push(config, channel, True, format, False, debug)


def _push(
    config: Path,
    channel: list[str] | None,
    dry_run: bool,
    format: BuildFormat,
    force: bool,
    debug: bool,
) -> None:
    with _guard(debug):
        cfg = load_config(config)
        with console.progress_bar(format is BuildFormat.text) as tick:
            result = push_api.push(
                cfg, channel or (), dry_run=dry_run, force=force, progress=_callback(tick)
            )
        if format is BuildFormat.json:
            sys.stdout.write(report.push_json(result) + "\n")
        else:
            console.render_push(result, _stdout())
        code = ExitCode.CHANNEL if result.partial else ExitCode.DATA if result.refused else 0
        raise typer.Exit(code)


@app.command()
def sandbox(
    port: Annotated[int, typer.Option("--port", help="Port on 127.0.0.1.")] = 8765,
    fail_rate: Annotated[
        float,
        typer.Option("--fail-rate", min=0, max=1, help="Share of API calls answered with 503."),
    ] = 0.0,
    latency: Annotated[
        int, typer.Option("--latency", min=0, help="Milliseconds added to every answer.")
    ] = 0,
) -> None:
    """Serve a local emulator of the Ozon, Satu, Google Merchant and Kaspi APIs until
    interrupted."""
    from omnisync.sandbox.server import Sandbox  # the server is only loaded when asked for

    server = Sandbox(port=port, fail_rate=fail_rate, latency_ms=latency)
    typer.echo(f"omnisync sandbox on {server.url} (Ctrl-C stops it)")
    try:
        server.server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server.server_close()


orders_app = typer.Typer(help="Marketplace orders in the central store.", no_args_is_help=True)
app.add_typer(orders_app, name="orders")


@orders_app.command("pull", epilog=EXIT_CODES)
def orders_pull(
    config: ConfigOpt,
    channel: ChannelOpt = None,
    since: Annotated[
        datetime | None,
        typer.Option(
            "--since",
            help="Read orders from this date (default: the stored cursor, or 30 days).",
            formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"],
        ),
    ] = None,
    format: Annotated[BuildFormat, typer.Option("--format", "-f")] = BuildFormat.text,
    debug: DebugOpt = False,
) -> None:
    """Pull orders from every order-listing channel into the central store, effectively once,
    and reserve their stock. Exit 3 when a channel could not be read."""
    with _guard(debug):
        since_utc = since.replace(tzinfo=UTC) if since and since.tzinfo is None else since
        result = orders_pull_api.pull(load_config(config), channel or (), since=since_utc)
        if format is BuildFormat.json:
            sys.stdout.write(report.pull_json(result) + "\n")
        else:
            console.render_pull(result, _stdout())
        raise typer.Exit(ExitCode.CHANNEL if result.failed else ExitCode.OK)


@orders_app.command("list")
def orders_list(
    config: ConfigOpt,
    status: Annotated[str | None, typer.Option("--status", help="Only this status.")] = None,
    channel: Annotated[str | None, typer.Option("--channel", metavar="NAME")] = None,
    format: Annotated[BuildFormat, typer.Option("--format", "-f")] = BuildFormat.text,
    debug: DebugOpt = False,
) -> None:
    """The stored orders with their lines and flags (needs_attention, oversell)."""
    with _guard(debug):
        orders = list_orders(load_config(config).state, status, channel)
        if format is BuildFormat.json:
            sys.stdout.write(report.dump(orders) + "\n")
        else:
            console.render_orders(orders, _stdout())


@orders_app.command("board")
def orders_board(
    config: ConfigOpt,
    store: Annotated[
        str, typer.Option("--store", help="Location code of the store.", metavar="CODE")
    ],
    format: Annotated[BuildFormat, typer.Option("--format", "-f")] = BuildFormat.text,
    debug: DebugOpt = False,
) -> None:
    """Click and collect: the open orders buyers will collect in this store, oldest first."""
    with _guard(debug):
        orders = pickup_board(load_config(config).state, store)
        if format is BuildFormat.json:
            sys.stdout.write(report.dump({"store": store, "orders": orders}) + "\n")
        else:
            console.render_orders(orders, _stdout())


@orders_app.command("ship", epilog=EXIT_CODES)
def orders_ship(
    config: ConfigOpt,
    order: Annotated[str, typer.Argument(help="The order's code or external id.")],
    tracking: Annotated[str, typer.Option("--tracking", help="The tracking number.")],
    carrier: Annotated[str | None, typer.Option("--carrier", help="The carrier's name.")] = None,
    channel: Annotated[str | None, typer.Option("--channel", metavar="NAME")] = None,
    code: Annotated[
        str | None,
        typer.Option("--code", help="Kaspi: the buyer's SMS code that completes the order."),
    ] = None,
    debug: DebugOpt = False,
) -> None:
    """Tell the channel the order is shipped (Ozon ship + tracking number, Satu delivered,
    Kaspi completed with the buyer's SMS code)."""
    with _guard(debug):
        outcome = fulfil.ship(load_config(config), order, tracking, carrier, channel, code)
        _say_fulfilled(outcome)


@orders_app.command("cancel", epilog=EXIT_CODES)
def orders_cancel(
    config: ConfigOpt,
    order: Annotated[str, typer.Argument(help="The order's code or external id.")],
    reason: Annotated[str, typer.Option("--reason", help="buyer, unreachable or out_of_stock")],
    channel: Annotated[str | None, typer.Option("--channel", metavar="NAME")] = None,
    debug: DebugOpt = False,
) -> None:
    """Cancel the order on its channel and release its reserved stock."""
    with _guard(debug):
        _say_fulfilled(fulfil.cancel(load_config(config), order, reason, channel))


def _say_fulfilled(outcome: Any) -> None:
    already = "" if outcome.called else " (it already was; nothing sent)"
    typer.echo(f"{outcome.channel} order {outcome.code}: {outcome.status}{already}")


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
) -> None:
    """Load the catalogue's CSV files into the central store (the config's state: file),
    replacing the previous snapshot in one transaction."""
    with _guard(debug):
        stats, result = pipeline.import_catalog(load_config(config), force=force)
        if format is BuildFormat.json:
            typer.echo(report.import_json(stats, result))
        else:
            console.render_import(stats, result, _stdout())


def _callback(tick: Any) -> Callable[[int], None] | None:
    return tick if callable(tick) else None


def _stdout() -> Console:
    # Off a terminal (CI logs, cron mail) rich would assume 80 columns and clip the table.
    return Console() if sys.stdout.isatty() else Console(width=120)


def _emit(result: report.RunReport, fmt: str, output: Path | None, building: bool) -> None:
    """The report on stdout, or in ``output`` with the human summary on stdout."""
    if fmt == "text":
        if output is not None:
            with output.open("w", encoding="utf-8") as f:
                console.render(result, Console(file=f, width=120), building)
        console.render(result, _stdout(), building)
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
    console.render(result, _stdout(), building)


@contextmanager
def _guard(debug: bool) -> Iterator[None]:
    """The one place library errors become a message and an exit code."""
    try:
        yield
    except (typer.Exit, typer.Abort):
        raise
    except OmnisyncError as exc:
        _fail(debug, str(exc), exc.exit_code)
    except OSError as exc:  # a path we were told to use: missing folder, permissions, a folder
        where = f"{exc.filename}: " if exc.filename else ""
        _fail(
            debug,
            f"{where}{exc.strerror or exc}; check the path and its permissions",
            ExitCode.USAGE,
        )
    except KeyboardInterrupt:
        _fail(debug, "interrupted", 130)
    except Exception as exc:
        _fail(
            debug,
            f"unexpected {type(exc).__name__}: {exc} (a bug in omnisync; re-run with "
            "--debug and report the traceback)",
            ExitCode.DATA,
        )


def _fail(debug: bool, message: str, code: int) -> NoReturn:
    if debug:
        raise
    console.error_line(message.splitlines()[0] if message else "error")
    raise typer.Exit(code) from None


def main() -> None:
    app()
