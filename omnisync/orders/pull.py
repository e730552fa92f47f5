"""``omnisync orders pull``: every order-listing channel's orders into the central store.

Each pull reads from the stored cursor less an overlap window (a late write or a clock skew on
the channel's side must not lose an order) up to now; the first pull reads ``--since`` or the
last 30 days. Pages are stored one transaction each; the cursor moves in the transaction of the
last page, so a crash mid-pull re-reads the whole window next time — and re-reading is harmless,
because ingest is idempotent (``store.orders``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from omnisync.channels.base import PullsOrders
from omnisync.config import Config
from omnisync.errors import ChannelError, UsageError
from omnisync.http import Budget
from omnisync.models import Problem
from omnisync.orders import acknowledge, exports
from omnisync.orders.model import Order
from omnisync.pipeline import Run
from omnisync.report import RunReport
from omnisync.store import Store, open_store, runs
from omnisync.store.orders import IngestStats, ingest, read_cursor

OVERLAP = timedelta(hours=2)
FIRST_PULL = timedelta(days=30)
STREAM = "orders"


@dataclass
class ChannelPull:
    channel: str
    account: str
    since: datetime
    until: datetime
    stats: IngestStats = field(default_factory=IngestStats)
    error: str | None = None
    acknowledged: int = 0


@dataclass
class PullReport:
    run: RunReport
    pulls: list[ChannelPull]

    @property
    def failed(self) -> bool:
        return any(p.error for p in self.pulls)


def pull(
    config: Config,
    only: Iterable[str] = (),
    since: datetime | None = None,
    now: datetime | None = None,
    budget: Budget | None = None,
) -> PullReport:
    run = Run(config, only, None, now)
    run.keep(
        lambda lane: isinstance(lane.channel, PullsOrders) and lane.channel.can_pull(),
        "lists no orders (add its API settings)" if only else None,
    )
    if not run.lanes:
        raise UsageError("none of the channels lists orders: add API settings")
    known = {product.sku for product in run.source.read(lambda _: None)}  # validate reports
    store = open_store(config.state)
    run_id = runs.start(store, "orders pull")
    budget = budget or Budget()
    try:
        pulls = [_pull(store, lane.channel, known, since, run, budget) for lane in run.lanes]
        exports.relay(config, store, budget, run.report)
    finally:
        report = PullReport(run.report, pulls)
        runs.finish(
            store,
            run_id,
            3 if report.failed else 0,
            {p.channel: {"new": p.stats.new, "updated": p.stats.updated} for p in pulls},
        )
        store.close()
    return report


def _pull(
    store: Store, channel: Any, known: set[str], since: datetime | None, run: Run, budget: Budget
) -> ChannelPull:
    until = channel.context.now.astimezone(UTC)
    stored = read_cursor(store, channel.name, channel.account, STREAM)
    start = since or (datetime.fromisoformat(stored) if stored else until - FIRST_PULL)
    result = ChannelPull(channel.name, channel.account, start - OVERLAP, until)
    resolve = _resolver(store, channel.name, channel.config.sku_map, known)
    cursor = (channel.name, channel.account, STREAM, until.isoformat(timespec="seconds"))
    try:
        api = channel.orders_api(budget)
        try:
            for page, last in _with_last(channel.pull_orders(api, result.since, until)):
                ingest(
                    store,
                    page,
                    resolve,
                    cursor if last else None,
                    result.stats,
                    run.config.exports.kinds(),
                )
        finally:
            api.close()
    except ChannelError as exc:
        result.error = str(exc)
        run.report.add(Problem(code="pull_failed", channel=channel.name, message=str(exc)))
    _report(run.report, channel.name, result.stats)
    if result.error is None:
        _acknowledge(store, channel, budget, result, run.report)
    return result


def _acknowledge(
    store: Store, channel: Any, budget: Budget, result: ChannelPull, report: RunReport
) -> None:
    """Kaspi and Satu orders are acknowledged once stored; Ozon postings need no accept."""
    kind = channel.config.type
    if kind not in ("kaspi", "satu"):
        return
    ack = acknowledge.kaspi if kind == "kaspi" else acknowledge.satu
    source = acknowledge.KASPI_FROM if kind == "kaspi" else acknowledge.SATU_FROM
    target = acknowledge.KASPI_TO if kind == "kaspi" else acknowledge.SATU_TO
    waiting = acknowledge.pending(store, channel.name, channel.account, source)
    if not waiting:
        return
    api = channel.orders_api(budget)
    try:
        done, failed = ack(api, waiting)
    finally:
        api.close()
    acknowledge.mark(store, channel.name, channel.account, done, target)
    result.acknowledged = len(done)
    for code, error in failed:
        report.add(
            Problem(
                code="ack_failed",
                channel=channel.name,
                field="status",
                message=f"order {code}: {error}; tried again on the next pull",
            )
        )


def _with_last(pages: Iterator[list[Order]]) -> Iterator[tuple[list[Order], bool]]:
    """Each page and whether it is the last (the cursor goes with the last one)."""
    previous: list[Order] | None = None
    for page in pages:
        if previous is not None:
            yield previous, False
        previous = page
    yield (previous or []), True


def _resolver(store: Store, channel: str, configured: dict[str, str], known: set[str]) -> Any:
    """Channel SKU → central SKU: the channel's ``sku_map`` setting, then the store's
    ``sku_map`` table, else the same code; None when the catalogue has no such SKU (the order
    needs attention)."""
    rows = store.db.execute("SELECT channel_sku, sku FROM sku_map WHERE channel = ?", (channel,))
    mapping = {**dict(rows.fetchall()), **configured}

    def resolve(code: str) -> str | None:
        sku = mapping.get(code, code)
        return sku if sku in known else None

    return resolve


def _report(report: RunReport, channel: str, stats: IngestStats) -> None:
    for order, code in stats.needs_attention:
        report.add(
            Problem(
                code="unknown_sku",
                channel=channel,
                sku=code,
                field="sku",
                message=f"order {order}: the channel's SKU {code} matches no product; "
                "the order needs attention (map it in sku_map or fix the "
                "catalogue)",
            )
        )
    for sku in sorted(stats.oversold):
        report.add(
            Problem(
                code="oversell",
                channel=channel,
                sku=sku,
                field="stock",
                message="open orders reserve more than is on hand",
            )
        )
