"""Ozon Seller API (channels.md §4): absolute stock per warehouse and prices.

Stocks ``POST /v2/products/stocks`` take at most 100 (offer, warehouse) pairs a request and 80
requests a minute; prices ``POST /v1/product/import/prices`` at most 1000 items. Both answer
per item (``updated``, ``errors``): HTTP 200 is not "all accepted" (reliability.md).

Stock never waits on a price: an item whose price this account cannot take (another currency, or
not above 0) gets its stock pushed and its price withheld, reported per SKU. Holding the whole
item would leave its old stock on sale — how overselling starts. The withheld price is held
(``held_items``): Ozon keeps the last one it took, and it does not count as an item that left.
"""

from __future__ import annotations

import reprlib
from collections.abc import Iterator, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from omnisync.channels import ozon_orders
from omnisync.channels.base import Channel, ChannelConfig, Record
from omnisync.channels.capabilities import (  # fmt: skip
    ItemResult,
    PullsOrders,
    Pushes,
    PushItem,
    PushSettings,
)
from omnisync.errors import ChannelUnavailable
from omnisync.http import Api, Budget, limiter_for
from omnisync.models import Problem, Product, Severity
from omnisync.secrets import Secret
from omnisync.text import CENT

STOCKS, PRICES = "/v2/products/stocks", "/v1/product/import/prices"
BATCH = {"stock": 100, "price": 1000}  # [OZ] §4.2, §4.3
STOCK_REQUESTS_PER_MINUTE = 80  # [OZ] §4.2
# ``currency_code`` of /v1/product/import/prices: "must match the currency set in the seller
# cabinet; RUB is sent by default" — RUB, BYN, KZT, EUR, USD, CNY (docs.ozon.ru/api/seller/
# #operation/ProductAPI_ImportProductsPrices, v1ImportProductsPricesRequestPrice.currency_code).
Currency = Literal["RUB", "BYN", "KZT", "EUR", "USD", "CNY"]


class OzonConfig(ChannelConfig, PushSettings):
    type: Literal["ozon"]
    base_url: str = Field(default="https://api-seller.ozon.ru", pattern=r"^https?://\S+$")
    client_id: str = Field(pattern=r"^\S+$")
    api_key: Secret
    # Our location code → Ozon warehouse id (FBS warehouses in the seller cabinet).
    warehouses: dict[str, int] = Field(min_length=1)
    # The account's currency (seller cabinet settings). Unset means what Ozon assumes when a
    # price comes without currency_code: RUB. Prices in another currency are withheld, not sent.
    currency: Currency = "RUB"
    requests_per_minute: float = Field(default=STOCK_REQUESTS_PER_MINUTE, gt=0)

    @field_validator("warehouses")
    @classmethod
    def _one_location_per_warehouse(cls, warehouses: dict[str, int]) -> dict[str, int]:
        ids = list(warehouses.values())
        repeated = sorted({str(i) for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"warehouse {', '.join(repeated)} is mapped from several locations")
        return warehouses

    @model_validator(mode="after")
    def _no_locations(self) -> OzonConfig:
        if self.locations is not None:
            raise ValueError(
                "locations: Ozon counts the warehouses it maps; list them in warehouses instead"
            )
        return self

    def counted_locations(self) -> list[str] | None:
        return list(self.warehouses)


class Ozon(Channel, Pushes, PullsOrders):
    config_model = OzonConfig
    config: OzonConfig
    label = "Ozon"

    @property
    def account(self) -> str:
        return self.config.client_id

    def push_settings(self) -> PushSettings:
        return self.config

    def batch_sizes(self) -> Mapping[str, int]:
        return BATCH

    def to_record(self, product: Product) -> Record:
        record = self.new_record(product)
        record.fields = {
            "price": product.selling_price,
            "stock": self._stock(product),
            "currency": product.currency,
        }
        return record

    def _stock(self, product: Product) -> dict[int, int] | None:
        """Units per Ozon warehouse; None when the catalogue cannot say per warehouse."""
        if product.stock is None:
            total = self.units(product)
            if total is None or len(self.config.warehouses) > 1:
                return None
            return {next(iter(self.config.warehouses.values())): total}
        return {
            wid: self.units_at(product, loc) or 0 for loc, wid in self.config.warehouses.items()
        }

    def validate(self, record: Record) -> list[Problem]:
        found = []
        withheld = self._price_problem(record.fields)
        if withheld is not None:  # a warning: the item stays valid and its stock goes
            code, reason = withheld
            message = f"{reason}; the price is withheld, the stock is sent"
            found.append(self.problem(record, "price", code, message, Severity.WARNING))
        if record.fields["stock"] is None:
            found.append(
                self.problem(
                    record,
                    "stock",
                    "stock_per_warehouse_missing",
                    "Ozon takes stock per warehouse: give stock.csv rows for the mapped locations",
                )
            )
        return found

    def _price_problem(self, fields: Mapping[str, Any]) -> tuple[str, str] | None:
        """(code, reason) when Ozon would refuse this price, else None."""
        if fields["price"] <= 0:
            return "price_not_positive", "price must be greater than 0"
        if fields["currency"] not in ("", self.config.currency):
            return "currency_mismatch", (
                f"the row is in {fields['currency']}; this Ozon account prices in "
                f"{self.config.currency} (channels.{self.name}.currency)"
            )
        return None

    def push_items(self, product: Product, record: Record | None = None) -> list[PushItem]:
        fields = (record or self.to_record(product)).fields
        items = [
            PushItem(
                "stock",
                f"{product.sku}@{wid}",
                product.sku,
                {"offer_id": product.sku, "warehouse_id": wid, "stock": units},
            )
            for wid, units in (fields["stock"] or {}).items()
        ]
        if self._price_problem(fields) is not None:
            return items  # withheld (validate reports why; held_items); the stock goes alone
        old = product.price if product.on_sale else Decimal(0)
        items.append(PushItem("price", product.sku, product.sku, {
            "offer_id": product.sku, "price": _amount(fields["price"]),
            "old_price": _amount(old), "currency_code": self.config.currency,
        }))  # fmt: skip
        return items

    def held_items(self, product: Product, record: Record | None = None) -> list[tuple[str, str]]:
        """(stream, key) of the items of this valid product left as Ozon has them this run: a
        withheld price. Held, like an invalid SKU's items: not sent, not counted as gone (the
        removal gate), not forgotten — Ozon keeps the last price it took."""
        fields = (record or self.to_record(product)).fields
        return [("price", product.sku)] if self._price_problem(fields) is not None else []

    def removal(self, stream: str, key: str, sku: str) -> PushItem | None:
        if stream != "stock":
            return None  # a price needs no removal; zero stock takes the item off sale
        warehouse = int(key.rsplit("@", 1)[1])
        return PushItem(stream, key, sku, {"offer_id": sku, "warehouse_id": warehouse, "stock": 0})

    def open_api(self, budget: Budget) -> Api:
        secret: SecretStr = self.config.api_key
        headers = {"Client-Id": self.config.client_id, "Api-Key": secret.get_secret_value()}
        limiter = limiter_for("ozon", self.account, self.config.requests_per_minute)
        return Api(self.name, self.config.base_url, headers, limiter=limiter, budget=budget)

    def orders_api(self, budget: Budget) -> Api:
        return self.open_api(budget)

    def pull_orders(self, api: Any, since: datetime, until: datetime) -> Iterator[list[Any]]:
        return ozon_orders.pages(self, api, since, until)

    def send(self, api: Api, stream: str, batch: list[PushItem]) -> list[ItemResult]:
        path, field = (STOCKS, "stocks") if stream == "stock" else (PRICES, "prices")
        body = {field: [dict(item.payload) for item in batch]}
        answer = api.json("POST", path, json=body)
        return [self._verdict(stream, entry) for entry in _results(self.name, answer)]

    def _verdict(self, stream: str, entry: Mapping[str, Any]) -> ItemResult:
        key = str(entry.get("offer_id"))
        if stream == "stock":
            key = f"{key}@{entry.get('warehouse_id')}"
        errors = entry.get("errors") or []
        if not isinstance(errors, list):  # a shape we do not know is still an error
            errors = [errors]
        message = "; ".join(_error_text(e) for e in errors)
        return ItemResult(key, entry.get("updated") is True and not errors, message or None)


def _error_text(error: object) -> str:
    if isinstance(error, Mapping):
        return str(error.get("message") or error.get("code"))
    return reprlib.repr(error)


def _amount(value: Decimal) -> str:
    return str(value.quantize(CENT))


def _results(channel: str, answer: object) -> list[Mapping[str, Any]]:
    result = answer.get("result") if isinstance(answer, Mapping) else None
    if not isinstance(result, list) or not all(isinstance(e, Mapping) for e in result):
        raise ChannelUnavailable(channel, "the answer has no list of per-item results")
    return result
