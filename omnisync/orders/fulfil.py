"""Fulfilment back to the channel: ``orders ship`` and ``orders cancel`` (channels.md §2.2, §3.2,
§4.5). Status changes are not idempotent: the stored status (refreshed by every pull) is read
first, an order already in the target state is left alone, and a channel answer that says so
counts as done. The stored order follows: shipped keeps its reservation, cancelled releases it.
"""

from __future__ import annotations

import contextlib
import reprlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from omnisync.channels.base import ChannelContext
from omnisync.channels.registry import lookup
from omnisync.channels.satu_orders import set_status_verdicts
from omnisync.config import Config
from omnisync.errors import ChannelError, ChannelRejected, UsageError
from omnisync.http import Budget
from omnisync.store import open_store, runs
from omnisync.store.order_views import list_orders
from omnisync.store.orders import outbox_stored

KASPI_REASONS = {"buyer": "BUYER_CANCELLATION_BY_MERCHANT", "unreachable": "BUYER_NOT_REACHABLE",
                 "out_of_stock": "MERCHANT_OUT_OF_STOCK"}  # fmt: skip
SATU_REASONS = {"buyer": "buyers_request", "unreachable": "invalid_phone_number",
                "out_of_stock": "not_available"}  # fmt: skip
# Ozon's cancel_reason_id (docs.ozon.ru/api/seller/ #operation/PostingAPI_CancelFbsPosting, ids
# as /v2/posting/fbs/cancel-reason/list gives them): 352 "out of stock at the seller's
# warehouse", 400 "only defective items left", 401 "seller declined arbitration", 402 "other
# (the seller's fault)", which needs cancel_reason_message; 665-667 are the buyer's and the
# carrier's. No seller reason says "the buyer asked" or "cannot reach the buyer": those go as
# 402 with the reason in words, which Ozon takes (and counts against the seller, as any 402).
OZON_REASONS = {"out_of_stock": (352, "out of stock"),
                "buyer": (402, "the buyer asked to cancel the order"),
                "unreachable": (402, "the buyer cannot be reached")}  # fmt: skip
REASONS = tuple(KASPI_REASONS)
# rFBS only: the method is in the seller API's "Delivery rFBS" section (docs.ozon.ru/api/seller/
# #operation/PostingAPI_FbsPostingTrackingNumberSet); on an FBS posting Ozon delivers and
# tracks it itself (channels.md §4.5 and its notes).
OZON_TRACKING = "/v2/fbs/posting/tracking-number/set"
OZON_POSTING = "/v3/posting/fbs/get"  # one posting, with its tracking_number (channels.md §4.4)


class TrackingNotSet(ChannelError):
    """The ship went through and is recorded; the tracking number that follows it did not."""

    hint = "run the same orders ship command again to set it (the order is not shipped twice)"


@dataclass
class Outcome:
    channel: str
    code: str
    status: str
    called: bool  # False: the order was already there


def ship(
    config: Config,
    ref: str,
    tracking: str,
    carrier: str | None = None,
    only: str | None = None,
    code: str | None = None,
) -> Outcome:
    """Ship (or, Kaspi, complete) under the run lock: a sync acknowledging the same order
    meanwhile would otherwise overwrite what this call stores (exit 4 while one runs)."""
    with runs.exclusive(config.state, "orders ship"):
        return _ship(config, ref, tracking, only, code)


def _ship(config: Config, ref: str, tracking: str, only: str | None, code: str | None) -> Outcome:
    order, channel = _find(config, ref, only)
    tracks = _tracks(channel, order, tracking)
    if order["status"] in ("shipped", "delivered"):
        # Shipped already: only a tracking number Ozon does not have yet (one that failed
        # after the ship, or a new one) is sent.
        sent = order["status"] == "shipped" and tracks and _set_tracking(channel, order, tracking)
        return Outcome(channel.name, order["code"], order["status"], sent)
    _require_open(order)
    api = channel.orders_api(Budget())
    try:
        _call("ship", channel, lambda: _SHIP[channel.config.type](api, order, tracking, code))
    finally:
        api.close()
    status = "delivered" if channel.config.type == "kaspi" else "shipped"  # Kaspi: completed
    # Recorded as soon as the channel took it: whatever follows, a retry must not ship again.
    _store_status(config, order, status, release=False)
    if tracks:
        _set_tracking(channel, order, tracking, known="")
    return Outcome(channel.name, order["code"], status, True)


def _tracks(channel: Any, order: dict[str, Any], tracking: str) -> bool:
    """A tracking number goes to Ozon's rFBS postings only (``ozon_orders``: delivery_mode)."""
    rfbs = channel.config.type == "ozon" and order["delivery_mode"] == "rfbs"
    return rfbs and bool(tracking)


def _set_tracking(
    channel: Any, order: dict[str, Any], tracking: str, known: str | None = None
) -> bool:
    """Set the posting's tracking number unless it has it (``known``: the number it has; None:
    ask Ozon). True when it was sent."""
    api = channel.orders_api(Budget())
    try:
        if (_ozon_tracking_number(api, order) if known is None else known) == tracking:
            return False
        _ozon_set_tracking(api, order, tracking)
        return True
    except ChannelError as exc:
        raise TrackingNotSet(
            channel.name,
            f"order {order['code']} is shipped (recorded), but tracking number {tracking!r} "
            f"was not set: {exc}",
        ) from exc
    finally:
        api.close()


def cancel(config: Config, ref: str, reason: str, only: str | None = None) -> Outcome:
    """Cancel under the run lock (see ``ship``); the reserved stock is released."""
    if reason not in REASONS:
        raise UsageError(f"--reason must be one of {', '.join(REASONS)}")
    with runs.exclusive(config.state, "orders cancel"):
        return _cancel(config, ref, reason, only)


def _cancel(config: Config, ref: str, reason: str, only: str | None) -> Outcome:
    order, channel = _find(config, ref, only)
    if order["status"] == "cancelled":
        return Outcome(channel.name, order["code"], "cancelled", False)
    _require_open(order)
    api = channel.orders_api(Budget())
    try:
        _call("cancel", channel, lambda: _CANCEL[channel.config.type](api, order, reason))
    finally:
        api.close()
    _store_status(config, order, "cancelled", release=True)
    return Outcome(channel.name, order["code"], "cancelled", True)


def _find(config: Config, ref: str, only: str | None) -> tuple[dict[str, Any], Any]:
    found = [
        o for o in list_orders(config.state, channel=only) if ref in (o["code"], o["external_id"])
    ]
    if not found:
        raise UsageError(f"no stored order {ref!r}; run omnisync orders pull first")
    if len({o["channel"] for o in found}) > 1:
        raise UsageError(f"order {ref!r} is on several channels; name one with --channel")
    order = found[0]
    settings = config.channels[order["channel"]]
    context = ChannelContext(locations={}, now=datetime.now(UTC))
    return order, lookup(settings.type)(order["channel"], settings, context)


def _require_open(order: dict[str, Any]) -> None:
    if order["status"] in ("delivered", "cancelled"):
        raise UsageError(f"order {order['code']} is {order['status']}; nothing to do")


# The channel's word for the state each call reaches: a refusal saying the order "already" is
# there means someone did it first. Any other "already" (a posting already cancelled, when
# shipping) is a refusal like any other: storing the wrong state would free or keep stock.
REACHED = {
    ("ship", "kaspi"): "completed", ("ship", "satu"): "delivered", ("ship", "ozon"): "shipped",
    ("cancel", "kaspi"): "cancelled", ("cancel", "satu"): "canceled", ("cancel", "ozon"): "cancel",
}  # fmt: skip


def _call(op: str, channel: Any, action: Any) -> None:
    try:
        action()
    except ChannelRejected as exc:
        said, target = str(exc).lower(), REACHED[op, channel.config.type]
        other_state = op == "ship" and "cancel" in said
        if "already" not in said or target not in said or other_state:
            raise


def _store_status(config: Config, order: dict[str, Any], status: str, release: bool) -> None:
    store = open_store(config.state)
    key = (order["channel"], order["account"], order["external_id"])
    try:
        with store.transaction() as db:
            now = datetime.now(UTC).isoformat(timespec="seconds")
            db.execute(
                "UPDATE orders SET status = ?, status_changed_at = ? WHERE channel = ? AND "
                "account = ? AND external_id = ?",
                (status, now, *key),
            )
            outbox_stored(db, key, config.exports.kinds())
            if release:
                db.execute(
                    "DELETE FROM reservations WHERE channel = ? AND account = ? AND order_id = ?",
                    key,
                )
    finally:
        store.close()


def _ozon_ship(api: Any, order: dict[str, Any], tracking: str, code: str | None) -> None:
    number = order["external_id"]
    # product_id is Ozon's id of the item (the posting's products[].sku), kept since the pull.
    products = [
        {"product_id": int(line["channel_item"] or 0), "quantity": line["quantity"]}
        for line in order["lines"]
    ]
    api.request(
        "POST",
        "/v4/posting/fbs/ship",
        idempotent=False,
        json={"posting_number": number, "packages": [{"products": products}]},
    )


def _ozon_tracking_number(api: Any, order: dict[str, Any]) -> str:
    """The tracking number Ozon has for the posting ("" for none)."""
    answer = api.json("POST", OZON_POSTING, json={"posting_number": order["external_id"]})
    found = answer.get("result") if isinstance(answer, Mapping) else None
    return str(found.get("tracking_number") or "") if isinstance(found, Mapping) else ""


def _ozon_set_tracking(api: Any, order: dict[str, Any], tracking: str) -> None:
    """Setting the same number again changes nothing, so it may be retried. The answer is 200
    with a verdict per posting (``result``, ``error[]``): a refusal is one of those."""
    number = order["external_id"]
    entry = {"posting_number": number, "tracking_number": tracking}
    answer = api.json("POST", OZON_TRACKING, json={"tracking_numbers": [entry]})
    found = answer.get("result") if isinstance(answer, Mapping) else None
    verdicts = found if isinstance(found, list) else []
    verdict = next(
        (v for v in verdicts if isinstance(v, Mapping) and v.get("posting_number") == number),
        None,
    )
    errors = verdict.get("error") if verdict else None
    if verdict is None or verdict.get("result") is not True or errors:
        said = "; ".join(map(str, errors)) if isinstance(errors, list) else reprlib.repr(errors)
        raise ChannelRejected("ozon", f"posting {number}: {said if errors else 'not set'}")


def _kaspi_ship(api: Any, order: dict[str, Any], tracking: str, code: str | None) -> None:
    """Kaspi completes an order with the code the buyer receives by SMS (§2.2): without
    ``--code`` ask Kaspi to send it, then run again with it."""
    attributes = {"code": order["code"], "status": "COMPLETED"}
    body = {"data": {"type": "orders", "id": order["external_id"], "attributes": attributes}}
    if not code:
        send_code = {"X-Security-Code": "", "X-Send-Code": "true"}
        with contextlib.suppress(ChannelRejected):  # refused by design: it triggers the SMS
            api.request("POST", "/orders", idempotent=False, json=body, headers=send_code)
        raise UsageError(
            f"Kaspi sent the buyer of order {order['code']} a code; run again with --code CODE"
        )
    api.request("POST", "/orders", idempotent=False, json=body, headers={"X-Security-Code": code})


def _satu_ship(api: Any, order: dict[str, Any], tracking: str, code: str | None) -> None:
    _satu_status(api, order, {"status": "delivered"})


def _satu_status(api: Any, order: dict[str, Any], body: dict[str, Any]) -> None:
    """set_status answers 200 with per-order errors (§3.2): the order must be processed."""
    external = order["external_id"]
    answer = api.json(
        "POST", "/api/v1/orders/set_status", idempotent=False, json={**body, "ids": [int(external)]}
    )
    processed, errors = set_status_verdicts(answer)
    if external not in processed:
        error = errors.get(external, "not processed")
        raise ChannelRejected("satu", f"order {order['code']}: {error}", 400)


def _ozon_cancel(api: Any, order: dict[str, Any], reason: str) -> None:
    reason_id, words = OZON_REASONS[reason]
    api.request(
        "POST",
        "/v2/posting/fbs/cancel",
        idempotent=False,
        json={
            "posting_number": order["external_id"],
            "cancel_reason_id": reason_id,
            "cancel_reason_message": words,
        },
    )


def _kaspi_cancel(api: Any, order: dict[str, Any], reason: str) -> None:
    attributes = {
        "code": order["code"],
        "status": "CANCELLED",
        "cancellationReason": KASPI_REASONS[reason],
    }
    api.request(
        "POST",
        "/orders",
        idempotent=False,
        json={"data": {"type": "orders", "id": order["external_id"], "attributes": attributes}},
    )


def _satu_cancel(api: Any, order: dict[str, Any], reason: str) -> None:
    _satu_status(api, order, {"status": "canceled", "cancellation_reason": SATU_REASONS[reason]})


_SHIP: dict[str, Callable[[Any, dict[str, Any], str, str | None], None]] = {
    "ozon": _ozon_ship,
    "kaspi": _kaspi_ship,
    "satu": _satu_ship,
}
_CANCEL: dict[str, Callable[[Any, dict[str, Any], str], None]] = {
    "ozon": _ozon_cancel,
    "kaspi": _kaspi_cancel,
    "satu": _satu_cancel,
}
