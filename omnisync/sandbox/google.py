"""Google Merchant API emulator (channels.md §1.4): product inputs and local inventory."""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from omnisync.sandbox.common import Answer, bearer, error

if TYPE_CHECKING:
    from omnisync.sandbox.server import Request, State

REQUIRED = ("offerId", "contentLanguage", "feedLabel")


def product_name(segment: str) -> str | None:
    """``contentLanguage~feedLabel~offerId`` from a resource name segment, as v1 reads it: plain
    when it holds ``~``, else unpadded base64url (developers.google.com/merchant/api/reference/
    rest/products_v1/accounts.productInputs/delete). None for a segment v1 would refuse: a plain
    one with a percent-escape (the encoding MUST be used then), or one that decodes to no name."""
    if "~" in segment:
        return None if "%" in segment else segment
    try:
        name = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return name if name.count("~") >= 2 else None


def insert_product(state: State, request: Request) -> Answer:
    denied = bearer(request.headers)
    if denied:
        return denied
    body = request.body if isinstance(request.body, dict) else {}
    missing = [name for name in REQUIRED if not body.get(name)]
    if missing or not request.query.get("dataSource"):
        return error(400, f"missing {', '.join(missing) or 'dataSource'}")
    offer = str(body["offerId"])
    if offer in state.reject:
        return error(400, state.reject[offer])
    name = f"{body['contentLanguage']}~{body['feedLabel']}~{offer}"
    state.bucket("google_products")[name] = body
    return (
        200,
        {**body, "name": f"{request.path.split('/productInputs')[0]}/productInputs/{name}"},
        {},
    )


def delete_product(state: State, request: Request) -> Answer:
    denied = bearer(request.headers)
    if denied:
        return denied
    name = product_name(request.path.rsplit("/", 1)[1])
    if name is None:
        return error(400, "[name] the product input name is invalid")
    if state.bucket("google_products").pop(name, None) is None:
        return error(404, f"product input {name} not found")
    return 200, {}, {}


def insert_local_inventory(state: State, request: Request) -> Answer:
    denied = bearer(request.headers)
    if denied:
        return denied
    body = request.body if isinstance(request.body, dict) else {}
    if not body.get("storeCode") or "localInventoryAttributes" not in body:
        return error(400, "storeCode and localInventoryAttributes are required")
    product = product_name(request.path.split("/products/")[1].split("/")[0])
    if product is None:
        return error(400, "[parent] the product name is invalid")
    state.bucket("google_local")[f"{product}@{body['storeCode']}"] = body
    return 200, body, {}


def token(state: State, request: Request) -> Answer:
    """OAuth token endpoint for service accounts: a JWT-bearer grant in, a token out."""
    form = parse_qs(request.body if isinstance(request.body, str) else "")
    grant = form.get("grant_type", [""])[0]
    assertion = form.get("assertion", [""])[0]
    if grant != "urn:ietf:params:oauth:grant-type:jwt-bearer" or assertion.count(".") != 2:
        return 400, {"error": "invalid_grant"}, {}
    state.bucket("google_tokens")["issued"] = state.bucket("google_tokens").get("issued", 0) + 1
    return (
        200,
        {"access_token": "sandbox-issued-token", "expires_in": 3600, "token_type": "Bearer"},
        {},
    )


ROUTES = [
    ("POST", "/token", token),
    ("POST", "/products/v1/accounts/{account}/productInputs:insert", insert_product),
    ("DELETE", "/products/v1/accounts/{account}/productInputs/{name}", delete_product),
    (
        "POST",
        "/inventories/v1/accounts/{account}/products/{product}/localInventories:insert",
        insert_local_inventory,
    ),
]
