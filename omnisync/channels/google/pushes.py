"""The Merchant API half of the Google primary channel: one product input per item."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from omnisync.channels.base import Channel, Record
from omnisync.channels.capabilities import ItemResult, Pushes, PushItem, PushSettings
from omnisync.channels.google import api
from omnisync.http import Api, Budget
from omnisync.models import Product

# Feed spellings → Merchant API v1 enum names (channels.md §1.3; §1.4a: v1 uses enums).
_SLA = {
    "same day": "SAME_DAY",
    "next day": "NEXT_DAY",
    "2-day": "TWO_DAY",
    "3-day": "THREE_DAY",
    "4-day": "FOUR_DAY",
    "5-day": "FIVE_DAY",
    "6-day": "SIX_DAY",
    "multi-week": "MULTI_WEEK",
}


class _MerchantApi(Channel, Pushes):
    """What both Merchant API halves share: the account, the settings, the client."""

    config: Any

    @property
    def account(self) -> str:
        return str(self.config.api.account_id)

    def can_push(self) -> bool:
        return self.config.api is not None

    def push_settings(self) -> PushSettings:
        settings: PushSettings = self.config
        return settings

    def open_api(self, budget: Budget) -> Api:
        return api.open_api(self.name, self.config.api, budget)


class MerchantApiPushes(_MerchantApi):
    """The API half of the Google channel; its config carries ``api`` (GoogleApiSettings)."""

    def batch_sizes(self) -> Mapping[str, int]:
        return {"product": 1}  # one request per item: Merchant API v1 has no custombatch

    def push_items(self, product: Product, record: Record | None = None) -> list[PushItem]:
        settings = self.config.api
        record = record or self.to_record(product)
        body = {
            "offerId": record.key,
            "contentLanguage": settings.content_language,
            "feedLabel": settings.feed_label,
            "productAttributes": api.attributes(record.fields),
        }
        return [PushItem("product", record.key, product.sku, body)]

    def removal(self, stream: str, key: str, sku: str) -> PushItem | None:
        return PushItem(stream, key, sku, {"delete": key})

    def send(self, client: Api, stream: str, batch: list[PushItem]) -> list[ItemResult]:
        settings, results = self.config.api, []
        params = {"dataSource": settings.data_source_name}
        for item in batch:
            if "delete" in item.payload:
                error = api.call(
                    client, "DELETE", api.delete_path(settings, item.key), params=params
                )
            else:
                error = api.call(
                    client,
                    "POST",
                    api.insert_path(settings),
                    params=params,
                    json=dict(item.payload),
                )
            results.append(ItemResult(item.key, error is None, error))
        return results


class LocalInventoryPushes(_MerchantApi):
    """Merchant API ``localInventories:insert`` per item and mapped store; the channel's config
    carries ``api`` and ``stores``. Keys are ``offerId@storeCode``."""

    def batch_sizes(self) -> Mapping[str, int]:
        return {"local": 1}

    def push_items(self, product: Product, record: Record | None = None) -> list[PushItem]:
        currency = product.currency or self.config.currency or ""
        items = []
        for location, store in self.config.stores.items():
            units = self.units_at(product, location)
            total = self.units(product) if units is None else units
            attrs: dict[str, Any] = {
                "availability": "IN_STOCK" if total is None or total > 0 else "OUT_OF_STOCK",
                "price": api.money(product.price, currency),
            }
            if units is not None:
                attrs["quantity"] = str(units)
            if product.on_sale:
                attrs["salePrice"] = api.money(product.selling_price, currency)
            attrs.update(self.pickup_attributes(location))
            body = {"storeCode": store, "localInventoryAttributes": attrs}
            items.append(PushItem("local", f"{product.sku}@{store}", product.sku, body))
        return items

    def pickup_attributes(self, location: str) -> dict[str, str]:
        """Pickup for stores that offer it, as the TSV feed writes it (v1 enum spellings)."""
        where = self.context.locations.get(location)
        if where is None or not where.pickup:
            return {}
        method = self.config.pickup_method.upper().replace(" ", "_")
        return {"pickupMethod": method, "pickupSla": _SLA[self.config.pickup_sla]}

    def removal(self, stream: str, key: str, sku: str) -> PushItem | None:
        store = key.rsplit("@", 1)[1]
        attrs = {"availability": "OUT_OF_STOCK", "quantity": "0"}
        return PushItem(stream, key, sku, {"storeCode": store, "localInventoryAttributes": attrs})

    def send(self, client: Api, stream: str, batch: list[PushItem]) -> list[ItemResult]:
        results = []
        for item in batch:
            path = api.local_path(self.config.api, item.sku)
            error = api.call(client, "POST", path, json=dict(item.payload))
            results.append(ItemResult(item.key, error is None, error))
        return results
