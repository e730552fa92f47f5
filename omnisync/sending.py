"""Sending one channel's plan: batches, per-item verdicts, isolation of bad items, breaker.

* A batch the channel refuses as a whole (a 4xx) is split in halves and retried, down to the
  single item, so one bad item cannot block the others (or the channel, run after run).
* Authentication failures (401, 403), a channel still failing after the retry policy, or a wait
  past the run's budget stop the channel (a circuit breaker: no point burning quota): what was
  not sent is recorded as deferred and planned again by the next run. Other channels carry on.
"""

from __future__ import annotations

from typing import Any

from omnisync import faults, stopping
from omnisync.channels.capabilities import ItemResult, PushItem
from omnisync.errors import ChannelError, ChannelRejected, Deferred
from omnisync.http import Budget
from omnisync.models import Problem
from omnisync.report import RunReport
from omnisync.store.ledger import Ledger

AUTH = (401, 403)


class _Batch:
    """One channel's sending state for a run."""

    def __init__(self, channel: Any, ledger: Ledger, stats: Any, report: RunReport) -> None:
        self.channel, self.ledger, self.stats, self.report = channel, ledger, stats, report
        self.api: Any = None

    def problem(
        self, code: str, message: str, sku: str | None = None, field: str | None = None
    ) -> None:
        self.report.add(
            Problem(code=code, channel=self.channel.name, sku=sku, field=field, message=message)
        )

    def deliver(self, stream: str, batch: list[PushItem]) -> bool:
        """Send ``batch``; False when the channel must stop."""
        self.ledger.sending(batch)
        try:
            results = self.channel.send(self.api, stream, batch)
            faults.point("push.after_send")
        except Deferred as exc:
            self.defer(batch, str(exc))
            return False
        except ChannelRejected as exc:
            return self.rejected(stream, batch, exc)
        except ChannelError as exc:
            self.fail(batch, str(exc))
            return False
        self.count(batch, self.ledger.record(batch, results), None)
        return True

    def rejected(self, stream: str, batch: list[PushItem], exc: ChannelRejected) -> bool:
        if exc.status in AUTH:
            self.fail(batch, str(exc))
            return False
        if len(batch) > 1:  # isolate the bad item(s): halves, down to single items
            half = len(batch) // 2
            return self.deliver(stream, batch[:half]) and self.deliver(stream, batch[half:])
        (item,) = batch
        self.count(batch, self.ledger.record(batch, [ItemResult(item.key, False, str(exc))]), None)
        return True

    def fail(self, batch: list[PushItem], reason: str) -> None:
        self.count(batch, self.ledger.record(batch, []), reason)
        self.problem("push_failed", reason)

    def defer(self, batch: list[PushItem], reason: str) -> None:
        if batch:
            self.ledger.defer(batch, reason)
            self.stats.deferred += len(batch)

    def count(self, batch: list[PushItem], failures: list[ItemResult], reason: str | None) -> None:
        skus = {item.key: item.sku for item in batch}
        self.stats.sent += len(batch) - len(failures)
        self.stats.failed += len(failures)
        for failure in failures:
            self.problem(
                "push_rejected",
                reason or failure.error or "rejected",
                sku=skus[failure.key],
                field=failure.key,
            )


def send(channel: Any, ledger: Ledger, stats: Any, report: RunReport, budget: Budget) -> None:
    """Every stream's batches in order; on a channel-level failure the rest is deferred."""
    state = _Batch(channel, ledger, stats, report)
    try:
        state.api = channel.open_api(budget)
    except ChannelError as exc:  # e.g. a service-account token that cannot be had
        state.problem("push_failed", str(exc))
        state.defer([item for item, _ in ledger.planned(done=False)], str(exc))
        return
    try:
        for stream, size in channel.batch_sizes().items():
            for batch in ledger.batches(stream, size):
                if stopping.requested():
                    _defer_rest(state, "not sent: the run was stopped by a signal")
                    return
                if not state.deliver(stream, batch):
                    _defer_rest(state, "not sent: the channel failed earlier in this run")
                    return
        ledger.forget()
    finally:
        state.api.close()


def _defer_rest(state: _Batch, reason: str) -> None:
    """What is still planned waits for the next run, reported once per channel."""
    state.defer([item for item, _ in state.ledger.planned(done=False)], reason)
    if not any(
        p.code == "push_deferred" and p.channel == state.channel.name for p in state.report.problems
    ):
        state.problem("push_deferred", f"{state.stats.deferred} items deferred to the next run")
