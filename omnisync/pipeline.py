"""The library API the CLI calls: ``validate()`` and ``build()``.

One read of the catalogue feeds every selected channel: each product is mapped, checked and —
when building — written by every channel before the next product is read. Nothing holds the
whole catalogue.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from omnisync.channels.base import Channel, FeedWriter, FileFeed
from omnisync.channels.registry import lookup
from omnisync.config import Config
from omnisync.errors import UsageError
from omnisync.models import Problem, Product, Severity
from omnisync.publish import AtomicFile, gate_refusal
from omnisync.report import ChannelStats, RunReport
from omnisync.sources.registry import make_source

Progress = Callable[[int], None]
PROGRESS_EVERY = 1000


def validate(
    config: Config, only: Iterable[str] = (), progress: Progress | None = None
) -> RunReport:
    """Check the catalogue and every selected channel; write nothing."""
    run = _Run(config, only, progress)
    run.stream(writers={})
    return run.report


def build(
    config: Config, only: Iterable[str] = (), force: bool = False, progress: Progress | None = None
) -> RunReport:
    """Write each selected file channel's feed atomically, behind the publish gate."""
    run = _Run(config, only, progress)
    with ExitStack() as stack:
        files: dict[str, AtomicFile] = {}
        writers: dict[str, FeedWriter] = {}
        for lane in run.lanes:
            if isinstance(lane.channel, FileFeed):
                target = _target(config, lane.channel)
                files[lane.channel.name] = out = stack.enter_context(AtomicFile(target))
                writers[lane.channel.name] = lane.channel.open_writer(out.stream)
        run.stream(writers)
        for lane in run.lanes:
            if lane.channel.name in files:
                _publish(run.report, lane, files[lane.channel.name], force)
    return run.report


@dataclass(slots=True)
class _Lane:
    """One channel's share of a run: its checks, its uniqueness index and its counters."""

    channel: Channel
    stats: ChannelStats
    seen: set[str]

    def accept(self, product: Product, report: RunReport, writer: FeedWriter | None) -> None:
        record = self.channel.to_record(product)
        problems = self.channel.validate(record)
        key = self.channel.unique_key(record)
        if key in self.seen:
            problems.append(
                self.channel.problem(
                    record,
                    "id",
                    "id_not_unique",
                    "another item already has this id (ids compare ignoring case)",
                )
            )
        self.seen.add(key)
        self.stats.items_total += 1
        errors = 0
        for problem in problems:
            report.add(problem)
            errors += problem.severity is Severity.ERROR
        self.stats.errors += errors
        self.stats.warnings += len(problems) - errors
        if not errors:
            self.stats.items_valid += 1
            if writer is not None:
                writer.write(record)


class _Run:
    def __init__(self, config: Config, only: Iterable[str], progress: Progress | None) -> None:
        self.config, self.progress = config, progress
        self.report = RunReport()
        self.source = make_source(config.catalog)
        self.lanes = [_Lane(c, ChannelStats(c.name), set()) for c in _channels(config, only)]
        self.report.channels = [lane.stats for lane in self.lanes]
        self._check_locations()

    def _check_locations(self) -> None:
        known = {loc.code for loc in self.source.locations(self.report.add)}
        issues = [
            (
                f"channels.{lane.channel.name}.locations",
                f"unknown location {code!r}; "
                f"known: {', '.join(sorted(known)) or 'none (set catalog.locations)'}",
            )
            for lane in self.lanes
            for code in lane.channel.config.locations or ()
            if code not in known
        ]
        if issues:
            raise self.config.error(issues)

    def stream(self, writers: dict[str, FeedWriter]) -> None:
        with ExitStack() as stack:
            active = [
                (
                    lane,
                    stack.enter_context(writers[lane.channel.name])
                    if lane.channel.name in writers
                    else None,
                )
                for lane in self.lanes
            ]
            for count, product in enumerate(self._unique(), 1):
                for lane, writer in active:
                    lane.accept(product, self.report, writer)
                if self.progress and count % PROGRESS_EVERY == 0:
                    self.progress(count)
        if self.progress:
            self.progress(self.report.products)

    def _unique(self) -> Iterator[Product]:
        """Products with a SKU seen before are reported and skipped: the first row wins."""
        seen: set[str] = set()
        for product in self.source.read(self.report.add):
            if product.sku in seen:
                self.report.add(
                    Problem(
                        code="duplicate_sku",
                        field="sku",
                        sku=product.sku,
                        file=product.file,
                        line=product.line,
                        message="an earlier row has this SKU; that row is kept, this one skipped",
                    )
                )
                continue
            seen.add(product.sku)
            self.report.products += 1
            yield product


def _channels(config: Config, only: Iterable[str]) -> list[Channel]:
    wanted = list(dict.fromkeys(only)) or list(config.channels)
    unknown = [name for name in wanted if name not in config.channels]
    if unknown:
        raise UsageError(
            f"unknown channel {unknown[0]!r}; this config has: {', '.join(config.channels)}"
        )
    return [lookup(config.channels[n].type)(n, config.channels[n]) for n in wanted]


def _target(config: Config, channel: FileFeed) -> Path:
    out = config.output_dir.resolve()
    target = (out / channel.file_name).resolve()
    if target.parent != out:  # names are validated slugs; this keeps a plugin honest too
        raise UsageError(f"feed path {target} is outside output_dir {out}")
    return target


def _publish(report: RunReport, lane: _Lane, out: AtomicFile, force: bool) -> None:
    channel, stats = lane.channel, lane.stats
    assert isinstance(channel, FileFeed)  # only file channels get an AtomicFile
    stats.path = out.target
    previous = channel.count_items(out.target) if out.target.exists() else 0
    refusal = None if force else gate_refusal(previous, stats.items_valid, channel.config.max_drop)
    if refusal:
        stats.refused = refusal
        report.add(Problem(code="publish_gate", channel=stats.channel, message=refusal))
        return
    out.commit()
    stats.published = True
