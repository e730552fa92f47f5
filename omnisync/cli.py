"""The ``omnisync`` command: parse options, call one pipeline function, render, exit.

No business logic lives here. Errors from the library are turned into one line on stderr and
the exit code of the contract below, once, in :func:`_guard`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console

from omnisync import __version__, console, pipeline, report
from omnisync.config import Config, load_config
from omnisync.errors import ExitCode, OmnisyncError

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
            payload = {
                "imported": {
                    "products": stats.products,
                    "stock_rows": stats.stock_rows,
                    "locations": stats.locations,
                    "previous": stats.previous,
                },
                "problems": [p.as_dict() for p in result.problems],
            }
            typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
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
