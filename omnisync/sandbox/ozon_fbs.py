"""Ozon FBS fulfilment emulator (channels.md §4.5): one posting, ship, tracking number, cancel."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from omnisync.sandbox.common import Answer, error, missing_auth
from omnisync.sandbox.orders_seed import held, touch

if TYPE_CHECKING:
    from omnisync.sandbox.server import Request, State

SHIPPABLE = {"awaiting_packaging"}
# The seller's cancel reasons open to cancellation (/v2/posting/fbs/cancel-reason/list); 402
# "other" needs cancel_reason_message (docs.ozon.ru/api/seller/
# #operation/PostingAPI_CancelFbsPosting).
SELLER_REASONS, OTHER = {352, 400, 402}, 402
CANCELLABLE = {"awaiting_packaging", "awaiting_deliver", "awaiting_approve"}


def _posting(state: State, request: Request, field: str = "posting_number") -> Any:
    denied = missing_auth(request.headers, "Client-Id", "Api-Key")
    if denied:
        return denied
    body = request.body if isinstance(request.body, dict) else {}
    record = held(state, "orders_ozon").get(str(body.get(field)))
    return record if record is not None else error(404, f"posting {body.get(field)} not found")


def one(state: State, request: Request) -> Answer:
    """``POST /v3/posting/fbs/get``: the posting by its number, under ``result``."""
    record = _posting(state, request)
    if isinstance(record, tuple):
        return record
    return 200, {"result": record["posting"]}, {}


def ship(state: State, request: Request) -> Answer:
    record = _posting(state, request)
    if isinstance(record, tuple):
        return record
    posting = record["posting"]
    if posting["status"] not in SHIPPABLE:
        return error(400, f"POSTING_ALREADY_SHIPPED: the posting is {posting['status']}")
    known = {p["sku"] for p in posting["products"]}
    packages = request.body.get("packages") if isinstance(request.body, dict) else None
    shipped = {p.get("product_id") for pkg in packages or [] for p in pkg.get("products") or []}
    if not shipped or not shipped <= known:
        return error(
            400, f"INVALID_PRODUCT: product ids {sorted(map(str, shipped))} are not in the posting"
        )
    posting["status"] = "awaiting_deliver"
    touch(record)
    return 200, {"result": [posting["posting_number"]]}, {}


def tracking(state: State, request: Request) -> Answer:
    """rFBS only (the method is in the seller API's "Delivery rFBS" section): a request naming
    an FBS posting — Ozon delivers it, ``tpl_integration_type`` ``ozon`` — is refused whole, as
    Ozon refuses it (issue 16: the call fails after the ship; Ozon's exact status and text are
    unconfirmed). Otherwise a verdict per posting, the documented shape."""
    denied = missing_auth(request.headers, "Client-Id", "Api-Key")
    if denied:
        return denied
    body = request.body if isinstance(request.body, dict) else {}
    entries = [e for e in body.get("tracking_numbers") or [] if isinstance(e, dict)]
    postings = held(state, "orders_ozon")
    fbs = [
        str(e.get("posting_number"))
        for e in entries
        if _is_fbs(postings.get(str(e.get("posting_number"))))
    ]
    if fbs:
        return error(400, f"POSTING_IS_NOT_RFBS: Ozon delivers {', '.join(fbs)} (FBS)")
    results = []
    for entry in entries:
        record = postings.get(str(entry.get("posting_number")))
        if record is not None:
            record["posting"]["tracking_number"] = entry.get("tracking_number")
        results.append(
            {
                "posting_number": entry.get("posting_number"),
                "result": record is not None,
                "error": [] if record else ["NOT_FOUND"],
            }
        )
    return 200, {"result": results}, {}


def _is_fbs(record: dict[str, Any] | None) -> bool:
    return record is not None and record["posting"].get("tpl_integration_type") == "ozon"


def cancel(state: State, request: Request) -> Answer:
    record = _posting(state, request)
    if isinstance(record, tuple):
        return record
    posting = record["posting"]
    reason, message = (
        request.body.get("cancel_reason_id"),
        request.body.get("cancel_reason_message"),
    )
    if reason not in SELLER_REASONS:
        return error(400, f"cancel_reason_id {reason} is not a seller's reason to cancel")
    if reason == OTHER and not (isinstance(message, str) and message.strip()):
        return error(400, "cancel_reason_message is required with cancel_reason_id 402")
    if posting["status"] not in CANCELLABLE:
        return error(400, f"the posting is {posting['status']} and cannot be cancelled")
    posting["status"] = "cancelled"
    posting["cancellation"] = {"cancel_reason_id": reason, "cancel_reason": message,
                               "cancellation_initiator": "Продавец"}  # fmt: skip
    touch(record)
    return 200, {"result": True}, {}


ROUTES = [
    ("POST", "/v3/posting/fbs/get", one),
    ("POST", "/v4/posting/fbs/ship", ship),
    ("POST", "/v2/fbs/posting/tracking-number/set", tracking),
    ("POST", "/v2/posting/fbs/cancel", cancel),
]
