"""The library API the CLI calls: ``validate()`` and ``build()``.

One read of the catalogue feeds every selected channel of a process: each product is mapped,
checked and — when building — written by every channel before the next product is read.
Nothing holds the whole catalogue. Everything runs in this process: the engine's threads use
the other cores (issue 17), as forked workers did before it.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from datetime import datetime
from functools import partial
from typing import TypeVar

from omnisync import stopping
from omnisync.catalogs import CatalogConfig
from omnisync.channels.base import Channel, ChannelContext
from omnisync.channels.capabilities import FileFeed
from omnisync.channels.registry import lookup
from omnisync.config import Config
from omnisync.engine import run as engine_run
from omnisync.errors import ExitCode, Redo, UsageError
from omnisync.keyset import KeySet
from omnisync.lanes import Lane
from omnisync.models import Problem, Product, Severity
from omnisync.report import ChannelStats, RunReport
from omnisync.sources.base import duplicate_sku
from omnisync.sources.registry import make_source
from omnisync.store import catalog as store_catalog
from omnisync.store import runs
from omnisync.store.catalog import ImportStats
from omnisync.store.reservations import available_to_sell, load_reserved, oversold

Progress = Callable[[int], None]
T = TypeVar("T")
PROGRESS_EVERY = 1000
REDOS = 1  # kinds of Redo: side files in another order (the per-item path)


def validate(
    config: Config,
    only: Iterable[str] = (),
    progress: Progress | None = None,
    now: datetime | None = None,
) -> RunReport:
    """Check the catalogue and every selected channel; write nothing."""

    def check(run: Run) -> RunReport:
        run.stream()
        return run.report

    return retried(lambda: Run(config, only, progress, now), check)


def build(
    config: Config,
    only: Iterable[str] = (),
    force: bool = False,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> RunReport:
    """Write each selected file channel's outputs atomically, behind the publish gate.
    API-only channels (Ozon, …) are left to ``push``."""
    now = now or datetime.now().astimezone()
    first = file_run(config, only, progress, now, refuse=bool(only))  # before the lock
    names = [lane.channel.name for lane in first.lanes]
    with runs.exclusive(config.state, "build") as recorder:
        planned = partial(file_run, config, names, progress, now)
        report = retried(planned, partial(_write, force=force), first)
        refused = any(s.refused for s in report.channels)
        recorder.exit_code = ExitCode.DATA if refused else ExitCode.OK
        recorder.problems.update(p.code for p in report.problems)
        record_publishes(recorder, report)
    return report


def file_run(
    config: Config,
    names: Iterable[str],
    progress: Progress | None,
    now: datetime,
    refuse: bool = False,
) -> Run:
    """A run of the file channels among ``names``; ``refuse``: a named channel without a
    file is a usage error rather than skipped."""
    run = Run(config, names, progress, now)
    run.keep(
        lambda lane: isinstance(lane.channel, FileFeed) and lane.channel.writes_files(),
        "publishes no file; use omnisync push" if refuse else None,
    )
    return run


def _write(run: Run, force: bool) -> RunReport:
    """Stream the catalogue into the lanes' files, then publish them."""
    with ExitStack() as stack:
        for lane in run.lanes:
            lane.open_files(stack, run.config.output_dir)
        run.stream()
        for lane in run.lanes:
            lane.publish(run.report, force)
    return run.report


def retried(make: Callable[[], Run], body: Callable[[Run], T], first: Run | None = None) -> T:
    """``body(run)``, redone on a fresh run when an attempt cannot finish as planned
    (:class:`~omnisync.errors.Redo`): a side file in another order than the products, on
    the per-item path (sources/sidefiles.py: index it). Nothing of a failed attempt is kept:
    its files are discarded, its plan is TEMP. Each kind of redo happens at most once."""
    run = first or make()
    adjustments: list[Callable[[Run], None]] = []
    while True:
        try:
            return body(run)
        except Redo as exc:
            if len(adjustments) >= REDOS:
                raise
            adjustments.append(exc.adjust)
            run = make()
            for adjust in adjustments:
                adjust(run)


def record_publishes(recorder: runs.Recorder, report: RunReport) -> None:
    """Each file channel's outcome, for run history: published, or why not."""
    for s in (s for s in report.channels if s.paths):
        counts = {"items": s.items_valid, "excluded": s.excluded}
        recorder.add(runs.Outcome(s.channel, "", "publish", s.published and not s.refused, counts))


def import_catalog(config: Config, force: bool = False) -> tuple[ImportStats, RunReport]:
    """Load the configured catalogue (the CSV files, or the central system a ``source`` names)
    into the central store (``state:``)."""
    catalog = config.catalog
    if isinstance(catalog, CatalogConfig) and catalog.products is None:
        raise config.error([("catalog.products", "set the CSV files that catalog import loads")])
    kind = "csv" if isinstance(catalog, CatalogConfig) else catalog.source
    report = RunReport()
    with runs.exclusive(config.state, "catalog import") as recorder:
        stats = store_catalog.import_catalog(
            recorder.store, make_source(config, kind), report.add, force=force
        )
        recorder.counts = {"products": stats.products, "stock_rows": stats.stock_rows}
        recorder.problems.update(p.code for p in report.problems)
    report.products = stats.products
    return stats, report


class Run:
    def __init__(
        self, config: Config, only: Iterable[str], progress: Progress | None, now: datetime | None
    ) -> None:
        self.config, self.progress = config, progress
        self.report = RunReport()
        self.source = make_source(config)
        self.source.merge_sides = True
        locations = {loc.code: loc for loc in self.source.locations(self.report.add)}
        context = ChannelContext(
            locations=locations, now=now or datetime.now().astimezone(), state=config.state
        )
        self.lanes = [Lane(c, ChannelStats(c.name)) for c in _channels(config, only, context)]
        self.report.channels = [lane.stats for lane in self.lanes]

    def index_side_files(self, unordered: str) -> None:
        """Index the side files in memory: ``unordered`` is not in the products' order."""
        self.source.merge_sides = False
        self.report.add(
            Problem(
                code="side_file_order",
                severity=Severity.WARNING,
                file=unordered,
                message="its rows are not in the order of the products file, so the side files "
                "were indexed in memory; export them in the same order for a leaner run",
            )
        )

    def keep(self, wanted: Callable[[Lane], bool], refuse: str | None) -> None:
        """Narrow the run to the lanes ``wanted``; with ``refuse``, a lane the user asked for
        by name that is not wanted is a usage error instead of being skipped."""
        unwanted = [lane.channel.name for lane in self.lanes if not wanted(lane)]
        if unwanted and refuse:
            raise UsageError(f"channel {unwanted[0]} {refuse}")
        self.lanes = [lane for lane in self.lanes if wanted(lane)]
        self.report.channels = [lane.stats for lane in self.lanes]

    def stream(self) -> None:
        self.source.sides_read = frozenset().union(*(lane.channel.reads for lane in self.lanes))
        with ExitStack() as stack:
            stack.enter_context(_lean_gc())
            for lane in self.lanes:
                if lane.writer is not None:
                    stack.enter_context(lane.writer)
            found = engine_run.plan(self)
            if found is not None:
                reserved = load_reserved(self.config.state, self.source.snapshot_time())
                engine_run.stream(self, found, reserved)
            else:
                self._products()
        if self.progress:
            self.progress(self.report.products)

    def _products(self) -> None:
        """The catalogue product by product into every lane."""
        for count, product in enumerate(self._unique(), 1):
            stopping.check("while reading the catalogue; nothing was published or sent")
            for lane in self.lanes:
                lane.accept(product, self.report)
            if self.progress and count % PROGRESS_EVERY == 0:
                self.progress(count)

    def _unique(self) -> Iterator[Product]:
        """Products with a SKU seen before are reported and skipped: the first row wins.
        Stock is available-to-sell: on hand less what orders still reserve."""
        seen = KeySet()
        checks = not self.source.unique_skus  # else the source reports repeats itself
        reserved = load_reserved(self.config.state, self.source.snapshot_time())
        for product in self.source.read(self.report.add):
            if checks and product.sku in seen:
                self.report.add(duplicate_sku(product.sku, product.file, product.line))
                continue
            if product.sku in reserved:
                product = self.reserve(product, reserved[product.sku])
            if checks:
                seen.add(product.sku)
            self.report.products += 1
            yield product

    def reserve(self, product: Product, reserved: Mapping[str, int]) -> Product:
        """Available-to-sell; an oversell (orders hold more than is on hand) is reported on
        every run until the central stock or the orders settle it, so it cannot go unseen."""
        for location in oversold(product, reserved):
            self.report.add(
                Problem(
                    code="oversell",
                    sku=product.sku,
                    field="stock",
                    severity=Severity.WARNING,
                    message=f"open orders reserve more than is on hand at {location}; "
                    "the channels show 0 — settle it in the central system",
                )
            )
        return available_to_sell(product, reserved)


@contextmanager
def _lean_gc() -> Iterator[None]:
    """The cycle collector, rarely, while the catalogue streams: an item's objects are freed
    by reference counting, and a collection every 700 allocations (the default) scanning them
    cost a tenth of a run. What exists before the stream is frozen out of the scans."""
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


def _channels(config: Config, only: Iterable[str], context: ChannelContext) -> list[Channel]:
    wanted = list(dict.fromkeys(only)) or list(config.channels)
    unknown = [name for name in wanted if name not in config.channels]
    if unknown:
        raise UsageError(
            f"unknown channel {unknown[0]!r}; this config has: {', '.join(config.channels)}"
        )
    channels = [lookup(config.channels[n].type)(n, config.channels[n], context) for n in wanted]
    issues = [
        (f"channels.{c.name}.{key}", message)
        for c in channels
        for key, message in c.config_issues()
    ]
    if issues:
        raise config.error(issues)
    return channels
