"""``omnisync push``: change-only, absolute-value pushes to marketplace APIs.

One read of the catalogue plans every selected channel: each valid item's payload is hashed
and compared with the ledger (``store.ledger``); what changed, what was acknowledged longer
ago than ``reassert_after``, and what left the catalogue or the channel's filter are planned
(an item that is still there but invalid this run is held, not removed, as is a price Ozon
is not sent this run); then each channel sends its plan through ``omnisync.sending``. Channels
whose file is fetched (Kaspi) are built in the same pass: publishing is their push. The
engine's pass plans its plain rows as tables (``engine.run.Planned``, ``store.ledger``): only the
changed items cross into Python. A dry run plans and reports; it sends nothing and changes
nothing: the state file is opened read-only and the plan lives in TEMP tables.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from omnisync import secrets
from omnisync.channels.base import Channel, Record
from omnisync.channels.capabilities import FileFeed, Pushes, PushItem
from omnisync.config import Config
from omnisync.engine import pl
from omnisync.errors import ChannelError, ExitCode, UsageError
from omnisync.http import Budget
from omnisync.lanes import Lane
from omnisync.models import Problem, Product, Severity
from omnisync.pipeline import Progress, Run, record_publishes, retried
from omnisync.report import ChannelStats, RunReport
from omnisync.sending import send
from omnisync.store import Store, runs
from omnisync.store.db import stored
from omnisync.store.ledger import Ledger

# Warnings saying an item went without its price: Ozon sends the stock of an item whose price
# the account cannot take and withholds the price (channels/ozon.py).
PRICE_WITHHELD = frozenset({"currency_mismatch", "price_not_positive"})


@dataclass
class PushStats:
    channel: str
    account: str
    planned: dict[str, int] = field(default_factory=dict)
    sent: int = 0
    failed: int = 0
    deferred: int = 0
    changes: list[dict[str, Any]] = field(default_factory=list)  # dry run: every change


@dataclass
class PushReport:
    run: RunReport
    pushes: list[PushStats]
    dry_run: bool

    @property
    def partial(self) -> bool:
        """Something was not delivered: failed or deferred items, or a failed upload."""
        uploads = any(p.code == "upload_failed" for p in self.run.problems)
        return uploads or any(p.failed or p.deferred for p in self.pushes)

    @property
    def refused(self) -> bool:
        """Data held something back — a gate (a shrunken feed, mass removals), or a pushed
        channel that got items but could send none of them whole (``_starved``): a data
        problem."""
        read = {s.channel: s for s in self.run.channels}
        return (
            any(s.refused for s in self.run.channels)
            or any(p.code == "removal_gate" for p in self.run.problems)
            or any(p.channel in read and self._starved(read[p.channel], p) for p in self.pushes)
        )

    def _starved(self, read: ChannelStats, push: PushStats) -> bool:
        """Items were refused and none reached the channel whole: the catalogue or the
        channel's checks refused every one (nothing sent — a silent failure if it exited 0),
        or every one went without its price. Some of them left out, or without a price, is
        what the report lists (exit 0, like a feed's excluded items: README, "Exit codes")."""
        if read.items_valid == 0:
            return read.errors > 0 or self.run.catalogue_errors > 0
        mine = [p for p in self.run.problems if p.channel == read.channel]
        invalid = {p.sku for p in mine if p.severity is Severity.ERROR}
        priceless = {
            p.sku for p in mine if p.severity is Severity.WARNING and p.code in PRICE_WITHHELD
        } - invalid
        return len(priceless) >= read.items_valid

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.CHANNEL if self.partial else ExitCode.DATA if self.refused else ExitCode.OK


def push(
    config: Config,
    only: Iterable[str] = (),
    dry_run: bool = False,
    now: datetime | None = None,
    budget: Budget | None = None,
    progress: Progress | None = None,
    force: bool = False,
    every_file: bool = False,
    full: bool = False,
) -> PushReport:
    """``every_file``: also build every file channel in the same pass (``sync``). ``full`` is
    accepted and changes nothing: every run reads every SKU (it once asked to read the SKUs
    whose input rows had not changed, which runs skipped before issue 17)."""
    budget, now = budget or Budget(), now or datetime.now().astimezone()

    def planned(names: Iterable[str]) -> Run:
        run = Run(config, names, progress, now)
        wanted = _writes_or_pushes if every_file else _pushes
        run.keep(wanted, None if every_file or not only else "has no API to push to")
        if not run.lanes:
            raise UsageError(
                "none of the channels pushes: add API settings (base_url, credentials)"
            )
        return run

    first = planned(only)  # usage errors surface before the state is opened
    if dry_run:
        with stored(config.state, readonly=True) as store:
            body = partial(_push, store=store, dry_run=True, budget=budget, force=force,
                           every_file=every_file)  # fmt: skip
            return retried(partial(planned, only), body, first)
    names = [lane.channel.name for lane in first.lanes]
    files_only = {lane.channel.name for lane in first.lanes if not _pushes(lane)}
    for name in names:
        if name not in files_only:
            secrets.resolve(config.channels[name])
    command = "sync: push" if every_file else "push"
    with runs.exclusive(config.state, command) as recorder:
        body = partial(_push, store=recorder.store, dry_run=False, budget=budget,
                       force=force, every_file=every_file)  # fmt: skip
        result = retried(partial(planned, names), body, first)
        record(recorder, result)
    return result


def record(recorder: runs.Recorder, result: PushReport) -> None:
    """The run's exit code, counts, problems and each channel's outcome, for run history."""
    recorder.exit_code = result.exit_code
    recorder.problems.update(p.code for p in result.run.problems)
    for p in result.pushes:
        counts = {**p.planned, "sent": p.sent, "failed": p.failed, "deferred": p.deferred}
        failed = any(
            x.code == "push_failed" and x.channel == p.channel for x in result.run.problems
        )
        ok = not (p.failed or p.deferred or failed)
        recorder.add(runs.Outcome(p.channel, p.account, "push", ok, counts))
    record_publishes(recorder, result.run)


def _pushes(lane: Lane) -> bool:
    channel = lane.channel
    return (isinstance(channel, Pushes) and channel.can_push()) or getattr(
        channel, "publish_is_push", False
    )


def _writes_or_pushes(lane: Lane) -> bool:
    channel = lane.channel
    return _pushes(lane) or (isinstance(channel, FileFeed) and channel.writes_files())


def _push(
    run: Run,
    store: Store,
    dry_run: bool,
    budget: Budget,
    force: bool,
    every_file: bool,
) -> PushReport:
    plans: list[tuple[Channel, Ledger, PushStats]] = []
    with ExitStack() as stack:
        for lane in run.lanes:
            channel = lane.channel
            pushes = isinstance(channel, Pushes) and channel.can_push()
            writes = isinstance(channel, FileFeed) and channel.writes_files() and not dry_run
            if writes and (every_file or not pushes):
                lane.open_files(stack, run.config.output_dir)  # a pushed channel's file: sync
            if isinstance(channel, Pushes) and pushes:
                ledger = Ledger(
                    store,
                    channel.name,
                    channel.account,
                    channel.context.now,
                    channel.push_settings().reassert_after,
                )
                lane.planner = Planner(channel, ledger)
                plans.append((channel, ledger, PushStats(channel.name, channel.account)))
        run.stream()
        _publish(run, budget, force)
    for channel, ledger, stats in plans:
        _plan_removals(channel, ledger, run.report, force)
        stats.planned = ledger.counts()
        if dry_run:
            stats.changes = [_change(item, action) for item, action in ledger.planned()]
        elif any(stats.planned[a] for a in ("create", "update", "reassert", "delete")):
            send(channel, ledger, stats, run.report, budget)
        else:
            ledger.forget()
    return PushReport(run.report, [stats for _, _, stats in plans], dry_run)


@dataclass
class Planner:
    """Where a pushed lane's items are planned: its channel's push items of each product the
    lane checked, into the channel account's ledger (the engine's pass plans its plain rows
    as frames, ``engine.run.Planned``)."""

    channel: Pushes
    ledger: Ledger

    def consider(self, product: Product, record: Record, valid: bool) -> None:
        """A channel may leave some items of a valid product as they are (Ozon withholds a
        price its account cannot take, and sends the stock): those are held like an invalid
        SKU's."""
        if not valid:
            self.ledger.hold(product.sku)
            return
        for item in self.channel.push_items(product, record):  # the record the lane checked
            self.ledger.consider(item)
        for stream, key in self.channel.held_items(product, record):
            self.ledger.hold_item(stream, key)

    def consider_frame(self, items: pl.DataFrame) -> None:
        self.ledger.consider_frame(items)


def _publish(run: Run, budget: Budget, force: bool) -> None:
    """Files fetched by the channel (Kaspi): publish, then deliver further (an upload)."""
    for lane in run.lanes:
        if not lane.files:
            continue
        lane.publish(run.report, force)
        if not lane.stats.published:
            continue
        assert isinstance(lane.channel, FileFeed)
        try:
            lane.channel.after_publish(lane.stats.paths, budget)
        except ChannelError as exc:
            lane.stats.refused = f"published, but the upload failed: {exc}"
            run.report.add(
                Problem(code="upload_failed", channel=lane.stats.channel, message=str(exc))
            )


def _plan_removals(channel: Any, ledger: Ledger, report: RunReport, force: bool) -> None:
    """Items that left get zero stock or a delete — unless that would remove more than the
    channel's ``max_drop`` of what it holds (a truncated catalogue must not empty a shop)."""
    gone = ledger.gone()
    if not gone:
        return
    live = ledger.live()
    limit = channel.config.max_drop * live
    if gone and len(gone) > limit and not force:
        report.add(Problem(
            code="removal_gate", channel=channel.name,
            message=f"{len(gone)} of the {live} items the channel holds left the catalogue; "
                    f"the gate allows {channel.config.max_drop:.0%}, so none was removed — "
                    "check the catalogue, or re-run with --force",
        ))  # fmt: skip
        return
    ledger.plan_removals(
        [(channel.removal(stream, key, sku), stream, key) for stream, key, sku in gone]
    )


def _change(item: PushItem, action: str) -> dict[str, Any]:
    return {
        "stream": item.stream,
        "key": item.key,
        "sku": item.sku,
        "action": action,
        "payload": dict(item.payload),
    }
