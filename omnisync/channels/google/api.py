"""Google Merchant API pushes (channels.md §1.4): product inputs and local inventory.

``productInputs:insert`` replaces the input with the same offerId + contentLanguage +
feedLabel in an API data source (an upsert, safe to retry); ``DELETE`` removes an item that left;
``localInventories:insert`` replaces a store's entry. Money is ``{amountMicros, currencyCode}``;
enums are upper case in v1 (``IN_STOCK``, ``NEW``; §1.4a). There is no custombatch any more, so
every item is one request (batch size 1); the per-method quota is the limiter's rate.
Credentials: an access token, or a service-account key file (google-auth signs and refreshes).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from google.auth.exceptions import GoogleAuthError
from omnisync.errors import ChannelRejected
from omnisync.http import Api, Budget, GoogleAuthRequest, limiter_for
from omnisync.paths import InputFile
from omnisync.secrets import Secret, register

SCOPE = "https://www.googleapis.com/auth/content"  # [MAPI reference]
MICROS = Decimal(1_000_000)
PLAIN_PART = re.compile(r"[A-Za-z0-9_-]+")  # what a resource name may hold unencoded (below)


class GoogleApiSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    base_url: str = Field(default="https://merchantapi.googleapis.com", pattern=r"^https?://\S+$")
    token_url: str = Field(default="https://oauth2.googleapis.com/token", pattern=r"^https?://\S+$")
    account_id: str = Field(pattern=r"^\d+$")
    data_source: str = Field(pattern=r"^\d+$")
    content_language: str = Field(default="ru", pattern=r"^[a-z]{2}$")
    # Upper case only: "up to 20 characters, A-Z, 0-9, hyphen, underscore" (ProductInput.feedLabel,
    # developers.google.com/merchant/api/reference/rest/products_v1/accounts.productInputs). Not
    # upper-cased for the user: the label must equal the data source's, byte for byte.
    feed_label: str = Field(default="KZ", pattern=r"^[A-Z0-9_-]{1,20}$")
    access_token: Secret | None = None
    service_account_file: InputFile | None = None
    requests_per_minute: float = Field(default=120, gt=0)

    @model_validator(mode="after")
    def _one_credential(self) -> GoogleApiSettings:
        if (self.access_token is None) == (self.service_account_file is None):
            raise ValueError("give exactly one of access_token (env:NAME) and service_account_file")
        return self

    @property
    def data_source_name(self) -> str:
        return f"accounts/{self.account_id}/dataSources/{self.data_source}"

    def product_name(self, offer_id: str) -> str:
        """The ``{product}`` / ``{productInput}`` segment of a v1 resource name:
        ``contentLanguage~feedLabel~offerId``, plain when every part is URL-safe, else unpadded
        base64url (RFC 4648 §5) of that string. The v1 reference says the encoding MUST be used
        when a part holds ``/``, ``%`` or ``~`` (developers.google.com/merchant/api/reference/
        rest/products_v1/accounts.productInputs/delete, same text on products.get and
        localInventories.insert); the migration guide adds every URL-reserved character
        (``% . + / : ~ , ( * ! ) & ? = @ # $``, developers.google.com/merchant/api/guides/
        compatibility/products). So only letters, digits, ``_`` and ``-`` stay plain."""
        name = f"{self.content_language}~{self.feed_label}~{offer_id}"
        if PLAIN_PART.fullmatch(offer_id):  # language and label are plain by their patterns
            return name
        return base64.urlsafe_b64encode(name.encode("utf-8")).rstrip(b"=").decode("ascii")


def bearer_token(settings: GoogleApiSettings) -> str:
    if settings.access_token is not None:
        token: SecretStr = settings.access_token
        return token.get_secret_value()
    from google.oauth2 import service_account

    assert settings.service_account_file is not None
    info = json.loads(Path(settings.service_account_file).read_text(encoding="utf-8"))
    info["token_uri"] = settings.token_url  # configurable, so the sandbox can issue tokens
    credentials = service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
        info, scopes=[SCOPE]
    )
    credentials.refresh(GoogleAuthRequest())
    register(credentials.token)  # a token is a secret like any other
    return str(credentials.token)


def open_api(channel: str, settings: GoogleApiSettings, budget: Budget) -> Api:
    try:
        headers = {"Authorization": f"Bearer {bearer_token(settings)}"}
    except (ValueError, OSError, GoogleAuthError) as exc:
        # a key file that does not parse, a token endpoint that refuses: this channel stops
        raise ChannelRejected(
            channel, f"cannot get a Google access token ({type(exc).__name__}: {exc})", 401
        ) from None
    limiter = limiter_for("google", settings.account_id, settings.requests_per_minute)
    return Api(channel, settings.base_url, headers, limiter=limiter, budget=budget)


def money(amount: Decimal, currency: str) -> dict[str, str]:
    return {"amountMicros": str(int(amount * MICROS)), "currencyCode": currency}


def call(api: Api, method: str, path: str, **kwargs: Any) -> str | None:
    """One item's request; its error message when Google refused that item, else None.
    Authentication failures stop the channel (they would fail every item). Deleting what
    Google does not have (404) is done, not failed."""
    try:
        api.request(method, path, **kwargs)
    except ChannelRejected as exc:
        if exc.status in (401, 403):
            raise
        if exc.status == 404 and method == "DELETE":
            return None
        return str(exc)
    return None


def insert_path(settings: GoogleApiSettings) -> str:
    return f"/products/v1/accounts/{settings.account_id}/productInputs:insert"


def delete_path(settings: GoogleApiSettings, offer_id: str) -> str:
    name = settings.product_name(offer_id)
    return f"/products/v1/accounts/{settings.account_id}/productInputs/{name}"


def local_path(settings: GoogleApiSettings, offer_id: str) -> str:
    product = settings.product_name(offer_id)
    return (
        f"/inventories/v1/accounts/{settings.account_id}/products/{product}/localInventories:insert"
    )


def rfc3339(text: str) -> str:
    """The feed's ISO 8601 date (``2026-06-01T00:00+0500``) as the API's RFC 3339 timestamp
    (``2026-06-01T00:00:00+05:00``); a date without a zone is taken as UTC."""
    if not text:
        return ""
    moment = datetime.fromisoformat(text)
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


def attributes(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The primary feed record as v1 ``productAttributes`` (empty values left out)."""
    currency = fields["currency"]
    found: dict[str, Any] = {
        "title": fields["title"], "description": fields["description"], "link": fields["link"],
        "imageLink": fields["image_link"], "additionalImageLinks": fields["additional_image_link"],
        "availability": fields["availability"].upper(), "brand": fields["brand"],
        "gtins": [fields["gtin"]] if fields["gtin"] else [], "mpn": fields["mpn"],
        "condition": fields["condition"].upper(),
        "googleProductCategory": fields["google_product_category"],
        "productTypes": [fields["product_type"]] if fields["product_type"] else [],
        "itemGroupId": fields["item_group_id"], "color": fields["color"], "size": fields["size"],
        "availabilityDate": rfc3339(fields["availability_date"]),
        "price": money(fields["price"], currency),
    }  # fmt: skip
    if fields["sale_price"] is not None:
        found["salePrice"] = money(fields["sale_price"], currency)
    if fields["identifier_exists"] == "no":
        found["identifierExists"] = False
    return {key: value for key, value in found.items() if value not in ("", [], None)}
