"""Ozon Seller API emulator: stocks and prices (channels.md §4.2, §4.3)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from omnisync.sandbox.common import Answer, error, missing_auth

if TYPE_CHECKING:
    from omnisync.sandbox.server import Request, State

# Warehouses the emulated seller has (FBS); others get a per-item error.
WAREHOUSES = {22142605386000, 22142605386001, 22142605386002}
STOCKS_PER_REQUEST, PRICES_PER_REQUEST, STOCK_CALLS_PER_MINUTE = 100, 1000, 80
UNKNOWN_PREFIX = "UNKNOWN-"  # SKUs the emulated seller does not have
# The emulated cabinet's currency: its postings are priced in KZT (orders_seed). A price must
# come in it; without currency_code Ozon takes RUB (docs.ozon.ru/api/seller/
# #operation/ProductAPI_ImportProductsPrices: "must match the currency set in the cabinet; RUB
# is sent by default … otherwise an error is returned").
ACCOUNT_CURRENCY, DEFAULT_CURRENCY = "KZT", "RUB"


def _items(state: State, request: Request, field: str, limit: int) -> list[Any] | Answer:
    denied = missing_auth(request.headers, "Client-Id", "Api-Key")
    if denied:
        return denied
    items = request.body.get(field) if isinstance(request.body, dict) else None
    if not isinstance(items, list) or not items:
        return error(400, f"{field} must be a non-empty list")
    if len(items) > limit:
        return error(400, f"at most {limit} {field} a request, got {len(items)}")
    return items


def stocks(state: State, request: Request) -> Answer:
    client = request.headers.get("client-id", "")
    wait = state.rate_limited(f"ozon-stocks-{client}", STOCK_CALLS_PER_MINUTE, time.monotonic())
    if wait is not None:
        return error(429, "rate limit: 80 requests a minute", {"Retry-After": str(int(wait) + 1)})
    items = _items(state, request, "stocks", STOCKS_PER_REQUEST)
    if isinstance(items, tuple):
        return items
    held = state.bucket("ozon_stocks")
    results = []
    for item in items:
        sku, warehouse = str(item.get("offer_id")), item.get("warehouse_id")
        errors = _errors(state, sku)
        if warehouse not in WAREHOUSES:
            errors.append({"code": "WAREHOUSE_NOT_FOUND", "message": f"warehouse {warehouse}"})
        if not isinstance(item.get("stock"), int) or item["stock"] < 0:
            errors.append({"code": "INVALID_STOCK", "message": "stock must be an integer >= 0"})
        if not errors:
            held[f"{sku}@{warehouse}"] = item["stock"]
        results.append(
            {
                "offer_id": sku,
                "warehouse_id": warehouse,
                "product_id": 0,
                "updated": not errors,
                "errors": errors,
            }
        )
    return 200, {"result": results}, {}


def prices(state: State, request: Request) -> Answer:
    items = _items(state, request, "prices", PRICES_PER_REQUEST)
    if isinstance(items, tuple):
        return items
    held = state.bucket("ozon_prices")
    results = []
    for item in items:
        sku = str(item.get("offer_id"))
        errors = _errors(state, sku) + _currency_errors(item)
        if not errors:
            held[sku] = {k: item.get(k) for k in ("price", "old_price", "currency_code")}
        results.append({"offer_id": sku, "product_id": 0, "updated": not errors, "errors": errors})
    return 200, {"result": results}, {}


def _currency_errors(item: dict[str, Any]) -> list[dict[str, str]]:
    """A per-item error, as Ozon answers a price in another currency than the cabinet's (code and
    text as in the answer quoted in github.com/gam6itko/ozon-seller/issues/68)."""
    if item.get("currency_code", DEFAULT_CURRENCY) == ACCOUNT_CURRENCY:
        return []
    return [{"code": "bad_request_error", "message": "Неверно указана валюта"}]


def _errors(state: State, sku: str) -> list[dict[str, str]]:
    if sku in state.reject:
        return [{"code": "REJECTED", "message": state.reject[sku]}]
    if sku.startswith(UNKNOWN_PREFIX):  # the emulated seller has no such product
        return [{"code": "PRODUCT_NOT_FOUND", "message": f"offer_id {sku} not found"}]
    return []


ROUTES = [("POST", "/v2/products/stocks", stocks), ("POST", "/v1/product/import/prices", prices)]
