"""Kaspi.kz XML price list (channels.md §2.1): per-store availability and stock, one price or
per-city prices, in whole tenge. Kaspi fetches the file from a URL, so publishing it is the push.

Every built file is validated against ``omnisync/schemas/kaspi.xsd`` before it replaces the old
one (the official XSD is not public; ours is written from the spec, see the file's header).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any, BinaryIO, Literal

from lxml import etree
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from omnisync.channels import kaspi_orders, limits
from omnisync.channels.base import Channel, Record, StoreMapConfig
from omnisync.channels.capabilities import FeedWriter, PullsOrders
from omnisync.channels.writers import (
    Node,
    SingleFileFeed,
    XmlDocument,
    XmlFeedWriter,
    count_xml,
)
from omnisync.checks import currency_mismatch
from omnisync.http import Api, Budget, limiter_for
from omnisync.models import Problem, Product, Severity
from omnisync.secrets import Secret
from omnisync.text import one_line, xml_safe
from omnisync.xmlinput import HARDENED, iter_elements

NS = "kaspiShopping"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XS = "http://www.w3.org/2001/XMLSchema"
SCHEMA_LOCATION = "kaspiShopping http://kaspi.kz/kaspishopping.xsd"
SAFE_SKU = re.compile(r"^[A-Za-z0-9_.-]+$")
# Kaspi.kz sells in tenge: <price> and <cityprice> are whole KZT (channels.md §2.1, §2.5 item 5);
# the file has no currency of its own, so a row in another currency cannot be published.
CURRENCY = "KZT"
# A location's city as locations.csv names it → the Kaspi city id (or the id itself).
CITY_IDS = {name.casefold(): city for city, name in limits.KASPI_CITIES.items()}


class KaspiUpload(BaseModel):
    """Where to PUT the published price list besides its file (Kaspi itself fetches the file
    from a URL; an upload serves setups where that URL is another server)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    url: str = Field(pattern=r"^https?://\S+$")
    token: Secret | None = None  # sent as Authorization: Bearer


class KaspiConfig(StoreMapConfig):
    """``stores``: our location code → Kaspi storeId (the PP code shown in the cabinet)."""

    type: Literal["kaspi"]
    upload: KaspiUpload | None = None
    # The Shop API for orders (channels.md §2.2): X-Auth-Token from the merchant cabinet.
    base_url: str = Field(default="https://kaspi.kz/shop/api/v2", pattern=r"^https?://\S+$")
    token: Secret | None = None
    requests_per_minute: float = Field(default=60, gt=0)  # none published: be conservative
    company: str = Field(pattern=r"\S")
    merchant_id: str = Field(pattern=r"^\S+$")
    pre_order: int | None = Field(default=None, ge=0, le=limits.KASPI_PREORDER_MAX_DAYS)


def _q(tag: str) -> str:
    return f"{{{NS}}}{tag}"


@cache
def schema(streaming: bool = False) -> etree.XMLSchema:
    """The shipped XSD. ``streaming`` drops its uniqueness constraints: libxml2 keeps every key
    of an identity constraint in memory (about 0.5 KB per offer), which a million-offer file
    cannot afford. Uniqueness is already enforced while building: SKUs by the pipeline's id
    check, storeIds by the config (see KaspiConfig)."""
    source = files("omnisync").joinpath("schemas/kaspi.xsd").read_bytes()
    root = etree.fromstring(source, etree.XMLParser(**HARDENED))
    if streaming:
        for unique in list(root.iter(f"{{{XS}}}unique")):
            parent = unique.getparent()
            assert parent is not None
            parent.remove(unique)
    return etree.XMLSchema(root)


def whole_tenge(amount: Decimal) -> int:
    return int(amount.to_integral_value(ROUND_HALF_UP))


class Kaspi(Channel, PullsOrders, SingleFileFeed):
    config_model = KaspiConfig
    config: KaspiConfig
    publish_is_push = True  # Kaspi fetches the published file (channels.md §2.1)
    label = "Kaspi"
    reads = frozenset({"city_prices"})  # a price per city (channels.md §2)
    suffix = "xml"

    def to_record(self, product: Product) -> Record:
        record = self.new_record(product)
        record.fields = {
            # One line: the XSD's non-empty pattern, like Kaspi's cards, has no line breaks.
            "model": one_line(self.title(record, product, "model")).strip(),
            "brand": one_line(xml_safe(product.brand)).strip(),
            "availabilities": [
                self._availability(product, loc, store) for loc, store in self.config.stores.items()
            ],
            **self._prices(product, record),
            "currency": product.currency,  # not written: checked (_checks), every price is KZT
        }
        self._note_unpriced_stores(record)
        return record

    def _availability(self, product: Product, location: str, store: str) -> dict[str, str]:
        units = self.units_at(product, location)
        if units is None:  # no per-store stock in the catalogue: fall back to the channel total
            total = self.units(product)
            attrib = {"available": "no" if total == 0 else "yes", "storeId": store}
        else:
            attrib = {
                "available": "yes" if units > 0 else "no",
                "storeId": store,
                "stockCount": str(units),
            }
        if self.config.pre_order is not None and attrib["available"] == "yes":
            attrib["preOrder"] = str(self.config.pre_order)
        return attrib

    def _prices(self, product: Product, record: Record) -> dict[str, Any]:
        # Kaspi takes whole tenge (channels.md §2.1, unconfirmed): round, and say so.
        price = product.selling_price
        if product.city_prices:
            cities = sorted(product.city_prices.items())
            for city, amount in cities:
                self._note_rounding(record, f"cityprice {city}", amount)
            return {"cityprices": [(city, whole_tenge(amount)) for city, amount in cities]}
        self._note_rounding(record, "price", price)
        return {"price": whole_tenge(price)}

    def _note_unpriced_stores(self, record: Record) -> None:
        """With per-city prices, a store that sells the item in a city without one is said: the
        offer goes out as it is, but Kaspi has no price for it there (channels.md §2.1)."""
        priced = {city for city, _ in record.fields.get("cityprices", ())}
        if not priced:
            return  # one <price> for every city
        stores = zip(self.config.stores, record.fields["availabilities"], strict=True)
        for location, attrib in stores:
            if location not in self.context.locations:
                continue  # a channel used on its own: where its stores are is not known
            city = self.city_of(location)
            if attrib["available"] == "yes" and city not in priced:
                message = self._unpriced(location, attrib, city)
                record.notes.append(self.problem(
                    record, "cityprices", "city_price_missing", message, Severity.WARNING
                ))  # fmt: skip

    def city_of(self, location: str) -> str | None:
        """The Kaspi city id of a location: its city as an id, or a known city's name."""
        city = self.context.locations[location].city.strip()
        return city if city.isdigit() else CITY_IDS.get(city.casefold())

    def _unpriced(self, location: str, attrib: dict[str, str], city: str | None) -> str:
        named = self.context.locations[location].city or "no city in locations.csv"
        stock = f"{attrib['stockCount']} in stock" if "stockCount" in attrib else "stock"
        reason = (
            f"no cityprice for its city {city}" if city
            else "its city is not a known Kaspi city id, so no cityprice can match it"
        )  # fmt: skip
        return (
            f"store {attrib['storeId']} ({location}, {named}) has {stock} but {reason}; add the "
            "city's price (city_prices.csv), or Kaspi has no price to sell it at there"
        )

    def _note_rounding(self, record: Record, field: str, amount: Decimal) -> None:
        if amount != amount.to_integral_value():
            record.notes.append(self.problem(
                record, "price", "price_rounded",
                f"{field} {amount} rounded to {whole_tenge(amount)}: Kaspi takes whole tenge",
                Severity.WARNING,
            ))  # fmt: skip

    def validate(self, record: Record) -> list[Problem]:
        return [*record.notes, *(self.problem(record, *f, severity=s) for f, s in _checks(record))]

    def open_stream(self, output: str, stream: BinaryIO) -> FeedWriter:
        date = self.context.now.strftime(limits.KASPI_DATE_FORMAT)
        return KaspiWriter(output, stream, self.config, date)

    def count_items(self, output: str, path: Path) -> int:
        return count_xml(path, _q("offer"))

    @property
    def account(self) -> str:
        return self.config.merchant_id

    def can_pull(self) -> bool:
        return self.config.token is not None

    def orders_api(self, budget: Budget) -> Api:
        assert self.config.token is not None
        token: SecretStr = self.config.token
        headers = {
            "X-Auth-Token": token.get_secret_value(),
            "Content-Type": "application/vnd.api+json",
        }
        limiter = limiter_for("kaspi", self.account, self.config.requests_per_minute)
        return Api(self.name, self.config.base_url, headers, limiter=limiter, budget=budget)

    def pull_orders(self, api: Any, since: datetime, until: datetime) -> Iterator[list[Any]]:
        return kaspi_orders.pages(self, api, since, until)

    def after_publish(self, paths: list[Path], budget: Budget) -> None:
        """PUT the published price list to ``upload.url`` when configured."""
        if self.config.upload is None:
            return
        upload = self.config.upload
        headers = {"Content-Type": "application/xml"}
        if upload.token is not None:
            token: SecretStr = upload.token
            headers["Authorization"] = f"Bearer {token.get_secret_value()}"
        client = Api(self.name, upload.url, headers, budget=budget)
        try:
            client.request("PUT", upload.url, content=paths[0].read_bytes())
        finally:
            client.close()

    def verify(self, output: str, path: Path) -> str | None:
        """Stream the written file through the shipped XSD (§2.5 checklist, items 1-5)."""
        try:
            for _ in iter_elements(path, _q("offer"), schema(streaming=True)):
                pass
        except etree.XMLSyntaxError as exc:
            return f"fails the Kaspi schema: {exc.msg}"
        return None


def _checks(record: Record) -> list[tuple[tuple[str, str, str], Severity]]:
    """§2.5: sku, model, positive prices, known cities."""
    f, found = record.fields, []
    error, warning = Severity.ERROR, Severity.WARNING
    if len(record.key) > limits.KASPI_SKU_MAX:
        found.append(
            (
                (
                    "sku",
                    "sku_too_long",
                    f"sku has {len(record.key)} characters; Kaspi allows 1 to 64",
                ),
                error,
            )
        )
    elif len(record.key) > limits.KASPI_SKU_SAFE_MAX or not SAFE_SKU.match(record.key):
        found.append(
            (
                (
                    "sku",
                    "sku_format",
                    "Kaspi SKUs are safest as up to 20 Latin letters, digits, '-', '_', '.'",
                ),
                warning,
            )
        )
    if not f["model"].strip():
        found.append((("model", "model_missing", "model (the title) is empty"), error))
    mismatch = currency_mismatch(f["currency"], CURRENCY, "Kaspi prices are in")
    if mismatch:  # city prices too: one currency per row (Product.currency)
        found.append((("currency", "currency_mismatch", mismatch), error))
    prices = f.get("cityprices") or [("", f.get("price", 0))]
    if any(amount <= 0 for _, amount in prices):
        found.append((("price", "price_not_positive", "Kaspi needs a price above 0"), error))
    for city, _ in f.get("cityprices") or ():
        if city not in limits.KASPI_CITIES:
            found.append(
                (
                    (
                        "cityprices",
                        "city_unknown",
                        f"city id {city} is not a known Kaspi city; check it",
                    ),
                    warning,
                )
            )
    return found


class KaspiWriter(XmlFeedWriter):
    def __init__(self, output: str, stream: BinaryIO, config: KaspiConfig, date: str) -> None:
        super().__init__(output)
        self.stream, self.config, self.date = stream, config, date

    def open(self) -> None:
        self.doc = XmlDocument(self.stream, b'<?xml version="1.0" encoding="utf-8"?>')
        attrib = {"date": self.date, f"{{{XSI}}}schemaLocation": SCHEMA_LOCATION}
        self.doc.open(_q("kaspi_catalog"), attrib, nsmap={None: NS, "xsi": XSI})
        self.doc.text(_q("company"), xml_safe(self.config.company))
        self.doc.text(_q("merchantid"), xml_safe(self.config.merchant_id))
        self.doc.open(_q("offers"))

    def write_record(self, record: Record) -> None:
        f = record.fields
        children: list[Node] = [(_q("model"), None, f["model"])]
        if f["brand"]:
            children.append((_q("brand"), None, f["brand"]))
        stores: list[Node] = [(_q("availability"), a, None) for a in f["availabilities"]]
        children.append((_q("availabilities"), None, stores))
        if "cityprices" in f:
            prices: list[Node] = [
                (_q("cityprice"), {"cityId": city}, str(amount)) for city, amount in f["cityprices"]
            ]
            children.append((_q("cityprices"), None, prices))
        else:
            children.append((_q("price"), None, str(f["price"])))
        self.doc.element((_q("offer"), {"sku": record.key}, children))
