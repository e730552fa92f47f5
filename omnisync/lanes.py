"""A channel's share of a run: a lane takes each prepared product, checks it, writes it, and at
the end publishes the channel's files all together or not at all (behind the publish gate)."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from omnisync.channels.base import Channel, Record
from omnisync.channels.capabilities import FeedWriter, FileFeed
from omnisync.engine import pl
from omnisync.errors import UsageError
from omnisync.keyset import KeySet
from omnisync.models import Problem, Product, Severity
from omnisync.publish import AtomicFile, gate_refusal, items_in
from omnisync.report import ChannelStats, RunReport


class Planner(Protocol):
    """Plans a pushed lane's items (``push.Planner``)."""

    def consider(self, product: Product, record: Record, valid: bool) -> None: ...

    def consider_frame(self, items: pl.DataFrame) -> None:
        """Plain rows' items, as the engine's pass builds them (``engine.run.Planned``)."""


@dataclass(slots=True)
class Lane:
    """One channel's share of a run: its uniqueness index, counters, files and writer."""

    channel: Channel
    stats: ChannelStats
    seen: KeySet = field(default_factory=KeySet)
    files: dict[str, AtomicFile] = field(default_factory=dict)
    writer: FeedWriter | None = None
    # Where the lane's pushes are planned (push.py gives one to each pushed lane).
    planner: Planner | None = None

    def open_files(self, stack: ExitStack, output_dir: Path) -> None:
        channel = self.channel
        assert isinstance(channel, FileFeed)
        for output in channel.outputs():
            self.files[output] = stack.enter_context(AtomicFile(_target(output_dir, output)))
        self.writer = channel.open_writer({n: f.stream for n, f in self.files.items()})

    def accept(self, product: Product, report: RunReport) -> None:
        if not self.channel.lists_products:
            self._look_up(product)
            return
        shown = self.channel.prepare(product)
        if shown is None:
            self.stats.filtered += 1
            return
        record = self.channel.to_record(shown)
        problems = self.channel.validate(record)
        key = self.channel.unique_key(record)
        if not self.seen.add(key):
            message = "another item already has this id (as this channel compares ids)"
            problems.append(self.channel.problem(record, "id", "id_not_unique", message))
        valid = self._count(problems, report) == 0
        if valid and self.writer is not None:
            self.writer.write(record)
        if self.planner is not None:
            self.planner.consider(shown, record, valid)

    def _look_up(self, product: Product) -> None:
        """A channel that lists something else reads the product only to look it up (a pickup
        board: the name of an order line): no rules, checks or counts — its items are what its
        files list (``publish``)."""
        if self.writer is not None:
            self.writer.write(self.channel.to_record(product))

    def _count(self, problems: list[Problem], report: RunReport) -> int:
        errors = sum(1 for p in problems if p.severity is Severity.ERROR)
        for problem in problems:
            report.add(problem)
        self.stats.items_total += 1
        self.stats.items_valid += errors == 0
        self.stats.errors += errors
        self.stats.warnings += len(problems) - errors
        return errors

    def publish(self, report: RunReport, force: bool) -> None:
        """Publish every output or none: a channel's files must agree with each other."""
        assert self.writer is not None
        self.stats.paths = [f.target for f in self.files.values()]
        self.stats.counts = dict(self.writer.counts())
        channel = self.channel
        if not channel.lists_products:
            assert isinstance(channel, FileFeed)
            self.stats.items_total = self.stats.items_valid = channel.listed(self.stats.counts)
        refusal = self._refusal(self.stats.counts, force)
        if refusal:
            code, self.stats.refused = refusal
            report.add(Problem(code=code, channel=self.stats.channel, message=self.stats.refused))
            return
        for output, out in self.files.items():
            out.commit(self.stats.counts.get(output))
        self.stats.published = True

    def _refusal(self, counts: Mapping[str, int], force: bool) -> tuple[str, str] | None:
        """(code, message) when an output fails its own check or the publish gate."""
        channel = self.channel
        assert isinstance(channel, FileFeed)
        for output, out in self.files.items():
            out.stream.flush()
            invalid = channel.verify(output, out.temp)
            if invalid:
                return "schema_invalid", f"{output}: {invalid}; the old file is kept"
            previous = _items(channel, output, out.target)
            new, config = counts.get(output, 0), channel.config
            refusal = gate_refusal(previous, new, config.max_drop, self._empty_reason())
            if refusal and not force:
                return "publish_gate", f"{output}: {refusal}"
        return None

    def _empty_reason(self) -> str | None:
        if self.channel.config.allow_empty:
            return None
        if self.stats.items_total == 0 and self.stats.filtered:
            return "the channel's rules filtered out every item"
        return "no valid items"


def _items(channel: FileFeed, output: str, target: Path) -> int:
    """Items the published file holds: remembered at publication, else counted."""
    if not target.exists():
        return 0
    remembered = items_in(target)
    return remembered if remembered is not None else channel.count_items(output, target)


def _target(output_dir: Path, output: str) -> Path:
    out = output_dir.resolve()
    target = (out / output).resolve()
    if out not in target.parents:  # names are validated slugs; this keeps a plugin honest too
        raise UsageError(f"output path {target} is outside output_dir {out}")
    if target.is_dir():
        raise UsageError(f"{target} is a folder; the feed file cannot replace it")
    return target
