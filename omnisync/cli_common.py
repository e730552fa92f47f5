"""What every command module shares: options, formats, the exit-code text, and ``guard`` —
the one place library errors become a one-line message and an exit code."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console

from omnisync import console
from omnisync.errors import ExitCode, OmnisyncError

EXIT_CODES = """\
Exit codes: 0 ok · 1 data problems (validation errors, publish gate) · 2 usage or configuration
error · 3 channel failure or partial push · 4 another run holds the lock."""


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


def callback(tick: Any) -> Callable[[int], None] | None:
    return tick if callable(tick) else None


def stdout() -> Console:
    # Off a terminal (CI logs, cron mail) rich would assume 80 columns and clip the table.
    return Console() if sys.stdout.isatty() else Console(width=120)


@contextmanager
def guard(debug: bool) -> Iterator[None]:
    """The one place library errors become a message and an exit code."""
    try:
        yield
    except (typer.Exit, typer.Abort):
        raise
    except OmnisyncError as exc:
        fail(debug, str(exc), exc.exit_code)
    except OSError as exc:  # a path we were told to use: missing folder, permissions, a folder
        where = f"{exc.filename}: " if exc.filename else ""
        fail(
            debug,
            f"{where}{exc.strerror or exc}; check the path and its permissions",
            ExitCode.USAGE,
        )
    except KeyboardInterrupt:
        fail(debug, "interrupted", 130)
    except Exception as exc:
        fail(
            debug,
            f"unexpected {type(exc).__name__}: {exc} (a bug in omnisync; re-run with "
            "--debug and report the traceback)",
            ExitCode.DATA,
        )


def fail(debug: bool, message: str, code: int) -> NoReturn:
    if debug:
        raise
    console.error_line(message.splitlines()[0] if message else "error")
    raise typer.Exit(code) from None
