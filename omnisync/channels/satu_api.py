"""Satu/Prom API pushes (channels.md §3.2): price, presence and stock by external id.

``POST /api/v1/products/edit_by_external_id`` takes a JSON array; the external id is the YML
``offer@id`` (our SKU). HTTP 200 may still carry per-item errors: every id must appear in
``processed_ids`` (reliability.md). Batches of 100 and the request rate are unconfirmed limits
(``limits``); Satu publishes none, so we stay conservative and honour 429s.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from pydantic import SecretStr

from omnisync.channels import limits
from omnisync.channels.base import Channel, Record
from omnisync.channels.capabilities import ItemResult, Pushes, PushItem, PushSettings
from omnisync.errors import ChannelUnavailable
from omnisync.http import Api, Budget, limiter_for
from omnisync.models import Product

EDIT = "/api/v1/products/edit_by_external_id"


class SatuPushes(Channel, Pushes):
    """The API half of the Satu channel; its config carries ``base_url`` and ``token``."""

    config: Any

    @property
    def account(self) -> str:
        return urlsplit(self.config.base_url or "").netloc

    def can_push(self) -> bool:
        return self.config.base_url is not None

    def push_settings(self) -> PushSettings:
        settings: PushSettings = self.config
        return settings

    def batch_sizes(self) -> Mapping[str, int]:
        return {"product": limits.SATU_API_BATCH}

    def push_items(self, product: Product, record: Record | None = None) -> list[PushItem]:
        units = self.units(product)
        payload: dict[str, Any] = {
            "id": product.sku,
            "price": _number(product.selling_price),
            "presence": "available" if units is None or units > 0 else "not_available",
        }
        if units is not None:
            payload["quantity_in_stock"] = units
        return [PushItem("product", product.sku, product.sku, payload)]

    def removal(self, stream: str, key: str, sku: str) -> PushItem | None:
        payload = {"id": sku, "presence": "not_available", "quantity_in_stock": 0}
        return PushItem(stream, key, sku, payload)

    def open_api(self, budget: Budget) -> Api:
        token: SecretStr = self.config.token
        headers = {"Authorization": f"Bearer {token.get_secret_value()}"}
        limiter = limiter_for("satu", self.account, self.config.requests_per_minute)
        return Api(self.name, self.config.base_url, headers, limiter=limiter, budget=budget)

    def send(self, api: Api, stream: str, batch: list[PushItem]) -> list[ItemResult]:
        answer = api.json("POST", EDIT, json=[dict(item.payload) for item in batch])
        if not isinstance(answer, Mapping) or not isinstance(answer.get("processed_ids"), list):
            raise ChannelUnavailable(self.name, "the answer has no processed_ids list")
        processed = {str(i) for i in answer["processed_ids"]}
        found = answer.get("errors")
        errors: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
        return [self._verdict(item.key, processed, errors) for item in batch]

    @staticmethod
    def _verdict(key: str, processed: set[str], errors: Mapping[str, Any]) -> ItemResult:
        if key in processed and key not in errors:
            return ItemResult(key, True)
        return ItemResult(key, False, str(errors.get(key, "not in processed_ids")))


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)
