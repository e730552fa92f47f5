"""Pass one of an incremental push: the CSV catalogue's raw bytes, one print per SKU.

A product's inputs are its row in the products file and its run of rows in each side file
(stock, city prices, reviews), byte for byte. Their print (:mod:`omnisync.fingerprint`) is
compared with the one each channel account remembers from the run that last settled that SKU
(``store/inputs.py``): a byte-identical SKU is counted, never parsed, mapped or looked up. The
rest is copied, side rows and all, into a small CSV set that the ordinary source then reads
(``incremental.py`` maps its line numbers back), so there is one parsing path, not two.

The scan needs the side files in the products' order (as merging them does,
``sources/sidefiles.py``) with ``sku`` as their first column; anything else — a row of an unknown
SKU, a quoted or blank line in a side file — makes the catalogue unfit and the run reads it whole.
Docs: docs/architecture.md, "Incremental planning".
"""

from __future__ import annotations

import shutil
import zlib
from array import array
from collections.abc import Container, Iterable
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import IO

from omnisync.fingerprint import sku_fp
from omnisync.rawfiles import Files, SideRuns, Subset, Unfit, sku_column

PENDING, FILTERED = 254, 255  # a remembered count: items the SKU gave (0–253), or these
LOOKAHEAD = 64  # remembered SKUs a row may be ahead of (rows removed from the file)


@dataclass
class Memory:
    """One channel account's memory of the last settled run, per SKU in file order."""

    skus: array[int]  # SKU fingerprints
    prints: array[int]  # input prints; 0: read the SKU next run
    counts: array[int]  # items the SKU gave, or FILTERED
    ids: array[int]  # its item id's fingerprint, as the channel compares ids
    must: Container[int]  # SKU fingerprints to read whatever their print (unsettled, due)


class Follow:
    """Where one account's memory stands while the products file is scanned."""

    def __init__(self, memory: Memory | None) -> None:
        self.memory = memory
        self.at, self.size = 0, len(memory.prints) if memory else 0
        self.counts = array("B")  # per scanned SKU: carried over, or PENDING when read
        self.ids = array("q")  # per scanned SKU: its id's fingerprint, carried over or 0
        self.skipped_ids = array("q")  # the ids of the skipped SKUs (a read one must not meet)
        self.left = array("q")  # remembered SKUs not carried over (changed, moved or gone)

    def match(self, print_: int) -> int:
        """The remembered entry with this print, at or a little ahead of the last; -1."""
        memory, at = self.memory, self.at
        if memory is None or not print_:
            return -1
        if at < self.size and memory.prints[at] == print_:
            self.at = at + 1
            return at
        try:
            found = memory.prints.index(print_, at, at + LOOKAHEAD)
        except ValueError:
            return -1
        self.left.extend(memory.skus[at:found])
        self.at = found + 1
        return found

    def settled(self, k: int) -> bool:
        memory = self.memory
        assert memory is not None
        return memory.counts[k] != PENDING and memory.skus[k] not in memory.must

    def skip(self, print_: int) -> int | None:
        """The run's only account: the SKU's fingerprint when its row is skipped, else None."""
        k = self.match(print_)
        if k >= 0 and self.settled(k):
            memory = self.memory
            assert memory is not None
            self.counts.append(memory.counts[k])
            self.ids.append(memory.ids[k])
            self.skipped_ids.append(memory.ids[k])
            return int(memory.skus[k])
        self.read(k)
        return None

    def read(self, k: int) -> None:
        """The row is read: its remembered entry leaves (the reading decides what comes back)."""
        self.counts.append(PENDING)
        self.ids.append(0)
        if k >= 0:
            self.left.append(self.memory.skus[k])  # type: ignore[union-attr]

    def finish(self) -> None:
        if self.memory is not None:
            self.left.extend(self.memory.skus[self.at :])


def _skip_all(follows: list[Follow], print_: int) -> int | None:
    """Several accounts: skipped only when every one would skip it."""
    found = [follow.match(print_) for follow in follows]
    if all(k >= 0 and f.settled(k) for f, k in zip(follows, found, strict=True)):
        for follow, k in zip(follows, found, strict=True):
            memory = follow.memory
            assert memory is not None
            follow.counts.append(memory.counts[k])
            follow.ids.append(memory.ids[k])
            follow.skipped_ids.append(memory.ids[k])
        return int(follows[0].memory.skus[found[0]])  # type: ignore[union-attr]
    for follow, k in zip(follows, found, strict=True):
        follow.read(k)
    return None


@dataclass
class Scanned:
    follows: list[Follow]
    skus: array[int] = field(default_factory=lambda: array("q"))
    prints: array[int] = field(default_factory=lambda: array("Q"))
    parsed: array[int] | range = field(default_factory=lambda: array("L"))  # positions read
    skipped: array[int] = field(default_factory=lambda: array("q"))  # their SKU fingerprints
    subset: Path | None = None  # the rows to read, as CSV files; None: read the catalogue
    lines: dict[str, array[int]] = field(default_factory=dict)  # file → real line per line

    def read_everything(self) -> None:
        """Nothing is skipped: every SKU is read from the catalogue itself."""
        n = len(self.skus)
        for follow in self.follows:
            follow.counts = array("B", bytes([PENDING])) * n
            follow.ids, follow.skipped_ids = array("q", bytes(8 * n)), array("q")
            follow.left = array("q", follow.memory.skus) if follow.memory else array("q")
        self.parsed, self.skipped = range(n), array("q")
        if self.subset is not None:
            shutil.rmtree(self.subset, ignore_errors=True)
        self.subset, self.lines = None, {}


@dataclass
class Cursor:
    """Where the scan of the products file stands: the number of the last line read (as the
    CSV reader counts lines) and a record still open across lines (a quoted field) from line
    ``first``."""

    line: int = 1
    pending: bytes = b""
    first: int = 0


@dataclass
class Scan:
    """One process's scan: its files, what it found so far, where it stands."""

    column: int
    delimiter: bytes
    sides: dict[str, SideRuns]
    reserved: Container[bytes]
    out: Scanned
    subset: Subset
    cursor: Cursor = field(default_factory=Cursor)

    def rows(self, records: Iterable[bytes]) -> None:
        _scan(records, self)

    def finish(self) -> None:
        """At the end of the products file: an unclosed quote, side rows left over."""
        cursor, out = self.cursor, self.out
        if cursor.pending:  # an unclosed quote: the reader reports it
            out.parsed.append(len(out.skus))  # type: ignore[union-attr]
            self.subset.add(cursor.first, cursor.pending, [], len(out.parsed), len(out.skus) + 1)
            for follow in out.follows:
                follow.read(-1)
            out.skus.append(0)
            out.prints.append(0)
            cursor.pending = b""
        if any(not side.done for side in self.sides.values()):
            raise Unfit("a side file has rows that do not follow the products' order")
        for follow in out.follows:
            follow.finish()


def opened(
    files: Files, memories: list[Memory | None], reserved: Container[bytes], workdir: Path,
    stack: ExitStack,
) -> tuple[IO[bytes], Scan]:  # fmt: skip
    """The products file (past its header) and a scan from its start."""
    sides = {role: stack.enter_context(SideRuns(role, path, files.delimiter))
             for role, path in files.sides.items()}  # fmt: skip
    products = stack.enter_context(files.products.open("rb"))
    header = products.readline()
    column = sku_column(header, files.delimiter)
    out = Scanned([Follow(m) for m in memories])
    subset = stack.enter_context(Subset(workdir, files, header, sides))
    if not any(memories):
        subset.close()
    return products, Scan(column, files.delimiter.encode(), sides, reserved, out, subset)


def concluded(scan: Scan, workdir: Path) -> Scanned:
    """The scan's result, once every row is scanned: read everything when the subset was
    given up or a SKU repeats — both read and skipped, or read twice: the subset copies each
    row's side rows after it, so the reader would not see a repeat's side rows out of the
    products' order (``side_file_order``) as it sees them in the catalogue."""
    out, subset = scan.out, scan.subset
    out.subset, out.lines = (workdir, subset.lines) if subset.open else (None, {})
    if out.subset is not None:
        read = [out.skus[i] for i in out.parsed]
        known = set(read)
        known.discard(0)  # rows whose SKU the scan could not be sure of: no repeat
        if not known.isdisjoint(out.skipped) or len(known) < len(read) - read.count(0):
            out.subset = None
    if out.subset is None:
        out.read_everything()
    return out


def _scan(records: Iterable[bytes], scan: Scan) -> None:  # noqa: C901 (flat on purpose)
    """The hot loop: a million rows, so one flat loop over locals — a Python call a row costs
    a tenth of the scan (measured). With one account, a skipped row only extends a run of
    remembered entries, copied over in one slice when the run breaks (``_carry``)."""
    out, subset, reserved, delimiter, column = (
        scan.out, scan.subset, scan.reserved, scan.delimiter, scan.column)  # fmt: skip
    follows, skus, prints, skipped, parsed = (
        out.follows, out.skus, out.prints, out.skipped, out.parsed)  # fmt: skip
    assert isinstance(parsed, array)
    skip = follows[0].skip if len(follows) == 1 else partial(_skip_all, follows)
    one = follows[0].memory if len(follows) == 1 else None
    remembered, counts, fps, must = (one.prints, one.counts, one.skus, one.must) if one else (
        array("Q"), array("B"), array("q"), frozenset())  # fmt: skip
    size, at, carried = len(remembered), follows[0].at if one else 0, 0  # carried: not copied yet
    runs, crc32, cursor = list(scan.sides.values()), zlib.crc32, scan.cursor
    line, pending, first = cursor.line, cursor.pending, cursor.first
    for record in records:
        line += 1
        start, sure = line, True
        if pending or record.count(b'"') & 1:  # a quoted field spans lines: join them
            pending, first = pending + record, first or line
            if pending.count(b'"') & 1:
                continue
            # The reader may split it otherwise (a quote inside an unquoted cell is a plain
            # character to it), so rows hidden in it must never be skipped: read it always.
            record, pending, start, first, sure = pending, b"", first, 0, False
        cr = record.find(b"\r")  # -1, or the CRLF ending the line: no lone CR (the cheap test)
        if cr >= 0 and cr != len(record) - 2 and record.count(b"\r") != record.count(b"\r\n"):
            line += record.count(b"\r") - record.count(b"\r\n")  # the reader's line count
            sure = False  # and a lone CR may end a row for it: read it always
        if record.isspace():
            continue  # a blank line is no row
        end = record.find(delimiter) if column == 0 else -1
        raw = record[:end].strip() if end > 0 else _sku(record, column, delimiter)
        crc, length, taken = crc32(record), len(record), []
        for side in runs:
            if raw and side.sku == raw:
                rows = side.take()
                crc, length = crc32(rows, crc), length + len(rows)
                taken.append(side)
        known = raw is not None and raw != b"" and 34 not in raw  # 34: a quote, the SKU unsure
        sure = sure and known and raw not in reserved
        print_ = (crc << 32 | length & 0xFFFFFFFF or 1) if sure else 0
        if (
            print_
            and at < size
            and remembered[at] == print_
            and counts[at] < PENDING
            and (fps[at] not in must)
        ):
            at, carried = at + 1, carried + 1  # as Follow.skip, for the common case
            continue
        if carried:
            _carry(out, follows[0], at - carried, carried)
            carried = 0
        follows[0].at = at if one else follows[0].at
        sku = skip(print_) if follows else None  # the print as fingerprint.packed makes it
        at = follows[0].at if one else 0
        if sku is None:
            sku = sku_fp(raw.decode("utf-8", "surrogateescape")) if known and raw else 0
            parsed.append(len(skus))
            subset.add(start, record, taken, len(parsed), len(skus) + 1)
        else:
            skipped.append(sku)
        skus.append(sku)
        prints.append(print_)
    if carried:
        _carry(out, follows[0], at - carried, carried)
    if one:
        follows[0].at = at
    cursor.line, cursor.pending, cursor.first = line, pending, first


def _carry(out: Scanned, follow: Follow, start: int, count: int) -> None:
    """Remembered entries ``start`` to ``start + count``, skipped: carried over as they are."""
    memory = follow.memory
    assert memory is not None
    end = start + count
    out.skus.extend(memory.skus[start:end])
    out.prints.extend(memory.prints[start:end])
    out.skipped.extend(memory.skus[start:end])
    follow.counts.extend(memory.counts[start:end])
    follow.ids.extend(memory.ids[start:end])
    follow.skipped_ids.extend(memory.ids[start:end])


def _sku(record: bytes, column: int, delimiter: bytes) -> bytes | None:
    """The SKU's raw bytes when no quote stands before or in it; else None (read the row)."""
    if column == 0:
        end = record.find(delimiter)
        raw = record[:end] if end > 0 else b""
    else:
        cells = record.split(delimiter, column + 1)
        if len(cells) <= column + 1 or any(b'"' in cell for cell in cells[:column]):
            return None
        raw = cells[column]
    return None if b'"' in raw else raw.strip() or None
