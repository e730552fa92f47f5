"""The one error tree of omnisync.

::

    OmnisyncError              exit code carried by the class
    ├── ConfigError (2)        bad YAML, unknown keys, wrong values, missing files (all key paths)
    ├── UsageError (2)         a command-line choice that cannot work (unknown --channel, …)
    ├── SecretUnset (2)        a command needs an env: secret that the environment lacks
    ├── StateUnusable (2)      the state file is not a database, is damaged or cannot be opened
    ├── SourceError (1)        a catalogue file that cannot be read at all (no header, …)
    │   └── SourceUnavailable (3)  the central system (database, API) is down or broke off
    └── ChannelError (3)       a marketplace API call failed
        ├── ChannelRejected    a 4xx answer that retrying cannot fix (with the channel's body)
        ├── ChannelUnavailable still failing after the retry policy (5xx, timeouts, 429s)
        └── Deferred           the run's time budget would be exceeded: try next run

Per-row and per-item problems are *not* exceptions: they are :class:`omnisync.models.Problem`
values collected in the run report, so one bad row never stops the run. Exceptions are for the
cases where nothing sensible can be produced. The CLI translates them once, at its edge, into a
one-line message (see ``omnisync.console``). A later issue adds ``LockHeld`` (4).
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from omnisync.secrets import redact


class ExitCode(IntEnum):
    """The exit-code contract documented in the README and in ``--help``."""

    OK = 0
    DATA = 1  # validation errors, rejected rows, publish gate refused a feed
    USAGE = 2  # command line or configuration
    CHANNEL = 3  # a channel failed or a push was partial
    LOCKED = 4  # another run holds the lock
    ABORTED = 130  # a second SIGTERM/SIGINT: stopped where it was (what was recorded stands)


class OmnisyncError(Exception):
    """Root of every error omnisync raises on purpose."""

    exit_code = ExitCode.DATA
    hint = ""

    def __str__(self) -> str:
        # Messages may quote a marketplace's answer, which may echo a token: never show one,
        # not even in a --debug traceback (which prints str(exc)).
        message = redact(super().__str__())
        return f"{message}; {self.hint}" if self.hint else message


class ConfigError(OmnisyncError):
    """The configuration is invalid. ``issues`` holds every ``(key path, message)`` found."""

    exit_code = ExitCode.USAGE
    hint = "fix the configuration and run again"

    def __init__(self, source: str, issues: list[tuple[str, str]]) -> None:
        self.source = source
        self.issues = issues
        lines = "; ".join(f"{path}: {msg}" if path else msg for path, msg in issues)
        super().__init__(f"{source}: {lines}")


class UsageError(OmnisyncError):
    exit_code = ExitCode.USAGE
    hint = "see --help"


class SecretUnset(OmnisyncError):
    """A secret the command needs (``env:NAME`` in the config) is not in the environment, or
    cannot be a token. Only a command that connects reads it: the config itself is fine."""

    exit_code = ExitCode.USAGE
    hint = "set it in the environment and run again"

    def __init__(self, variable: str, key: str, problem: str) -> None:
        self.variable, self.key = variable, key
        where = f"{key}: " if key else ""
        super().__init__(f"{where}environment variable {variable} {problem}")


class StateUnusable(OmnisyncError):
    """The state file (the config's ``state:``) cannot be used: not an SQLite database, damaged,
    a directory, or not readable and writable. The message says what to do about it."""

    exit_code = ExitCode.USAGE

    def __init__(self, path: str, problem: str, remedy: str) -> None:
        self.path = path
        super().__init__(f"{path}: {problem}; {remedy}")


class SourceError(OmnisyncError):
    """A catalogue file cannot be read at all (per-row trouble is a Problem, not this)."""

    hint = "fix the file and run again"

    def __init__(self, file: str, line: int | None, message: str) -> None:
        self.file, self.line = file, line
        where = f"{file}:{line}" if line else file
        super().__init__(f"{where}: {message}")


class SourceUnavailable(SourceError):
    """The central system (a database, an API) cannot be reached or broke off mid-read: nothing
    is wrong with the data, and the next run tries again."""

    exit_code = ExitCode.CHANNEL
    hint = "check that it is up and reachable; the next run reads it again"


class ChannelError(OmnisyncError):
    """A channel's API could not do what was asked. ``channel`` names it."""

    exit_code = ExitCode.CHANNEL
    hint = "the items stay pending and are retried on the next run"

    def __init__(self, channel: str, message: str, status: int | None = None) -> None:
        self.channel, self.status = channel, status
        super().__init__(f"{channel}: {message}")


class ChannelRejected(ChannelError):
    """4xx: the request itself is wrong (auth, payload); retrying the same will not help."""


class ChannelUnavailable(ChannelError):
    """Still failing after every retry the policy allows."""


class Deferred(ChannelError):
    """Waiting (Retry-After, rate limit) would pass the run's time budget."""


class LockHeld(OmnisyncError):
    """Another run holds the state's lock (exit 4)."""

    exit_code = ExitCode.LOCKED
    hint = "wait for it to finish, or check that process"


class Stopped(OmnisyncError):
    """A stop signal arrived; the work done so far is recorded, the rest is the next run's."""

    exit_code = ExitCode.CHANNEL
    hint = "nothing to undo"


class Redo(Exception):
    """Internal, never shown: this attempt at a run cannot finish as planned, and nothing of it
    is kept; ``pipeline.retried`` redoes the run after ``adjust(run)`` (an Exception, not an
    OmnisyncError, so the CLI edge never mistakes it for a user-facing error)."""

    def adjust(self, run: Any) -> None:
        raise NotImplementedError
