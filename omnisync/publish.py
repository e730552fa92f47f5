"""Atomic feed publication and the publish gate (design.md → Delivery semantics).

A feed is written to a temp file in the target's folder, flushed, fsynced and renamed over the
old one, then the folder is fsynced: a reader (or a crash) sees the old complete file or the new
complete file, never half of one.
"""

from __future__ import annotations

import contextlib
import glob
import os
import tempfile
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from omnisync import faults

BUFFER = 1 << 20


class AtomicFile:
    """``with AtomicFile(path) as f: …; f.commit()`` — without commit() the old file stays."""

    def __init__(self, target: Path) -> None:
        self.target = target
        self.committed = False
        self.temp = target  # replaced by the temp file's path on enter
        self.stream: BinaryIO

    def __enter__(self) -> AtomicFile:
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self._sweep()
        fd, name = tempfile.mkstemp(
            prefix=f".{self.target.name}.", suffix=".tmp", dir=self.target.parent
        )
        self.temp = Path(name)
        self.stream = os.fdopen(fd, "wb", buffering=BUFFER)
        return self

    def _sweep(self) -> None:
        """Temp files a killed run left behind (kill -9 runs no cleanup). Safe: the state's run
        lock means no other omnisync writes this target now."""
        for stale in self.target.parent.glob(f".{glob.escape(self.target.name)}.*.tmp"):
            with contextlib.suppress(FileNotFoundError):
                stale.unlink()

    def commit(self, items: int | None = None) -> None:
        """Publish; ``items``: how many the file holds, remembered with it (``items_in``)."""
        faults.point("publish.mid_write")
        self.stream.flush()
        os.fsync(self.stream.fileno())
        self.stream.close()
        os.chmod(self.temp, 0o644)  # mkstemp makes 0600; feeds are meant to be served
        if items is not None:
            _remember(self.temp, items)
        faults.point("publish.before_rename")
        os.replace(self.temp, self.target)
        _fsync_dir(self.target.parent)
        self.committed = True

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self.committed and self.temp != self.target:
            self.stream.close()
            with contextlib.suppress(FileNotFoundError):
                self.temp.unlink()


# The item count travels with the file as an extended attribute, with the size and mtime it
# was written at: the next run's publish gate reads it instead of parsing the old feed (18 s
# for a million-item Google feed). A file someone else wrote or changed has no such attribute,
# or a size and mtime that no longer match, and is parsed as before; so is every file where
# the filesystem keeps no user attributes (the counting then costs what it did).
_ITEMS = "user.omnisync.items"


def _remember(path: Path, items: int) -> None:
    stat = path.stat()
    with contextlib.suppress(OSError, AttributeError):  # no xattrs here: parse next time
        os.setxattr(path, _ITEMS, f"{items} {stat.st_size} {stat.st_mtime_ns}".encode())


def items_in(path: Path) -> int | None:
    """The item count remembered with a feed omnisync published, if it still holds."""
    try:
        items, size, mtime = os.getxattr(path, _ITEMS).decode().split()
        stat = path.stat()
    except (OSError, AttributeError, ValueError, UnicodeError):
        return None
    return int(items) if (int(size), int(mtime)) == (stat.st_size, stat.st_mtime_ns) else None


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def gate_refusal(previous: int, new: int, max_drop: float, empty: str | None) -> str | None:
    """Why a feed that goes from ``previous`` to ``new`` items must not replace the old one.

    ``empty`` is the reason to give for a feed with no items, or None when an empty feed is
    allowed. An empty feed is refused by default even when there is no old one: a run where
    every item was rejected must not look like a success.
    """
    if new == 0 and empty is not None:
        kept = "the old file is kept" if previous else "nothing was published"
        return (
            f"{empty}, so {kept} — check the report, set allow_empty: true on the channel, "
            "or re-run with --force"
        )
    if previous == 0 or new >= previous * (1 - max_drop):
        return None
    lost = (previous - new) / previous
    return (
        f"the feed would shrink from {previous} to {new} items ({lost:.0%} fewer; the gate "
        f"allows {max_drop:.0%}); the old file is kept — check the catalogue, or re-run with "
        "--force if the drop is intended"
    )
