"""Marketplace order endpoints over the seeded orders (channels.md §2.2, §3.2, §4.4).

Kaspi ``GET/POST /shop/api/v2/orders`` (JSON:API, page[number]/page[size], 14-day creationDate
windows, status changes with the documented transitions), Ozon ``POST /v4/posting/fbs/list``
(cursor pages) and Satu ``GET /api/v1/orders/list`` (``last_id`` pages, newest first) with ``POST
/api/v1/orders/set_status``. The orders live in the sandbox state, seeded on first use (so
``POST /_sandbox/reset`` reseeds them); status changes update them and move their update time.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from omnisync.sandbox.common import Answer, bearer, error, missing_auth
from omnisync.sandbox.orders_seed import (
    ALMATY,
    from_ms,
    held,
    kaspi_entry,
    kaspi_resource,
    moment,
    touch,
)

if TYPE_CHECKING:
    from omnisync.sandbox.server import Request, State

KASPI_PAGE, KASPI_WINDOW_MS = 100, 14 * 24 * 3600 * 1000
KASPI_STATES = {"NEW", "SIGN_REQUIRED", "PICKUP", "DELIVERY", "KASPI_DELIVERY", "ARCHIVE"}
KASPI_FROM = {  # target status → the statuses it may be set from (§2.2)
    "ACCEPTED_BY_MERCHANT": {"APPROVED_BY_BANK"},
    "CANCELLED": {"APPROVED_BY_BANK", "ACCEPTED_BY_MERCHANT"},
    "COMPLETED": {"ACCEPTED_BY_MERCHANT"},
}
KASPI_REASONS = {"BUYER_CANCELLATION_BY_MERCHANT", "BUYER_NOT_REACHABLE", "MERCHANT_OUT_OF_STOCK"}
KASPI_FILTERS = {"status": "status", "code": "code", "deliveryType": "deliveryMode"}
JSON_API = {"Content-Type": "application/vnd.api+json"}
OZON_PAGE, OZON_RANGE = 100, timedelta(days=366)
SATU_PAGE, SATU_SETTABLE = 100, {"received", "delivered", "paid"}
SATU_STATUSES = {"pending", "received", "delivered", "canceled", "draft", "paid"}


def one(request: Request, name: str) -> str | None:
    values = request.query.get(name)
    return values[0] if values else None


def integer(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# --- Kaspi ---------------------------------------------------------------------------------


def kaspi_error(status: int, title: str) -> Answer:
    return status, {"errors": [{"status": str(status), "title": title}]}, JSON_API


def kaspi_list(state: State, request: Request) -> Answer:
    if not request.headers.get("x-auth-token", "").strip():
        return kaspi_error(401, "X-Auth-Token is required")
    query = _kaspi_query(request)
    if isinstance(query, tuple):
        return query
    found = [r for r in held(state, "orders_kaspi").values() if _kaspi_match(r, query)]
    found.sort(key=lambda r: (r["attributes"]["creationDate"], r["id"]))
    size, number = query["size"], query["number"]
    page = found[number * size : (number + 1) * size]
    body: dict[str, Any] = {"data": [kaspi_resource(r) for r in page], "included": [],
                            "meta": {"pageCount": math.ceil(len(found) / size),
                                     "totalCount": len(found)}}  # fmt: skip
    if "entries" in (one(request, "include[orders]") or "").split(","):
        body["included"] = [kaspi_entry(r, e) for r in page for e in r["entries"]]
    return 200, body, JSON_API


def _kaspi_query(request: Request) -> dict[str, Any] | Answer:
    number, size = integer(one(request, "page[number]")), integer(one(request, "page[size]"))
    if number is None or size is None or number < 0 or not 1 <= size <= KASPI_PAGE:
        return kaspi_error(400, f"page[number] (from 0) and page[size] (1-{KASPI_PAGE}) required")
    order_state = one(request, "filter[orders][state]")
    if order_state not in KASPI_STATES:
        return kaspi_error(400, f"filter[orders][state] must be one of {sorted(KASPI_STATES)}")
    window = _kaspi_window(request)
    if isinstance(window, tuple):
        return window
    extra = {attr: one(request, f"filter[orders][{name}]") for name, attr in KASPI_FILTERS.items()}
    return {"number": number, "size": size, "state": order_state, **window,
            "extra": {attr: value for attr, value in extra.items() if value}}  # fmt: skip


def _kaspi_window(request: Request) -> dict[str, int] | Answer:
    since = integer(one(request, "filter[orders][creationDate][$ge]"))
    raw_until = one(request, "filter[orders][creationDate][$le]")
    until = int(time.time() * 1000) if raw_until is None else integer(raw_until)
    if since is None or until is None:
        return kaspi_error(400, "filter[orders][creationDate][$ge] (ms epoch) is required")
    if until < since:
        return kaspi_error(400, "creationDate: $le is before $ge")
    if until - since > KASPI_WINDOW_MS:
        return kaspi_error(400, "creationDate window must be at most 14 days")
    return {"since": since, "until": until}


def _kaspi_match(record: dict[str, Any], query: dict[str, Any]) -> bool:
    attributes = record["attributes"]
    return (
        attributes["state"] == query["state"]
        and query["since"] <= attributes["creationDate"] <= query["until"]
        and all(attributes[attr] == value for attr, value in query["extra"].items())
    )


def attempted(state: State, channel: str, order_id: Any, status: Any) -> None:
    """Every status change asked for, refused or not: tests count them (status changes are
    not idempotent, so a second acknowledgement is a bug even when the channel refuses it)."""
    state.data.setdefault("status_calls", []).append([channel, str(order_id), status])


def kaspi_set_status(state: State, request: Request) -> Answer:
    if not request.headers.get("x-auth-token", "").strip():
        return kaspi_error(401, "X-Auth-Token is required")
    data = request.body.get("data") if isinstance(request.body, dict) else None
    if not isinstance(data, dict) or data.get("type") != "orders":
        return kaspi_error(400, 'the body must be {"data": {"type": "orders", ...}}')
    record = held(state, "orders_kaspi").get(str(data.get("id")))
    wanted = data.get("attributes")
    wanted = wanted if isinstance(wanted, dict) else {}
    attempted(state, "kaspi", data.get("id"), wanted.get("status"))
    if record is None or wanted.get("code") != record["attributes"]["code"]:
        return kaspi_error(404, f"Order {data.get('id')} with code {wanted.get('code')} not found")
    refusal = _kaspi_refusal(record["attributes"], wanted, request)
    if refusal:
        return kaspi_error(400, refusal)
    _kaspi_apply(record, wanted)
    return 200, {"data": kaspi_resource(record)}, JSON_API


def _kaspi_refusal(current: dict[str, Any], wanted: dict[str, Any], request: Request) -> str | None:
    status, target = current["status"], wanted.get("status")
    if target not in KASPI_FROM:
        return f"status must be one of {sorted(KASPI_FROM)}"
    if status == target:
        return f"Order already has status {target}, so it can't be set again."
    if target == "COMPLETED" and status == "CANCELLED":
        return "Order is cancelled, so it can't be completed."
    if status not in KASPI_FROM[target]:
        return f"Order has status {status}, so it can't be changed to {target}."
    if target == "CANCELLED" and wanted.get("cancellationReason") not in KASPI_REASONS:
        return f"cancellationReason must be one of {sorted(KASPI_REASONS)}"
    if target == "COMPLETED" and not request.headers.get("x-security-code", "").strip():
        return "Security code is not valid. And the order cannot be completed without it"
    return None


def _kaspi_apply(record: dict[str, Any], wanted: dict[str, Any]) -> None:
    attributes, target = record["attributes"], wanted["status"]
    attributes["status"] = target
    if target == "ACCEPTED_BY_MERCHANT":  # the order leaves NEW for where it now lives
        pickup = attributes["deliveryMode"] == "DELIVERY_PICKUP"
        kaspi = "KASPI_DELIVERY" if attributes["isKaspiDelivery"] else "DELIVERY"
        attributes["state"] = "PICKUP" if pickup else kaspi
    else:
        attributes["state"] = "ARCHIVE"
    if target == "CANCELLED":
        attributes["cancellationReason"] = wanted["cancellationReason"]
    touch(record)


# --- Ozon ----------------------------------------------------------------------------------


def ozon_error(message: str) -> Answer:
    return 400, {"code": 3, "message": message, "details": []}, {}


def ozon_list(state: State, request: Request) -> Answer:
    denied = missing_auth(request.headers, "Client-Id", "Api-Key")
    if denied:
        return denied
    query = _ozon_query(request.body if isinstance(request.body, dict) else {})
    if isinstance(query, tuple):
        return query
    raw, after, limit = query["filter"], query["after"], query["limit"]
    window = _ozon_filter(raw)
    if isinstance(window, tuple):
        return window
    found = [r["posting"] for r in held(state, "orders_ozon").values() if window(r)]
    found.sort(key=_ozon_key)
    rest = [p for p in found if after is None or _ozon_key(p) > after]
    page, has_next = rest[:limit], len(rest) > limit
    cursor = _ozon_cursor(raw, _ozon_key(page[-1])) if has_next else ""
    return 200, {"postings": page, "cursor": cursor, "has_next": has_next}, {}


def _ozon_key(posting: dict[str, Any]) -> tuple[str, str]:
    return posting["in_process_at"], posting["posting_number"]


def _ozon_query(body: dict[str, Any]) -> dict[str, Any] | Answer:
    limit = integer(body.get("limit", OZON_PAGE))
    if limit is None or not 1 <= limit <= OZON_PAGE:
        return ozon_error(f"limit must be 1-{OZON_PAGE}")
    if not body.get("cursor"):
        return {"filter": body.get("filter"), "after": None, "limit": limit}
    try:  # the cursor carries the filter it was made for and the last posting it returned
        held = json.loads(base64.urlsafe_b64decode(str(body["cursor"]).encode()))
        after = (str(held["after"][0]), str(held["after"][1]))
        return {"filter": held["filter"], "after": after, "limit": limit}
    except (binascii.Error, ValueError, KeyError, IndexError, TypeError):
        return ozon_error("invalid cursor")


def _ozon_cursor(raw: Any, after: tuple[str, str]) -> str:
    text = json.dumps({"filter": raw, "after": list(after)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode()


def _ozon_filter(raw: Any) -> Callable[[dict[str, Any]], bool] | Answer:
    raw = raw if isinstance(raw, dict) else {}
    since, to = moment(raw.get("since"), UTC), moment(raw.get("to"), UTC)
    if since is None or to is None or to < since or to - since > OZON_RANGE:
        return ozon_error("filter.since and filter.to (ISO 8601) are required, at most a year")
    statuses = set(raw.get("statuses") or []) | ({raw["status"]} if raw.get("status") else set())
    changed = raw.get("last_changed_status_date") or {}
    low = moment(changed.get("from"), UTC) or datetime.min.replace(tzinfo=UTC)
    high = moment(changed.get("to"), UTC) or datetime.max.replace(tzinfo=UTC)

    def keep(record: dict[str, Any]) -> bool:
        posting, updated = record["posting"], from_ms(record["updated"])
        started = moment(posting["in_process_at"], UTC)
        return (
            started is not None and since <= started <= to and low <= updated <= high
            and (not statuses or posting["status"] in statuses)
        )  # fmt: skip

    return keep


# --- Satu ----------------------------------------------------------------------------------


def satu_list(state: State, request: Request) -> Answer:
    denied = bearer(request.headers)
    if denied:
        return denied
    limit, last_id = integer(one(request, "limit") or SATU_PAGE), one(request, "last_id")
    if limit is None or not 1 <= limit <= SATU_PAGE:
        return error(400, f"limit must be 1-{SATU_PAGE}")
    if last_id is not None and integer(last_id) is None:
        return error(400, "last_id must be an order id")
    keep = _satu_filter(request)
    if isinstance(keep, tuple):
        return keep
    found = [r["order"] for r in held(state, "orders_satu").values() if keep(r["order"])]
    found = [o for o in found if last_id is None or o["id"] < int(last_id)]
    found.sort(key=lambda order: -order["id"])
    return 200, {"orders": found[:limit]}, {}


def _satu_filter(request: Request) -> Callable[[dict[str, Any]], bool] | Answer:
    status = one(request, "status")
    if status is not None and status not in SATU_STATUSES:
        return error(400, f"status must be one of {sorted(SATU_STATUSES)}")
    bounds = [one(request, "date_from"), one(request, "date_to")]
    since, until = (moment(bound, ALMATY) if bound else None for bound in bounds)
    if (bounds[0] and since is None) or (bounds[1] and until is None):
        return error(400, "date_from and date_to must be ISO 8601 dates")

    def keep(order: dict[str, Any]) -> bool:
        created = datetime.fromisoformat(order["date_created"])
        return (
            (status is None or order["status"] == status)
            and (since is None or created >= since) and (until is None or created <= until)
        )  # fmt: skip

    return keep


def satu_set_status(state: State, request: Request) -> Answer:
    denied = bearer(request.headers)
    if denied:
        return denied
    body = request.body if isinstance(request.body, dict) else {}
    if body.get("status") not in SATU_SETTABLE:
        return error(400, "This status value is not allowed")
    ids = body.get("ids")
    if not isinstance(ids, list) or not ids or any(integer(i) is None for i in ids):
        return error(400, "ids must be a non-empty list of order ids")
    orders, processed, errors = held(state, "orders_satu"), [], {}
    for order_id in (int(i) for i in ids):
        attempted(state, "satu", order_id, body["status"])
        refusal = _satu_refusal(orders.get(str(order_id)), body["status"])
        if refusal:
            errors[str(order_id)] = refusal
            continue
        orders[str(order_id)]["order"]["status"] = body["status"]
        touch(orders[str(order_id)])
        processed.append(order_id)
    return 200, {"processed_ids": processed, "errors": errors}, {}


def _satu_refusal(record: dict[str, Any] | None, status: str) -> str | None:
    if record is None:
        return "order not found"
    current = record["order"]["status"]
    if current == "canceled":
        return "the order is canceled"
    if current == status:
        return f"the order already has status {status}"
    return None


ROUTES = [
    ("GET", "/shop/api/v2/orders", kaspi_list),
    ("POST", "/shop/api/v2/orders", kaspi_set_status),
    ("POST", "/v4/posting/fbs/list", ozon_list),
    ("GET", "/api/v1/orders/list", satu_list),
    ("POST", "/api/v1/orders/set_status", satu_set_status),
]
