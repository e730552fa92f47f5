"""``omnisync orders …``: pull, list, board, ship, cancel."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from omnisync import console, report
from omnisync.cli_common import (
    EXIT_CODES,
    BuildFormat,
    ChannelOpt,
    ConfigOpt,
    DebugOpt,
    LogFormatOpt,
    MetricsOpt,
    QuietOpt,
    SinceOpt,
    conclude,
    guard,
    metrics_after,
    stdout,
    utc,
)  # fmt: skip
from omnisync.config import load_config
from omnisync.logs import visible
from omnisync.orders import fulfil
from omnisync.orders import pull as orders_pull_api
from omnisync.store.order_views import list_orders, pickup_board

orders_app = typer.Typer(help="Marketplace orders in the central store.", no_args_is_help=True)


@orders_app.command("pull", epilog=EXIT_CODES)
def orders_pull(
    config: ConfigOpt,
    channel: ChannelOpt = None,
    since: SinceOpt = None,
    format: Annotated[BuildFormat, typer.Option("--format", "-f")] = BuildFormat.text,
    debug: DebugOpt = False,
    log_format: LogFormatOpt = None,
    quiet: QuietOpt = False,
    metrics_file: MetricsOpt = None,
) -> None:
    """Pull orders from every order-listing channel into the central store, effectively once,
    and reserve their stock. Exit 3 when a channel could not be read or an acknowledgement
    failed (both retried by the next pull), 1 when an order needs attention (unknown SKU,
    unreadable, oversold)."""
    with guard(debug, log_format, quiet):
        cfg = load_config(config)
        metrics_after(metrics_file, cfg.state)
        result = orders_pull_api.pull(cfg, channel or (), since=utc(since))
        if format is BuildFormat.json:
            sys.stdout.write(report.pull_json(result) + "\n")
        else:
            console.render_pull(result, stdout())
            if quiet:  # no report: the mail cron sends must still name each order
                orders_pull_api.log_alerts(result)
        conclude(result.exit_code, result.run.problems)
        # Told (written and flushed; a failed write never gets here): not again. Killed right
        # before this, the next pull tells them once more — twice, never none.
        orders_pull_api.mark_reported(cfg.state, result)
        raise typer.Exit(result.exit_code)


@orders_app.command("list")
def orders_list(
    config: ConfigOpt,
    status: Annotated[str | None, typer.Option("--status", help="Only this status.")] = None,
    channel: Annotated[str | None, typer.Option("--channel", metavar="NAME")] = None,
    format: Annotated[BuildFormat, typer.Option("--format", "-f")] = BuildFormat.text,
    debug: DebugOpt = False,
) -> None:
    """The stored orders with their lines and flags (needs_attention, oversell)."""
    with guard(debug):
        orders = list_orders(load_config(config).state, status, channel)
        if format is BuildFormat.json:
            sys.stdout.write(report.dump(orders) + "\n")
        else:
            console.render_orders(orders, stdout())


@orders_app.command("board")
def orders_board(
    config: ConfigOpt,
    store: Annotated[
        str, typer.Option("--store", help="Location code of the store.", metavar="CODE")
    ],
    format: Annotated[BuildFormat, typer.Option("--format", "-f")] = BuildFormat.text,
    debug: DebugOpt = False,
) -> None:
    """Click and collect: the open orders buyers will collect in this store, oldest first."""
    with guard(debug):
        orders = pickup_board(load_config(config).state, store)
        if format is BuildFormat.json:
            sys.stdout.write(report.dump({"store": store, "orders": orders}) + "\n")
        else:
            console.render_orders(orders, stdout())


@orders_app.command("ship", epilog=EXIT_CODES)
def orders_ship(
    config: ConfigOpt,
    order: Annotated[str, typer.Argument(help="The order's code or external id.")],
    tracking: Annotated[str, typer.Option("--tracking", help="The tracking number.")],
    carrier: Annotated[str | None, typer.Option("--carrier", help="The carrier's name.")] = None,
    channel: Annotated[str | None, typer.Option("--channel", metavar="NAME")] = None,
    code: Annotated[
        str | None,
        typer.Option("--code", help="Kaspi: the buyer's SMS code that completes the order."),
    ] = None,
    debug: DebugOpt = False,
) -> None:
    """Tell the channel the order is shipped (Ozon ship, + tracking number on rFBS, Satu delivered,
    Kaspi completed with the buyer's SMS code)."""
    with guard(debug):
        outcome = fulfil.ship(load_config(config), order, tracking, carrier, channel, code)
        _say_fulfilled(outcome)


@orders_app.command("cancel", epilog=EXIT_CODES)
def orders_cancel(
    config: ConfigOpt,
    order: Annotated[str, typer.Argument(help="The order's code or external id.")],
    reason: Annotated[str, typer.Option("--reason", help="buyer, unreachable or out_of_stock")],
    channel: Annotated[str | None, typer.Option("--channel", metavar="NAME")] = None,
    debug: DebugOpt = False,
) -> None:
    """Cancel the order on its channel and release its reserved stock."""
    with guard(debug):
        _say_fulfilled(fulfil.cancel(load_config(config), order, reason, channel))


def _say_fulfilled(outcome: Any) -> None:
    already = "" if outcome.called else " (it already was; nothing sent)"
    typer.echo(visible(f"{outcome.channel} order {outcome.code}: {outcome.status}{already}"))
