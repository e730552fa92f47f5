"""Satu/Prom API emulator: products edit by external id (channels.md §3.2)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from omnisync.sandbox.common import Answer, bearer, error

if TYPE_CHECKING:
    from omnisync.sandbox.server import Request, State

PER_REQUEST = 100  # one public script sends batches of 100 (unconfirmed limit)
PRESENCE = {"available", "not_available", "order", "waiting", "service"}


def edit_by_external_id(state: State, request: Request) -> Answer:
    denied = bearer(request.headers)
    if denied:
        return denied
    items = request.body
    if not isinstance(items, list) or not items:
        return error(400, "the body must be a non-empty JSON array")
    if len(items) > PER_REQUEST:
        return error(400, f"at most {PER_REQUEST} products a request")
    held, processed, errors = state.bucket("satu_products"), [], {}
    for item in items:
        external = str(item.get("id"))
        if external in state.reject:
            errors[external] = state.reject[external]
        elif external.startswith("UNKNOWN-"):  # the emulated shop has no such product
            errors[external] = f"product with external id {external} not found"
        elif item.get("presence") not in PRESENCE:
            errors[external] = f"presence {item.get('presence')!r} is not allowed"
        else:
            held[external] = {k: item.get(k) for k in ("price", "presence", "quantity_in_stock")}
            processed.append(external)
    # Satu answers 200 with per-item errors (reliability.md): the client must read them.
    return 200, {"processed_ids": processed, "errors": errors}, {}


ROUTES = [("POST", "/api/v1/products/edit_by_external_id", edit_by_external_id)]
