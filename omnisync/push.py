"""``omnisync push``: change-only, absolute-value pushes to marketplace APIs.

One read of the catalogue plans every selected channel: each valid item's payload is hashed
and compared with the ledger (``store.ledger``); what changed, what was acknowledged longer
ago than ``reassert_after``, and what left the catalogue are planned; then each channel sends
its plan in batches through ``omnisync.http`` and the per-item results go back to the ledger.
Channels that publish a file Kaspi fetches (``kaspi``) are built in the same pass: publishing is
their push. A dry run plans, reports and sends nothing; its plan lives in TEMP tables only.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from omnisync.channels.base import FileFeed, Pushes, PushItem
from omnisync.config import Config
from omnisync.errors import ChannelError, Deferred, UsageError
from omnisync.http import Budget
from omnisync.models import Problem, Product
from omnisync.pipeline import Lane, Progress, Run
from omnisync.report import RunReport
from omnisync.store import Store, open_store, runs
from omnisync.store.ledger import Ledger

SAMPLE = 10


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
        return any(p.failed or p.deferred for p in self.pushes) or any(
            s.refused for s in self.run.channels
        )


def push(
    config: Config,
    only: Iterable[str] = (),
    dry_run: bool = False,
    now: datetime | None = None,
    budget: Budget | None = None,
    progress: Progress | None = None,
    force: bool = False,
) -> PushReport:
    run = Run(config, only, progress, now)
    run.keep(_pushes, "has no API to push to" if only else None)
    if not run.lanes:
        raise UsageError("none of the channels pushes: add API settings (base_url, credentials)")
    store = open_store(config.state)
    run_id = runs.start(store, "push --dry-run" if dry_run else "push")
    try:
        result = _push(run, store, dry_run, budget or Budget(), force)
    except BaseException as exc:
        runs.finish(store, run_id, getattr(exc, "exit_code", 1), {}, str(exc))
        store.close()
        raise
    runs.finish(store, run_id, 3 if result.partial else 0, _counts(result))
    store.close()
    return result


def _counts(result: PushReport) -> dict[str, Any]:
    return {
        p.channel: {**p.planned, "sent": p.sent, "failed": p.failed, "deferred": p.deferred}
        for p in result.pushes
    }


def _pushes(lane: Lane) -> bool:
    channel = lane.channel
    return (isinstance(channel, Pushes) and channel.can_push()) or getattr(
        channel, "publish_is_push", False
    )


def _push(run: Run, store: Store, dry_run: bool, budget: Budget, force: bool) -> PushReport:
    context = run.lanes[0].channel.context
    plans: list[tuple[Lane, Ledger, PushStats]] = []
    with ExitStack() as stack:
        for lane in run.lanes:
            channel = lane.channel
            if isinstance(channel, Pushes) and channel.can_push():
                after = channel.push_settings().reassert_after
                ledger = Ledger(store, channel.name, channel.account, context.now, after)
                stats = PushStats(channel.name, channel.account)
                lane.on_valid = _planner(channel, ledger)
                plans.append((lane, ledger, stats))
            elif isinstance(channel, FileFeed) and not dry_run:
                lane.open_files(stack, run.config.output_dir)
        run.stream()
        for lane in run.lanes:
            if lane.files:
                lane.publish(run.report, force)
                _deliver(lane, run.report, budget)
    for lane, ledger, stats in plans:
        _plan_removals(lane.channel, ledger)
        stats.planned = ledger.counts()
        if dry_run:
            stats.changes = [_change(item, action) for item, action in ledger.planned()]
        else:
            _send(lane.channel, ledger, stats, run.report, budget)
    return PushReport(run.report, [stats for _, _, stats in plans], dry_run)


def _deliver(lane: Lane, report: RunReport, budget: Budget) -> None:
    """A published file's own delivery (an upload); a failure makes the run partial."""
    assert isinstance(lane.channel, FileFeed)
    if not lane.stats.published:
        return
    try:
        lane.channel.after_publish(lane.stats.paths, budget)
    except ChannelError as exc:
        lane.stats.refused = f"published, but the upload failed: {exc}"
        report.add(Problem(code="upload_failed", channel=lane.stats.channel, message=str(exc)))


def _planner(channel: Pushes, ledger: Ledger) -> Any:
    def plan(product: Product) -> None:
        for item in channel.push_items(product):
            ledger.consider(item)

    return plan


def _plan_removals(channel: Any, ledger: Ledger) -> None:
    for stream, key, sku in list(ledger.gone()):
        ledger.plan_removal(channel.removal(stream, key, sku), stream, key)


def _change(item: PushItem, action: str) -> dict[str, Any]:
    return {
        "stream": item.stream,
        "key": item.key,
        "sku": item.sku,
        "action": action,
        "payload": dict(item.payload),
    }


def _send(
    channel: Any, ledger: Ledger, stats: PushStats, report: RunReport, budget: Budget
) -> None:
    """Every stream's batches, in order; the first channel-level failure stops the channel
    (a circuit breaker: no point burning quota) and defers the rest to the next run."""
    api = channel.open_api(budget)
    try:
        for stream, size in channel.batch_sizes().items():
            for batch in ledger.batches(stream, size):
                if not _send_batch(channel, api, ledger, stats, report, stream, batch):
                    _defer_rest(ledger, stats)
                    return
        ledger.forget()
    finally:
        api.close()


def _send_batch(
    channel: Any,
    api: Any,
    ledger: Ledger,
    stats: PushStats,
    report: RunReport,
    stream: str,
    batch: list[PushItem],
) -> bool:
    try:
        results = channel.send(api, stream, batch)
    except ChannelError as exc:
        reason = str(exc)
        if isinstance(exc, Deferred):
            ledger.defer(batch, reason)
            stats.deferred += len(batch)
        else:
            failures = ledger.record(batch, [])
            _report_failures(report, stats, batch, failures, reason)
        report.add(
            Problem(
                code="push_failed" if not isinstance(exc, Deferred) else "push_deferred",
                channel=channel.name,
                message=reason,
            )
        )
        return False
    failures = ledger.record(batch, results)
    stats.sent += len(batch) - len(failures)
    _report_failures(report, stats, batch, failures, None)
    return True


def _report_failures(
    report: RunReport,
    stats: PushStats,
    batch: list[PushItem],
    failures: list[Any],
    reason: str | None,
) -> None:
    skus = {item.key: item.sku for item in batch}
    stats.failed += len(failures)
    for failure in failures:
        report.add(
            Problem(
                code="push_rejected",
                channel=stats.channel,
                sku=skus[failure.key],
                field=failure.key,
                message=reason or failure.error or "rejected",
            )
        )


def _defer_rest(ledger: Ledger, stats: PushStats) -> None:
    """Everything not yet sent is recorded as deferred, to be planned again next run."""
    rest = ledger.unsent()
    if rest:
        ledger.defer(rest, "not sent: the channel failed earlier in this run")
        stats.deferred += len(rest)
