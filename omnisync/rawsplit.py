"""The raw scan on both cores: a forked worker scans the products file's second half while this
process scans the first, and the halves are joined only when the worker started where this
process stopped — otherwise this process scans on alone, as if there were no worker (so does a
worker that fails or cannot be forked).

The worker cannot know the state a scan reaches at the split, so it guesses, and the guesses
are checked against the state this process reaches:

* the products file splits at a line start; a quoted field open across it (this process holds
  a pending record) voids the split;
* each side file: the worker starts at the first run of its first SKUs (``SideRuns.move_to``);
  this process's next run there must start at exactly that offset;
* each account's memory: the worker starts at the entry of its first remembered SKU (looked
  for around where the split falls, else the end). This process must stand at that entry or
  less than a look-ahead before it (a changed or removed SKU just before the split): the
  entries between are then "not carried over", as one scan finds them when it matches the
  next print.

Joined, the result is a valid scan — every skipped SKU matched a settled memory entry byte for
byte, every remembered entry is carried over once or left, line numbers are shifted by the
first half's count — but not always the very one a single scan makes: a SKU moved to just past
the split may be read where one scan skips it, or the other way round. Both plan the same
pushes. Docs: docs/architecture.md, "Incremental planning".
"""

from __future__ import annotations

import gc
import itertools
import logging
import multiprocessing
import os
import sys
from array import array
from collections.abc import Container, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from omnisync import parallel, stopping
from omnisync.fingerprint import sku_fp
from omnisync.rawfiles import Files, Unfit, Until, worth
from omnisync.rawscan import LOOKAHEAD, Follow, Memory, Scan, Scanned, concluded, opened

SPLIT_MIN = 16 << 20  # a smaller products file is scanned in one process (a fork costs ~20 ms)
FIRSTS = 64  # SKUs of the second half the worker looks for in the memories
AHEAD = 20_000  # and in the side files
WINDOW = 0.1  # of the memory, each side of where the split falls, where the worker looks
HALF = "half"  # the worker's subset, under the run's copy
ARRAYS = "arrays"  # in it: the worker's arrays, one after the other
log = logging.getLogger("omnisync")


def scan(
    files: Files, memories: list[Memory | None], reserved: Container[bytes], workdir: Path,
    halves: bool = False,
) -> Scanned:  # fmt: skip
    """Print every SKU; copy the ones to read into ``workdir``. Raises :class:`Unfit`.
    ``halves``: split the work with a forked worker when the file is large enough."""
    with ExitStack() as stack:
        products, mine = opened(files, memories, reserved, workdir, stack)
        split = _split_point(products) if halves else None
        joined = False
        if split is not None:
            with _worker(files, split, memories, reserved, workdir) as theirs:
                mine.rows(Until(products.fileno(), products.tell(), split).lines())
                joined = _join(mine, theirs(), workdir / HALF)
        if not joined:
            products.seek(split or products.tell())  # on from the split: the first half is read
            mine.rows(products)
            mine.finish()
        return concluded(mine, workdir)


@dataclass
class Half:
    """What the worker sends back: where it started in each side file and memory, how far it
    got, and whether it reached the end cleanly. Its arrays (positions counted from its first
    row) go through a file, read straight into this process's (``_arrays`` gives the order)."""

    line: int  # lines it read, counted as the reader counts them
    sides: dict[str, int]  # role → the offset it started at
    starts: list[int]  # per account: the memory entry it started at
    ats: list[int] = field(default_factory=list)  # per account: the entry it stopped at
    sizes: list[int] = field(default_factory=list)  # of its arrays
    lines: dict[str, array[int]] = field(default_factory=dict)  # its subset's, when kept
    unfit: str = ""
    peak_mb: float = 0.0  # the worker's peak resident memory, pages shared with this one too
    own_mb: float = 0.0  # its own pages at the end (what it adds to the machine's use)


def _arrays(out: Scanned) -> list[array[int]]:
    assert isinstance(out.parsed, array)
    found = [out.skus, out.prints, out.skipped, out.parsed]
    for follow in out.follows:
        found += [follow.counts, follow.ids, follow.skipped_ids, follow.left]
    return found


def _split_point(products: IO[bytes]) -> int | None:
    """The start of the first line past the middle of the products file; None when the file is
    too small to pay for a worker, or this machine gives the run a single core."""
    fd, start = products.fileno(), products.tell()
    size = os.fstat(fd).st_size
    if size < SPLIT_MIN or parallel.cores() < 2 or not sys.platform.startswith("linux"):
        return None
    middle = max(size // 2, start)
    while middle < size:  # read by position: the products file's own offset stays put
        chunk = os.pread(fd, 1 << 16, middle)
        end = chunk.find(b"\n")
        if end >= 0:
            return middle + end + 1 if middle + end + 1 < size else None
        middle += len(chunk)
    return None


@contextmanager
def _worker(
    files: Files, split: int, memories: list[Memory | None], reserved: Container[bytes],
    workdir: Path,
) -> Iterator[Any]:  # fmt: skip
    """Fork the worker; yields a call that returns its :class:`Half`, or None when it failed
    (this process then scans alone). The worker is stopped on the way out."""
    context = multiprocessing.get_context("fork")
    line, theirs = context.Pipe(duplex=False)
    args = (theirs, files, split, memories, reserved, workdir / HALF, os.getpid())
    process = context.Process(target=_child, args=args, daemon=True)
    gc.freeze()  # while both live, collections skip (so never copy) the pages they share
    try:
        process.start()
    except OSError as exc:  # no fork (EAGAIN: a process limit; ENOMEM): scan alone
        log.warning("could not start the scan's worker (%s); scanning in one process", exc)
        gc.unfreeze()
        line.close()
        theirs.close()
        yield lambda: None
        return
    except BaseException:
        gc.unfreeze()
        raise
    theirs.close()

    def result() -> Half | None:
        try:
            half: Half = line.recv()
        except (EOFError, OSError):
            return None
        return half

    try:
        yield result
    finally:
        line.close()
        if process.is_alive():
            process.kill()
        process.join()
        gc.unfreeze()


def _child(
    line: Any, files: Files, split: int, memories: list[Memory | None],
    reserved: Container[bytes], workdir: Path, parent: int,
) -> None:  # fmt: skip
    """The worker's whole life; it leaves with ``os._exit`` (nothing inherited runs twice —
    the run's temporary folder, the state's connection)."""
    parallel.die_with(parent)
    stopping.as_worker()  # Ctrl-C and the run's stop are the run's process's to handle
    try:
        line.send(_second_half(files, split, memories, reserved, workdir))
    finally:
        os._exit(0)


def _second_half(
    files: Files, split: int, memories: list[Memory | None], reserved: Container[bytes],
    workdir: Path,
) -> Half:  # fmt: skip
    workdir.mkdir()
    with ExitStack() as stack:
        products, scan = opened(files, memories, reserved, workdir, stack)
        products.seek(split)
        firsts = _first_skus(products, scan.column, scan.delimiter)
        products.seek(split)
        fraction = split / os.fstat(products.fileno()).st_size
        half = Half(0, {}, [])
        try:
            half.sides = {role: side.move_to(firsts) for role, side in scan.sides.items()}
            half.starts = [_start(follow, firsts[:FIRSTS], fraction)
                           for follow in scan.out.follows]  # fmt: skip
            scan.subset.before = max(half.starts, default=0)  # about the rows before the split
            scan.cursor.line = 0
            scan.rows(products)
            half.line = scan.cursor.line
            scan.finish()
        except Unfit as exc:
            half.unfit = str(exc) or "unfit"
        half.lines = scan.subset.lines if scan.subset.open else {}
        half.ats = [follow.at for follow in scan.out.follows]
        with (workdir / ARRAYS).open("wb") as f:
            for found in _arrays(scan.out):
                found.tofile(f)
                half.sizes.append(len(found))
        import resource  # Unix only, as splitting is

        half.peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB (Linux)
        half.own_mb = parallel.own_mb()
        return half


def _first_skus(products: IO[bytes], column: int, delimiter: bytes) -> list[bytes]:
    found = []
    for record in itertools.islice(products, AHEAD):
        cells = record.rstrip(b"\r\n").split(delimiter)
        if len(cells) > column and b'"' not in cells[column]:
            found.append(cells[column].strip())
    return found


def _start(follow: Follow, firsts: list[bytes], fraction: float) -> int:
    """The memory entry of the first remembered SKU among ``firsts``, looked for around where
    the split falls (``fraction`` of the file: rows differ in length, not by that much); the
    end if none is there."""
    memory = follow.memory
    if memory is None:
        return 0
    size = len(memory.skus)
    around, reach = int(size * fraction), max(int(size * WINDOW), LOOKAHEAD)
    low, high = max(around - reach, 0), min(around + reach, size)
    for raw in firsts:
        try:
            at = memory.skus.index(sku_fp(raw.decode("utf-8", "surrogateescape")), low, high)
        except ValueError:
            continue
        follow.at = at
        return at
    follow.at = size
    return size


def _join(mine: Scan, half: Half | None, workdir: Path) -> bool:
    """Append the worker's half when it started where this scan stopped (see the module
    docstring); False: this process scans on alone. Raises the worker's :class:`Unfit`."""
    if half is None:
        log.warning("the scan's worker failed; this process scans the rest alone")
        return False
    joined = _lines_up(mine, half)
    log.debug("the scan's second half: %d rows, peak RSS %.0f MB (%.0f MB its own), %s",
              half.sizes[0] if half.sizes else 0, half.peak_mb, half.own_mb,
              "joined" if joined else "dropped: this process scans the rest alone",
              extra={"event": "scan_worker", "joined": joined, "peak_rss_mb": half.peak_mb,
                     "own_mb": half.own_mb})  # fmt: skip
    if not joined:
        return False
    if half.unfit:
        raise Unfit(half.unfit)
    out = mine.out
    for follow, start in zip(out.follows, half.starts, strict=True):
        if follow.memory is not None:
            follow.left.extend(follow.memory.skus[follow.at : start])  # not carried over
    _append(mine, half, workdir)
    for follow, at in zip(out.follows, half.ats, strict=True):
        follow.at = at
    return True


def _lines_up(mine: Scan, half: Half) -> bool:
    """Whether the worker started where this scan stands: no record open across the split,
    each side file at the same offset, each memory at the same entry or a little ahead (the
    entries between are then not carried over, as one scan finds them when it matches the
    next print within its look-ahead)."""
    if mine.cursor.pending or len(half.starts) != len(mine.out.follows):
        return False
    if any(side.position != half.sides.get(role) for role, side in mine.sides.items()):
        return False
    return all(
        start == f.at or f.at < start < min(f.at + LOOKAHEAD, f.size)
        for f, start in zip(mine.out.follows, half.starts, strict=True)
    )


def _append(mine: Scan, half: Half, workdir: Path) -> None:
    out, subset = mine.out, mine.subset
    first = len(out.skus)
    assert isinstance(out.parsed, array)
    parsed, out.parsed = out.parsed, array("L")  # theirs first, to be shifted
    with (workdir / ARRAYS).open("rb") as f:
        for target, size in zip(_arrays(out), half.sizes, strict=True):
            target.fromfile(f, size)
    parsed.extend(position + first for position in out.parsed)
    out.parsed = parsed
    if subset.open and half.lines and worth(len(out.parsed), len(out.skus)):
        subset.extend(workdir, half.lines, mine.cursor.line)
    else:
        subset.close()
    mine.cursor.line += half.line
    for side in mine.sides.values():
        side.done = True  # the worker reached every side file's end
