"""``omnisync orders pull``: every order-listing channel's orders into the central store.

Each pull reads from the stored cursor less an overlap window (a late write or a clock skew on
the channel's side must not lose an order) up to now; the first pull reads ``--since`` or the
last 30 days. Pages are stored one transaction each; the cursor moves in the transaction of the
last page, so a crash mid-pull re-reads the whole window next time — and re-reading is harmless,
because ingest is idempotent (``store.orders``).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Container, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from omnisync import faults, secrets, stopping
from omnisync.channels.capabilities import PullsOrders
from omnisync.config import Config
from omnisync.engine.keys import SortedKeys
from omnisync.errors import ChannelError, ExitCode, SourceUnavailable, UsageError
from omnisync.http import Budget
from omnisync.models import Problem, Severity
from omnisync.orders import acknowledge, exports, stockcheck
from omnisync.orders.model import OPEN_SQL, Order, Unreadable
from omnisync.pipeline import Run
from omnisync.report import RunReport
from omnisync.store import Store, alerts, runs, stored
from omnisync.store.orders import IngestStats, ingest, read_cursor

OVERLAP = timedelta(hours=2)
FIRST_PULL = timedelta(days=30)
MAX_REACH = timedelta(days=90)  # how far back open orders are re-read for status changes
STREAM = "orders"
log = logging.getLogger("omnisync")


@dataclass
class ChannelPull:
    channel: str
    account: str
    since: datetime
    until: datetime
    stats: IngestStats = field(default_factory=IngestStats)
    error: str | None = None
    acknowledged: int = 0
    ack_failed: int = 0  # tried again on the next pull
    unreadable: int = 0  # skipped; the cursor waits for them


@dataclass
class PullReport:
    run: RunReport
    pulls: list[ChannelPull]
    alerts: list[alerts.Alert] = field(default_factory=list)  # reported by this run

    @property
    def failed(self) -> bool:
        """A channel could not be read, an acknowledgement or an export failed (exit 3)."""
        exports = any(p.code == "export_failed" for p in self.run.problems)
        return exports or any(p.error or p.ack_failed for p in self.pulls)

    @property
    def exit_code(self) -> ExitCode:
        """3: a channel failed (read again next pull); 1: an order needs attention."""
        data = ExitCode.DATA if self.run.has_errors else ExitCode.OK
        return ExitCode.CHANNEL if self.failed else data


def pull(
    config: Config,
    only: Iterable[str] = (),
    since: datetime | None = None,
    now: datetime | None = None,
    budget: Budget | None = None,
    command: str = "orders pull",
    quiet: bool = False,
    dry_run: bool = False,
) -> PullReport:
    """``quiet`` (sync): channels that list no orders are skipped, not refused. ``dry_run``
    (sync --dry-run, on a scratch copy of the state): orders are read and stored, but nothing
    is acknowledged or exported. The alerts it reports (``report.alerts``) are reported again
    by every pull until the caller, its report out, calls ``mark_reported``."""
    run = Run(config, only, None, now)
    run.keep(pulls_orders, "lists no orders (add its API settings)" if only and not quiet else None)
    if not run.lanes:
        if quiet:
            return PullReport(run.report, [])
        raise UsageError("none of the channels lists orders: add API settings")
    for lane in run.lanes:  # before anything is acknowledged at any marketplace
        secrets.resolve(config.channels[lane.channel.name])
    if not dry_run:
        secrets.resolve(config.exports)
    known = _known_skus(run)
    budget = budget or Budget()
    report = PullReport(run.report, [])
    with runs.exclusive(config.state, command) as recorder:
        try:
            for lane in run.lanes:
                result = _pull(recorder.store, lane.channel, known, since, run, budget)
                report.pulls.append(result)
                if result.error is None and not dry_run:
                    _acknowledge(recorder.store, lane.channel, budget, result, run)
            _check_stock(run, recorder.store, known, report)
            _report(recorder.store, report)
            if not dry_run:
                exports.relay(config, recorder.store, budget, run.report)
            stopping.check("during the order pull; what was done is stored, the rest is next")
        finally:
            record(recorder, report)
    return report


class _Everything:
    def __contains__(self, sku: object) -> bool:
        return True


def _known_skus(run: Run) -> Container[str]:
    """The catalogue's SKUs, that order lines are matched against. Orders must be stored even
    while the central system (a database, an API) is down — an order not stored reserves no
    stock, and the next push would sell it again — so then every line's SKU is taken as it
    is, with a warning."""
    try:
        known = run.source.sku_set(lambda _: None)  # row problems are validate's to report
    except SourceUnavailable as exc:
        message = f"{exc}; orders are stored, their lines not checked against the catalogue"
        run.report.add(Problem(code="catalogue_unavailable", severity=Severity.WARNING,
                               field="catalog", message=message))  # fmt: skip
        return _Everything()
    return known


def _check_stock(run: Run, store: Store, known: Container[str], report: PullReport) -> None:
    """Oversells against a catalogue whose stock is not in the store (``stockcheck``); not
    while the catalogue is down (the orders wait for the next pull)."""
    if isinstance(known, _Everything):
        return
    pulls = {(p.channel, p.account): p for p in report.pulls}
    for (channel, account, _), sku in stockcheck.check(store, run.source):
        if (channel, account) in pulls:
            pulls[channel, account].stats.oversold.add(sku)


def pulls_orders(lane: Any) -> bool:
    return isinstance(lane.channel, PullsOrders) and bool(lane.channel.can_pull())


def record(recorder: runs.Recorder, report: PullReport) -> None:
    recorder.exit_code = report.exit_code
    recorder.problems.update(p.code for p in report.run.problems)
    for p in report.pulls:
        stats = p.stats
        counts = {
            "new": stats.new,
            "updated": stats.updated,
            "unchanged": stats.unchanged,
            "acknowledged": p.acknowledged,
            "needs_attention": len(stats.needs_attention),
        }
        ok = p.error is None and not p.ack_failed and not p.unreadable
        recorder.add(runs.Outcome(p.channel, p.account, "pull", ok, counts))


def _pull(
    store: Store,
    channel: Any,
    known: Container[str],
    since: datetime | None,
    run: Run,
    budget: Budget,
) -> ChannelPull:
    until = channel.context.now.astimezone(UTC)
    result = ChannelPull(channel.name, channel.account, _start(store, channel, since, until), until)
    resolve = _resolver(store, channel.name, channel.config.sku_map, known)
    cursor = (channel.name, channel.account, STREAM, until.isoformat(timespec="seconds"))
    # An unreadable order keeps the cursor where it is, so the next pull reads it again.
    try:
        api = channel.orders_api(budget)
        try:
            for listed, last in _with_last(channel.pull_orders(api, result.since, until)):
                stopping.check("between order pages; the pages read are stored")
                page = _readable(listed, channel.name, run.report)
                result.unreadable += len(listed) - len(page)
                moved = cursor if last and not result.unreadable else None
                kinds = run.config.exports.kinds()
                resolve.page(page)
                ingest(store, page, resolve, moved, result.stats, kinds)
        finally:
            api.close()
    except (ChannelError, ValueError, TypeError, KeyError, AttributeError, ArithmeticError) as exc:
        # A malformed answer stops this channel's pull (the cursor stays), not the run.
        message = (
            str(exc)
            if isinstance(exc, ChannelError)
            else f"{channel.name}: unexpected answer ({type(exc).__name__}: {exc})"
        )
        result.error = message
        run.report.add(Problem(code="pull_failed", channel=channel.name, message=message))
    return result


def _acknowledge(store: Store, channel: Any, budget: Budget, result: ChannelPull, run: Run) -> None:
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
    faults.point("ack.after_post")  # the next pull reads the new status: no second ack
    acknowledge.mark(store, channel.name, channel.account, done, target, run.config.exports.kinds())
    result.acknowledged, result.ack_failed = len(done), len(failed)
    for code, error in failed:
        run.report.add(
            Problem(
                code="ack_failed",
                channel=channel.name,
                field="status",
                message=f"order {code}: {error}; tried again on the next pull",
            )
        )


def _start(store: Store, channel: Any, since: datetime | None, until: datetime) -> datetime:
    """From the stored cursor less the overlap (the first pull: 30 days). The channels filter
    by creation time, so a later change (a cancellation) to an order created before the window
    would never be read: reach back to the oldest open order. Never more than 90 days unless
    ``--since`` says so: a cursor held back by an order that stays unreadable must not make
    every pull longer for ever (that order is reported on every pull meanwhile)."""
    stored = read_cursor(store, channel.name, channel.account, STREAM)
    start = since or (datetime.fromisoformat(stored) if stored else until - FIRST_PULL)
    start = min(start - OVERLAP, _oldest_open(store, channel, until))
    return start if since else max(start, until - MAX_REACH)


def _readable(listed: list[Any], channel: str, report: RunReport) -> list[Order]:
    for bad in (o for o in listed if isinstance(o, Unreadable)):
        report.add(
            Problem(
                code="order_unreadable",
                channel=channel,
                field=bad.ref,
                message=f"order {bad.ref} could not be read ({bad.reason}); "
                "skipped, and read again on the next pull",
            )
        )
    return [o for o in listed if isinstance(o, Order)]


def _oldest_open(store: Store, channel: Any, until: datetime) -> datetime:
    """Creation time of the oldest stored order still holding stock (at most 90 days back)."""
    oldest = store.db.execute(
        "SELECT min(created_at) FROM orders WHERE channel = ? AND account = ? AND status IN "
        f"{OPEN_SQL}",
        (channel.name, channel.account),
    ).fetchone()[0]
    floor = until - MAX_REACH
    return max(datetime.fromisoformat(oldest), floor) if oldest else until


def _with_last(pages: Iterator[list[Order]]) -> Iterator[tuple[list[Order], bool]]:
    """Each page and whether it is the last (the cursor goes with the last one)."""
    previous: list[Order] | None = None
    for page in pages:
        if previous is not None:
            yield previous, False
        previous = page
    yield (previous or []), True


def _resolver(
    store: Store, channel: str, configured: dict[str, str], known: Container[str]
) -> _Resolver:
    rows = store.db.execute("SELECT channel_sku, sku FROM sku_map WHERE channel = ?", (channel,))
    return _Resolver({**dict(rows.fetchall()), **configured}, known)


class _Resolver:
    """Channel SKU → central SKU: the channel's ``sku_map`` setting, then the store's
    ``sku_map`` table, else the same code; None when the catalogue has no such SKU (the order
    needs attention). ``page``: a page's lines looked up at once in a catalogue the engine
    holds (``SortedKeys.among``)."""

    def __init__(self, mapping: dict[str, str], known: Container[str]) -> None:
        self.mapping, self.known = mapping, known
        self.found: set[str] | None = None

    def page(self, orders: list[Any]) -> None:
        if isinstance(self.known, SortedKeys):
            codes = (line.channel_sku for order in orders for line in order.lines)
            self.found = self.known.among(self.mapping.get(code, code) for code in codes)

    def __call__(self, code: str) -> str | None:
        sku = self.mapping.get(code, code)
        if self.found is not None and sku in self.found:
            return sku
        return sku if sku in self.known else None  # not on the page looked up: ask the whole


def _report(store: Store, report: PullReport) -> None:
    """Every alert of the pulled channels that no finished run has reported — this pull's, and
    those of a run killed before it could report them (``store.alerts``)."""
    for p in report.pulls:
        found = alerts.unreported(store, p.channel, p.account)
        report.alerts += found
        unknown = [a for a in found if a.code == alerts.UNKNOWN_SKU]
        for a in unknown:
            report.run.add(
                Problem(
                    code=alerts.UNKNOWN_SKU,
                    channel=p.channel,
                    sku=a.sku,
                    field="sku",
                    message=f"order {a.order}: the channel's SKU {a.sku} matches no product; "
                    "the order needs attention (map it in sku_map or fix the catalogue)",
                )
            )
        oversold: dict[str, list[str]] = {}
        for a in found:
            if a.code == alerts.OVERSELL:
                oversold.setdefault(a.sku, []).append(a.order)
        for sku, orders in oversold.items():
            report.run.add(
                Problem(
                    code=alerts.OVERSELL,
                    channel=p.channel,
                    sku=sku,
                    field="stock",
                    message="open orders reserve more than is on hand; flagged oversell: "
                    f"order {', '.join(orders)}",
                )
            )


def log_alerts(report: PullReport) -> None:
    """Each alert of the report on a line of its own, naming channel, order and SKU, at error
    level (``--quiet`` keeps errors): a quiet run prints no report, and the mail cron sends on
    trouble must name the orders to look at before ``mark_reported`` says they were told."""
    for a in report.alerts:
        what = "matches no product" if a.code == alerts.UNKNOWN_SKU else "is oversold"
        log.error("%s order %s: SKU %s %s (%s)", a.channel, a.order, a.sku, what, a.code, extra={
            "event": "order_alert", "code": a.code, "channel": a.channel, "account": a.account,
            "order": a.order, "sku": a.sku,
        })  # fmt: skip


def mark_reported(state: Path, report: PullReport) -> None:
    """The CLI's last step, once the report is out: its alerts are not reported again. Not
    marked (a locked or unwritable state) only means the next pull reports them once more."""
    if not report.alerts:
        return
    try:
        with stored(state) as store:
            alerts.mark_reported(store, report.alerts)
    except (OSError, sqlite3.Error) as exc:
        log.warning("the alerts reported are not marked so (%s); the next pull reports them "
                    "again", exc)  # fmt: skip
