"""Kaspi emulator: the price-list upload target (Kaspi itself fetches the XML by URL)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from omnisync.sandbox.common import Answer, error

if TYPE_CHECKING:
    from omnisync.sandbox.server import Request, State


def upload(state: State, request: Request) -> Answer:
    body = request.body if isinstance(request.body, str) else ""
    if "<kaspi_catalog" not in body:
        return error(400, "the body is not a Kaspi price list")
    state.bucket("kaspi")["pricelist"] = {
        "bytes": len(body.encode()),
        "offers": body.count("<offer "),
    }
    return 200, {"status": "accepted"}, {}


ROUTES = [("PUT", "/kaspi/pricelist", upload)]


def webhook(state: State, request: Request) -> Answer:
    """A central system's order webhook: records each delivery with its Idempotency-Key."""
    key = request.headers.get("idempotency-key", "")
    if not key:
        return error(400, "Idempotency-Key is required")
    deliveries = state.data.setdefault("webhook", [])
    deliveries.append({"key": key, "order": request.body})
    return 200, {"received": True}, {}


ROUTES.append(("POST", "/webhook/orders", webhook))
