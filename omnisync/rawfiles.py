"""The CSV files as pass one of an incremental push sees them (``rawscan.py``): side files as
runs of rows per SKU, and the copy of the rows to read (the subset), each file with its header
and the real line of each of its lines."""

from __future__ import annotations

import io
import itertools
import mmap
import os
import re
import shutil
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

SUBSET_MIN = 10_000  # below this many rows to read, the subset is always worth it
FIND_FIRST = 64  # SKUs a split scan's worker looks for directly in each side file
WALK_AT_MOST = 200_000  # runs it walks through before it gives up (the split is then void)
RELEASE_EVERY = 8 << 20  # bytes of a side file read between releases of its mapped pages


class Unfit(Exception):
    """The catalogue's shape does not allow the scan (see the module docstring)."""


@dataclass
class Files:
    products: Path
    sides: dict[str, Path]  # role (stock, city_prices, reviews) → file
    delimiter: str


def headers(files: Files) -> bytes:
    """Every file's header line: a memory holds only for the same columns."""
    found = []
    for path in (files.products, *files.sides.values()):
        with path.open("rb") as f:
            found.append(f.readline())
    return b"".join(found)


def sku_column(header: bytes, delimiter: str) -> int:
    names = header.decode("utf-8-sig", "replace").strip().lower().split(delimiter)
    names = [name.strip() for name in names]
    if "sku" not in names:
        raise Unfit("the products file has no sku column")  # the reader reports it
    return names.index("sku")


class SideRuns:
    """A side file as runs of rows sharing a SKU (its first column), one regex match each:
    ``sku`` is the next run's SKU (None at the end), ``take()`` its rows."""

    def __init__(self, role: str, path: Path, delimiter: str) -> None:
        self.role, self.file = role, path.open("rb")
        try:
            self._open(path, delimiter)
        except BaseException:
            self.file.close()
            raise

    def _open(self, path: Path, delimiter: str) -> None:
        size = path.stat().st_size
        self.data: mmap.mmap | bytes = (
            mmap.mmap(self.file.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
        )
        self.start = self.data.find(b"\n") + 1 or len(self.data)
        self.header = bytes(self.data[: self.start])
        if sku_column(self.header, delimiter) != 0:
            raise Unfit(f"{path.name}: sku is not its first column")
        self.delimiter = delimiter.encode()
        d = re.escape(self.delimiter)
        row = rb'%s[^\r\n"]*(?:\r?\n|\Z)' % d  # a quote or lone CR ends a run: then Unfit
        self.pattern = re.compile(rb'([^\r\n"%s]*)%s(?:\1%s)*' % (d, row, row))
        self._match = self.pattern.match
        self.done, self.taken_at, self.rows = False, 0, b""
        self.sku: bytes | None = None
        self._counted = (self.start, 2)  # (offset, its line): lines are counted on demand
        self._found: re.Match[bytes] | None = None
        self._kept = 0  # mapped pages before this offset are released (page-aligned)
        self._next(self.start)

    def take(self) -> bytes:
        """The current SKU's rows (also ``rows``, and their offset ``taken_at``); moves on to the
        next SKU. Runs once per SKU in the scan's hot loop: kept to the bone."""
        found = self._found
        assert found is not None
        self.taken_at, at = found.span()
        rows = self.rows = found[0]
        following = self._found = self._match(self.data, at)
        if following is None:
            self._next(at)
        else:
            self.sku = following[1].strip()
        if at - self._kept > RELEASE_EVERY:
            self._release(at)
        return rows

    def _release(self, at: int) -> None:
        """Drop the mapped pages read so far from this process's memory (the kernel still
        caches them): else a 70 MB stock file counts 70 MB in the run's peak RSS."""
        end = at - at % mmap.PAGESIZE
        if isinstance(self.data, mmap.mmap) and hasattr(mmap, "MADV_DONTNEED"):
            self.data.madvise(mmap.MADV_DONTNEED, self._kept, end - self._kept)
        self._kept = end

    def _next(self, at: int) -> None:
        found = self._found = self.pattern.match(self.data, at)
        if found is not None:
            self.sku = found.group(1).strip()
        elif bytes(self.data[at:]).strip():
            raise Unfit("a side file has a blank or quoted line the scan cannot split")
        else:
            self.sku, self.done = None, True

    @property
    def position(self) -> int:
        """The offset of the next run (the file's size at the end)."""
        return self._found.start() if self._found is not None else len(self.data)

    def move_to(self, skus: list[bytes]) -> int:
        """Jump ahead to the first run of any of ``skus`` (the first SKUs of a split scan's
        second half, in order), else to the end; returns the offset. In the products' order,
        the first of them found is the first the file holds: the first few are looked for
        directly (a dense file, as stock is, has one of them), the rest run by run from the
        top (a sparse one, as reviews are, has few runs to walk)."""
        at, data = len(self.data), self.data
        for sku in skus[:FIND_FIRST]:
            found = data.find(b"\n" + sku + self.delimiter, self.start - 1)
            if found >= 0:
                at = found + 1
                break
        else:
            wanted = set(skus)
            for run in itertools.islice(self.pattern.finditer(data, self.start), WALK_AT_MOST):
                if run[1].strip() in wanted:
                    at = run.start()
                    break
        self._counted = (at, 2 + _lines(self.file.fileno(), self.start, at))
        self._kept = 0
        self._release(at)  # the pages the search went through
        self._next(at)
        return at

    def line_at(self, offset: int) -> int:
        """The line at ``offset`` (offsets asked for only grow)."""
        counted, line = self._counted
        line += self.data[counted:offset].count(b"\n")  # each byte is counted once
        self._counted = (offset, line)
        return line

    def __enter__(self) -> SideRuns:
        return self

    def __exit__(self, *exc: object) -> None:
        self._found = None  # a match holds the map
        if isinstance(self.data, mmap.mmap):
            self.data.close()
        self.file.close()


class Subset:
    """The rows to read, copied into CSV files (each with its header) under ``workdir``, and
    for each file the real line of each of its lines."""

    def __init__(self, workdir: Path, files: Files, header: bytes, sides: dict[str, SideRuns]):
        self.workdir, self.open = workdir, True
        self.before = 0  # rows before these (a split scan's worker: its guess)
        self.outs: dict[str, IO[bytes]] = {}
        self.lines: dict[str, array[int]] = {}
        for role, path, head in [("products", files.products, header)] + [
            (role, files.sides[role], side.header) for role, side in sides.items()
        ]:
            (workdir / role).mkdir(parents=True, exist_ok=True)
            self.outs[role] = (workdir / role / path.name).open("wb")
            self.outs[role].write(_ended(head))
            self.lines[role] = array("L", [0, 1])

    def add(self, line: int, record: bytes, taken: list[SideRuns],
            reads: int, rows: int) -> None:  # fmt: skip
        """Copy a row to read and its side rows; give up the subset once it is no saving."""
        if not self.open:
            return
        if not worth(reads, rows + self.before):
            self.close()
            return
        self._write("products", line, record)
        for side in taken:
            self._write(side.role, side.line_at(side.taken_at), side.rows)

    def _write(self, role: str, line: int, data: bytes) -> None:
        data = _ended(data)
        self.outs[role].write(data)
        lines = data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")  # as csv counts
        self.lines[role].extend(range(line, line + lines))

    def extend(self, workdir: Path, lines: dict[str, array[int]], offset: int) -> None:
        """Append another scan's subset, written under ``workdir`` (a split scan's second half:
        its product lines count from ``offset``)."""
        for role, out in self.outs.items():
            with (workdir / role / Path(out.name).name).open("rb") as theirs:
                theirs.readline()  # its header
                shutil.copyfileobj(theirs, out, 1 << 20)
            shift = offset if role == "products" else 0
            self.lines[role].extend(line + shift for line in lines[role][2:])

    def close(self) -> None:
        """No subset: the catalogue is read whole."""
        for out in self.outs.values():
            out.close()
        self.open = False

    def __enter__(self) -> Subset:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _lines(fd: int, start: int, end: int) -> int:
    """Line ends between two offsets, read by position (no mapped page stays resident)."""
    count = 0
    while start < end:
        chunk = os.pread(fd, min(1 << 20, end - start), start)
        if not chunk:
            break
        count += chunk.count(b"\n")
        start += len(chunk)
    return count


def worth(reads: int, rows: int) -> bool:
    """Whether copying ``reads`` rows of ``rows`` saves anything over reading them all."""
    return reads <= SUBSET_MIN or reads * 2 <= rows


def _ended(data: bytes) -> bytes:
    return data if data.endswith(b"\n") else data + b"\n"


class Until(io.RawIOBase):
    """A file's bytes from ``start`` to ``end`` (a split scan's first half), read by position:
    the file's own offset stays put."""

    def __init__(self, fd: int, start: int, end: int) -> None:
        self.fd, self.at, self.end = fd, start, end

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = os.pread(self.fd, min(len(buffer), self.end - self.at), self.at)
        buffer[: len(data)] = data
        self.at += len(data)
        return len(data)

    def lines(self) -> io.BufferedReader:
        return io.BufferedReader(self, 1 << 20)
