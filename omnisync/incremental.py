"""Incremental push planning: a SKU whose input rows did not change is counted, not read.

A cron push of a million SKUs with 1 % changed used to parse, map, hash and look up every one.
Pass one (``rawscan.py``) prints each SKU's raw rows and compares them with what each channel
account remembers (``store/inputs.py``). A SKU is skipped only when, for every account of the
run, all of this holds:

* its print equals the remembered one, in a memory written for the same settings, code and file
  headers, by a run that recorded every push it planned;
* it was clean then: read without any problem, valid, not reserved by an open order;
* none of its items is unacknowledged (failed, deferred, in flight) or due for reassertion, and
  it is not in the residue (a SKU whose items need a look: one that left under a refused gate).

Everything else is read from a small copy of its rows by the ordinary source and planned as in
a full run. Items can only have left among the remembered SKUs not carried over and the residue,
so the ledger looks for removals there alone. Memories are forgotten when a run starts planning
and written when it has recorded its pushes: a crash leaves none, and the next run reads all.
Docs: docs/architecture.md, "Incremental planning".
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import time
from array import array
from collections.abc import Callable, Container, Iterator
from contextlib import ExitStack
from functools import cache
from hashlib import blake2b
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from omnisync.config import Config
from omnisync.errors import ReadEverything
from omnisync.fingerprint import sku_fp
from omnisync.lanes import Lane
from omnisync.models import Location, Problem, Product
from omnisync.rawfiles import Files, Unfit, headers
from omnisync.rawscan import FILTERED, LOOKAHEAD, PENDING, Memory, Scanned, concluded, opened
from omnisync.sources.base import ProblemSink, Source
from omnisync.sources.csvfile import CsvSource
from omnisync.store import inputs
from omnisync.store.db import Store
from omnisync.store.ledger import Ledger
from omnisync.store.reservations import load_reserved

Pair = tuple[Lane, Ledger]


class Overlap(ReadEverything):
    """See ``_Tracker.overlap``."""


WORKDIR = ".omnisync-read-"  # the copy of the rows to read, beside the state file
PREVIEW = ".omnisync-preview-"  # a dry run's (it holds no lock: swept only when a day old)


def start(run: Any, store: Store, pairs: list[Pair], dry_run: bool, stack: ExitStack) -> Any:
    """Skip what did not change, when the run allows it; returns the :class:`Incremental` to
    call after streaming and after sending, or None (a full run). Memories are forgotten here
    either way: this run is about to change the ledger."""
    files = _files(run, pairs)
    digest = _digest(run.config, files) if files else ""
    remembered = [inputs.load(store, ledger.channel, ledger.account, digest) if files else None
                  for _, ledger in pairs]  # fmt: skip
    if not dry_run:
        _forget(store, pairs, run.config.state.parent)
    if files is None:
        return None
    memories = [_memory(r, ledger) for r, (_, ledger) in zip(remembered, pairs, strict=True)]
    reserved = load_reserved(run.config.state, run.source.snapshot_time())
    raw = {sku.encode("utf-8", "surrogateescape") for sku in reserved}
    prefix = PREVIEW if dry_run else WORKDIR
    workdir = Path(stack.enter_context(_workdir(run.config.state.parent, prefix)))
    try:
        scanned = _scan(files, memories, raw, workdir)
    except Unfit:
        return None
    return Incremental(run, pairs, scanned, digest, remembered)


class Incremental:
    def __init__(
        self, run: Any, pairs: list[Pair], scanned: Scanned, digest: str,
        remembered: list[inputs.Remembered | None],
    ) -> None:  # fmt: skip
        self.run, self.pairs, self.scanned, self.digest = run, pairs, scanned, digest
        if scanned.subset is not None:
            run.source = Subset(run.source, scanned)
        for (_, ledger), memory, follow in zip(pairs, remembered, scanned.follows, strict=True):
            if memory is not None and scanned.subset is not None:
                ledger.candidates = [*follow.left, *memory.residue]
                ledger.skipped, ledger.guard = scanned.skipped, bool(scanned.skipped)
        self.skipped = [_skipped(follow.counts) for follow in scanned.follows]  # before reading
        self.tracker = _Tracker(run, pairs, scanned)

    def account(self) -> None:
        """After streaming (nothing is published or sent yet): the skipped SKUs count as read,
        valid and unchanged — unless one meets a SKU or id read (``Overlap``: a redo)."""
        self.tracker.overlap()
        self.run.report.products += len(self.scanned.skipped)
        for (lane, ledger), (valid, filtered, items) in zip(self.pairs, self.skipped, strict=True):
            lane.stats.filtered += filtered
            lane.stats.items_total += valid
            lane.stats.items_valid += valid
            ledger.unchanged += items

    def settle(self, store: Store) -> None:
        """Once every push is recorded: remember this run's inputs for the next."""
        scanned = self.scanned
        named = {sku_fp(p.sku) for p in self.run.report.problems if p.sku}  # read it next run
        for n, ((_, ledger), follow) in enumerate(zip(self.pairs, scanned.follows, strict=True)):
            last = n == len(self.pairs) - 1
            prints = scanned.prints if last else array("Q", scanned.prints)  # the last: in place
            for position in scanned.parsed:
                if follow.counts[position] == PENDING or scanned.skus[position] in named:
                    prints[position] = 0  # not clean: read it next run
            residue = array("q", self.tracker.unaligned)
            residue.extend(ledger.gone_skus)
            memory = inputs.Remembered(scanned.skus, prints, follow.counts, follow.ids, residue)
            inputs.save(store, ledger.channel, ledger.account, self.digest, memory)


def _forget(store: Store, pairs: list[Pair], beside: Path) -> None:
    """Before the ledger can change: no memory, and no copy a killed run left (this run holds
    the lock, so no other run is reading one)."""
    for _, ledger in pairs:
        inputs.forget(store, ledger.channel, ledger.account)
    day_ago = time.time() - 86400
    for stale in [*beside.glob(f"{WORKDIR}*"), *beside.glob(f"{PREVIEW}*")]:
        if stale.name.startswith(WORKDIR) or stale.stat().st_mtime < day_ago:
            shutil.rmtree(stale, ignore_errors=True)


def _workdir(beside: Path, prefix: str) -> TemporaryDirectory[str]:
    """The copy of the rows to read goes beside the state (up to half the catalogue: /tmp may
    be memory), else to the system's temp folder."""
    try:
        return TemporaryDirectory(prefix=prefix, dir=beside)
    except OSError:
        return TemporaryDirectory(prefix=prefix.lstrip("."))


def _skipped(counts: array[int]) -> tuple[int, int, int]:
    """(valid SKUs, filtered SKUs, items) of the SKUs the scan skipped."""
    filtered, pending = counts.count(FILTERED), counts.count(PENDING)
    items = sum(counts) - FILTERED * filtered - PENDING * pending
    return len(counts) - pending - filtered, filtered, items


def _files(run: Any, pairs: list[Pair]) -> Files | None:
    """The CSV files to scan, when every lane of the run only pushes; else None."""
    source = run.source
    if not (run.incremental and isinstance(source, CsvSource) and source.merge_sides):
        return None
    if not source.bytes_scannable:
        return None  # the scan takes SKUs as UTF-8: reading everything stays right
    if len(pairs) != len(run.lanes) or any(lane.files for lane in run.lanes):
        return None  # a file to write needs every product
    sides = {role: path for role, path in source.paths.items() if path is not None}
    names = [source.table.path.name, *(path.name for path in sides.values())]
    if len(set(names)) < len(names):
        return None  # problems name files by name alone
    return Files(source.table.path, sides, source.delimiter)


def _memory(remembered: inputs.Remembered | None, ledger: Ledger) -> Memory | None:
    if remembered is None:
        return None
    must = ledger.must_read()
    must.update(remembered.residue)
    return Memory(remembered.skus, remembered.prints, remembered.counts, remembered.ids, must)


def _digest(config: Config, files: Files) -> str:
    """What a memory holds for: the settings (not where the files are), the code, the
    columns of each file and the locations."""
    settings = config.model_dump(
        mode="json",
        exclude={**dict.fromkeys(("path", "output_dir", "state", "workers"), True),
                 "catalog": dict.fromkeys(("products", "stock", "city_prices", "reviews",
                                           "locations"), True)},
    )  # fmt: skip
    digest = blake2b(json.dumps(settings, sort_keys=True).encode(), digest_size=16)
    digest.update(_code())
    digest.update(headers(files))
    locations = config.catalog.locations
    digest.update(locations.read_bytes() if locations and locations.exists() else b"")
    return digest.hexdigest()


@cache
def _code() -> bytes:
    """This omnisync's code: a memory written by other code is not trusted."""
    root = Path(__file__).parent
    stamp = blake2b(digest_size=16)
    for path in sorted(root.rglob("*.py")):
        status = path.stat()
        stamp.update(f"{path.relative_to(root)}:{status.st_size}:{status.st_mtime_ns};".encode())
    return stamp.digest()


class _Tracker:
    """Pairs each product read with its scanned row and records what each lane made of it:
    the items it gave, FILTERED, or PENDING when it is not clean."""

    def __init__(self, run: Any, pairs: list[Pair], scanned: Scanned) -> None:
        self.report, self.scanned, self.pairs = run.report, scanned, pairs
        self.at = self.problems = 0
        self.outcomes: list[int | None] = [None] * len(pairs)
        self.filtered = [lane.stats.filtered for lane, _ in pairs]
        self.unaligned = array("q")  # SKUs read that no scanned row names (a quoted SKU)
        self.read = array("q")  # every SKU read
        self.ids = [array("q") for _ in pairs]  # per lane: the ids of the items read
        self.last_ids = [0] * len(pairs)
        for i, (lane, ledger) in enumerate(pairs):
            assert lane.on_item is not None
            lane.on_item = self._counted(i, lane, lane.on_item, ledger)
        run.observe = self.observe

    def _counted(self, i: int, lane: Lane, inner: Callable[..., None], ledger: Ledger) -> Any:
        def on_item(product: Product, record: Any, valid: bool) -> None:
            before = ledger.considered
            inner(product, record, valid)
            self.outcomes[i] = ledger.considered - before if valid else None
            self.last_ids[i] = sku_fp(lane.channel.unique_key(record))
            if self.scanned.skipped:
                self.ids[i].append(self.last_ids[i])

        return on_item

    def overlap(self) -> None:
        """A SKU or an item id read this run that a skipped SKU also holds — a repeat the scan
        could not see (a SKU quoted or spelled with other spaces, ids a channel folds) — makes
        the run read everything: only then can the first row win, as it must."""
        scanned = self.scanned
        if not set(self.read).isdisjoint(scanned.skipped) or any(
            not set(ids).isdisjoint(follow.skipped_ids)
            for ids, follow in zip(self.ids, scanned.follows, strict=True)
        ):
            raise Overlap("a SKU or item id read is also a skipped one's")

    def observe(self, product: Product) -> None:
        fp = sku_fp(product.sku)
        if self.scanned.skipped:  # else nothing can overlap, and a million SKUs cost 8 MB
            self.read.append(fp)
        position = self._align(fp)
        problems = self.report.problems  # since the last product: its own, or another row's
        clean = not any(p.sku in (None, product.sku) for p in problems[self.problems :])
        self.problems = len(problems)
        if position < 0:
            self.unaligned.append(fp)
        for i, ((lane, _), follow) in enumerate(zip(self.pairs, self.scanned.follows, strict=True)):
            count = self._count(i, lane)
            if clean and position >= 0 and count is not None:
                follow.counts[position] = count
                follow.ids[position] = self.last_ids[i] if count != FILTERED else 0
        self.outcomes, self.last_ids = [None] * len(self.pairs), [0] * len(self.pairs)

    def _count(self, i: int, lane: Lane) -> int | None:
        if lane.stats.filtered != self.filtered[i]:
            self.filtered[i] = lane.stats.filtered
            return FILTERED
        outcome = self.outcomes[i]
        return outcome if outcome is not None and outcome < PENDING else None

    def _align(self, fp: int) -> int:
        parsed, skus = self.scanned.parsed, self.scanned.skus
        for j in range(self.at, min(self.at + LOOKAHEAD, len(parsed))):
            if skus[parsed[j]] == fp:
                self.at = j + 1
                return int(parsed[j])
        return -1


class Subset(Source):
    """The rows to read, copied by the scan, read by the ordinary CSV source; problems and
    products carry the real files' line numbers."""

    unique_skus = True

    def __init__(self, original: CsvSource, scanned: Scanned) -> None:
        assert scanned.subset is not None
        self.original = original
        at = {role: scanned.subset / role / path.name
              for role, path in original.paths.items() if path is not None}  # fmt: skip
        self.inner = CsvSource(
            scanned.subset / "products" / original.table.path.name,
            stock=at.get("stock"), locations=original.locations_path,
            city_prices=at.get("city_prices"), reviews=at.get("reviews"),
            delimiter=original.delimiter, merge_sides=True,
        )  # fmt: skip
        self.lines = {path.name: scanned.lines[role] for role, path in at.items()}
        self.lines[original.table.path.name] = scanned.lines["products"]

    def locations(self, on_problem: ProblemSink) -> list[Location]:
        return self.inner.locations(on_problem)

    def snapshot_time(self) -> Any:
        return self.original.snapshot_time()

    def read(self, on_problem: ProblemSink) -> Iterator[Product]:
        for product in self.inner.read(lambda problem: on_problem(self._moved(problem))):
            yield dataclasses.replace(product, line=self._line(product.file, product.line))

    def _moved(self, problem: Problem) -> Problem:
        return dataclasses.replace(problem, line=self._line(problem.file, problem.line))

    def _line(self, file: str | None, line: int | None) -> int | None:
        lines = self.lines.get(file or "")
        return lines[line] if lines is not None and line is not None and line < len(lines) else line


def _scan(
    files: Files, memories: list[Memory | None], reserved: Container[bytes], workdir: Path
) -> Scanned:
    """Print every SKU; copy the ones to read into ``workdir``. Raises :class:`Unfit`."""
    with ExitStack() as stack:
        products, mine = opened(files, memories, reserved, workdir, stack)
        mine.rows(products)
        mine.finish()
        return concluded(mine, workdir)
