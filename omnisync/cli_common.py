"""What every command module shares: options, formats, the exit-code text, and ``guard`` —
the one place library errors become a one-line message and an exit code."""

from __future__ import annotations

import sqlite3
import sys
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console

from omnisync import console, logs, stopping
from omnisync import metrics as omnisync_metrics
from omnisync.errors import ExitCode, OmnisyncError
from omnisync.models import Problem, Severity
from omnisync.secrets import redact

EXIT_CODES = """\
Exit codes: 0 ok · 1 data problems (validation errors, publish gate) · 2 usage or configuration
error · 3 channel failure or partial push · 4 another run holds the lock · 130 aborted by a
second signal."""


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


class LogFormat(StrEnum):
    text = "text"
    json = "json"


LogFormatOpt = Annotated[
    LogFormat | None,
    typer.Option(
        "--log-format",
        envvar="OMNISYNC_LOG_FORMAT",
        help="Logs on stderr: text, or JSON lines (default: text on a terminal, json otherwise).",
    ),
]
QuietOpt = Annotated[
    bool, typer.Option("--quiet", "-q", help="Only errors: no summary, no progress, no info logs.")
]
MetricsOpt = Annotated[
    Path | None,
    typer.Option(
        "--metrics-file",
        help="Write Prometheus textfile-collector metrics here after the run.",
        dir_okay=False,
        metavar="PATH",
    ),
]
SinceOpt = Annotated[
    datetime | None,
    typer.Option(
        "--since",
        help="Read orders from this date (default: the stored cursor, or 30 days).",
        formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"],
    ),
]
_quiet: list[bool] = [False]
_metrics: list[tuple[Path, Path]] = []


def utc(moment: datetime | None) -> datetime | None:
    """A naive --since is UTC."""
    return moment.replace(tzinfo=UTC) if moment and moment.tzinfo is None else moment


def callback(tick: Any) -> Callable[[int], None] | None:
    return tick if callable(tick) else None


def stdout() -> Console:
    # Off a terminal (CI logs, cron mail) rich would assume 80 columns and clip the table.
    if sys.stdout.isatty():
        return console.Terminal(quiet=_quiet[0])
    return console.Terminal(width=120, quiet=_quiet[0])


@contextmanager
def guard(debug: bool, log_format: LogFormat | None = None, quiet: bool = False) -> Iterator[None]:
    """The one place library errors become a message and an exit code; sets up logging (and
    graceful SIGTERM/SIGINT handling) for the command."""
    logs.configure(log_format.value if log_format else None, quiet)
    _quiet[0] = quiet
    try:
        with stopping.graceful(), _metrics_at_the_end():
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
        fail(debug, "aborted by a second signal; what was recorded stands", ExitCode.ABORTED)
    except Exception as exc:
        fail(
            debug,
            f"unexpected {type(exc).__name__}: {exc} (a bug in omnisync; re-run with "
            "--debug and report the traceback)",
            ExitCode.DATA,
        )


def fail(debug: bool, message: str, code: int) -> NoReturn:
    """The one-line error and the exit code; ``--debug`` adds the traceback (redacted) and
    changes nothing else: scripts and cron see the same exit code either way."""
    line = message.splitlines()[0] if message else "error"
    trace = redact(traceback.format_exc()) if debug else None
    if logs.json_mode():
        extra = {"event": "error", "exit_code": int(code)}
        logs.log.error(line, extra=extra if trace is None else {**extra, "traceback": trace})
    else:
        if trace is not None:
            sys.stderr.write(logs.visible(trace))
        console.error_line(line)
    raise typer.Exit(code) from None


def finish(code: int, problems: list[Problem] | None = None) -> NoReturn:
    """End a job command: ``conclude``, then the exit code."""
    conclude(code, problems)
    raise typer.Exit(code)


def conclude(code: int, problems: list[Problem] | None = None) -> None:
    """A job command's last words: its problems summarised in the JSON log; with ``--quiet``,
    one line when the run did not end well (cron mails only then). Then stdout and stderr are
    flushed, so what follows may rely on the report being out: a report still in a buffer
    when the process dies, or that the flush fails to write, was never told."""
    if problems and logs.json_mode():
        logs.problems(problems)
    if code and _quiet[0]:
        codes = Counter(p.code for p in problems or [] if p.severity is Severity.ERROR)
        worst = ", ".join(f"{c} {n}" for c, n in codes.most_common(5)) or "see omnisync status"
        logs.log.error("exit %d: %s", code, worst, extra={"event": "outcome", "exit_code": code})
    sys.stdout.flush()
    sys.stderr.flush()


def metrics_after(path: Path | None, state: Path) -> None:
    """Write ``--metrics-file`` when the command ends, however it ends (exit 3, 4, a crash of
    the run): from the run history, so the file stays true and fresh."""
    if path is not None:
        _metrics.append((path, state))


@contextmanager
def _metrics_at_the_end() -> Iterator[None]:
    try:
        yield
    finally:
        while _metrics:
            path, state = _metrics.pop()
            try:
                omnisync_metrics.write(path, state)
            except (OSError, OmnisyncError, sqlite3.Error) as exc:
                logs.log.warning("metrics not written to %s: %s", path, exc)
