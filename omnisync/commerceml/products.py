"""A good of ``import.xml`` and one of its offers in ``offers.xml`` → a :class:`Product`.

The SKU is the good's ``Артикул`` when it has one, otherwise its ``Ид``. An offer whose ``Ид``
is ``good#characteristic`` is a variant: its SKU is its own ``Артикул`` when that differs from
the good's (1C copies the good's into every characteristic), otherwise its whole ``Ид``; its
``item_group_id`` is the good's SKU. A value that cannot be read raises ``RowError``.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from omnisync.catalogs import CommerceMLCatalog
from omnisync.commerceml.parse import Classifier, Good, Offer, Package
from omnisync.models import EMPTY, Problem, Product, Severity
from omnisync.sources.base import ProblemSink
from omnisync.sources.sidefiles import negative_warning
from omnisync.sources.values import RowError, parse_money, parse_on_hand

# What 1C calls these properties out of the box; ``catalog.properties`` adds to them.
DEFAULT_PROPERTIES = {"Изготовитель": "brand", "Производитель": "brand", "Бренд": "brand",
                      "Цвет": "color", "Размер": "size"}  # fmt: skip
# Product fields a property may fill; any other name becomes an attribute of that name.
FIELDS = frozenset({"brand", "color", "size", "mpn", "gtin", "google_category", "condition",
                    "url", "availability", "availability_date", "item_group_id"})  # fmt: skip
# 1C's own currency names (a ТипЦены's Валюта is often "тнг" or "руб") → ISO 4217.
CURRENCIES = {"тнг": "KZT", "тг": "KZT", "тенге": "KZT", "₸": "KZT", "398": "KZT",
              "руб": "RUB", "руб.": "RUB", "₽": "RUB", "643": "RUB"}  # fmt: skip
_SLUG = re.compile(r"[^0-9a-zа-яёәіңғүұқөһ]+")


def slug(sku: str) -> str:
    """``HP-Sonora X2`` → ``hp-sonora-x2``: what shops put in product URLs."""
    return _SLUG.sub("-", sku.lower()).strip("-")


def currency(raw: str) -> str:
    code = CURRENCIES.get(raw.strip().lower(), raw.strip().upper())
    return code if re.fullmatch(r"[A-Z]{3}", code) else ""


def sku_of(good: Good, offer: Offer) -> str:
    if not offer.variant:
        return good.article or offer.article or good.id
    own = offer.article and offer.article != good.article
    return offer.article if own else offer.id


class Maker:
    """Builds products with one exchange set's settings, price types and warehouses."""

    def __init__(self, settings: CommerceMLCatalog, package: Package, classifier: Classifier):
        self.settings, self.classifier = settings, classifier
        self.names = {**DEFAULT_PROPERTIES, **settings.properties}
        self.price = package.price_type(settings.price_type) or ""
        self.sale = package.price_type(settings.sale_price_type or "") or ""
        self.cities = {
            package.price_type(name): city for name, city in settings.city_price_types.items()
        }
        self.currencies = {i: currency(c) for i, (_, c) in package.price_types.items()}
        self.warehouses = {i: settings.warehouses.get(i, i) for i in package.warehouses}

    def product(
        self, good: Good, offer: Offer, sku: str, file: str, on_problem: ProblemSink
    ) -> Product:
        fields, attributes = self._mapped(good, offer)
        if not offer.variant:
            fields.setdefault("item_group_id", "")
        else:
            fields["item_group_id"] = good.article or good.id
        url = fields.pop("url", "") or self._url(sku, offer)
        pictures = [self._image(p) for p in offer.pictures or good.pictures]
        return Product(
            sku=sku,
            title=offer.name or good.name,
            description=offer.description or good.description,
            gtin=fields.pop("gtin", "") or offer.barcode or good.barcode,
            url=url,
            image_url=pictures[0] if pictures else "",
            additional_image_urls=tuple(pictures[1:]),
            category=self._category(good),
            attributes=attributes or EMPTY,
            file=file,
            line=offer.line,
            **self._money(offer),
            **self._stock(offer, _Units(file, offer.line, sku, on_problem)),
            **fields,
        )

    def _mapped(self, good: Good, offer: Offer) -> tuple[dict[str, Any], dict[str, str]]:
        """Fields and attributes from the good's and the offer's properties (the offer's win)
        and the requisites a property name maps."""
        fields: dict[str, Any] = {}
        attributes: dict[str, str] = {}
        requisites = {k: v for k, v in good.requisites.items() if k in self.names}
        for name, value in {**requisites, **good.properties, **offer.properties}.items():
            target = self.names.get(name, name)
            (fields if target in FIELDS else attributes)[target] = value
        return fields, attributes

    def _url(self, sku: str, offer: Offer) -> str:
        return self.settings.url_template.format(
            sku=quote(sku, safe=""), slug=quote(slug(sku), safe=""), id=quote(offer.id, safe="")
        )

    def _image(self, picture: str) -> str:
        if "://" in picture:
            return picture
        return self.settings.image_base_url + quote(picture.lstrip("/"), safe="/")

    def _category(self, good: Good) -> tuple[str, ...]:
        for group in good.groups:
            if group in self.classifier.groups:
                return self.classifier.groups[group]
        return ()

    def _money(self, offer: Offer) -> dict[str, Any]:
        price = offer.prices.get(self.price)
        if price is None or not price.amount:
            raise RowError("price", "missing_value", f"no {self.settings.price_type} price")
        sale = offer.prices.get(self.sale) if self.sale else None
        cities = {  # in the file's order, as channels list them
            self.cities[kind]: parse_money(price.amount, "city_price")
            for kind, price in offer.prices.items()
            if kind in self.cities
        }
        return {
            "price": parse_money(price.amount, "price"),
            "sale_price": parse_money(sale.amount, "sale_price") if sale else None,
            "currency": currency(price.currency) or self.currencies.get(self.price, ""),
            "city_prices": cities or None,
        }

    def _stock(self, offer: Offer, units: _Units) -> dict[str, Any]:
        """Stock by location when the offer gives it by warehouse. When the package lists
        warehouses, an offer without any has none anywhere: a bare ``Количество`` total cannot
        be placed, and showing it at every location would oversell (a warning says so).
        Without warehouses, the ``Количество`` total is the stock."""
        quantity = units(offer.quantity) if offer.quantity else None
        if not offer.stock:
            if self.warehouses and quantity:
                units.warn("stock", "stock_total_only", f"Количество {quantity} is not given by "
                           "warehouse (Склад); counted as none at each location")  # fmt: skip
            return {"quantity": quantity, "stock": {} if self.warehouses else None}
        stock: dict[str, int] = {}
        for warehouse, raw in offer.stock.items():
            code = self.warehouses.get(warehouse, self.settings.warehouses.get(warehouse))
            if code is None:
                raise RowError(
                    "stock", "unknown_warehouse", f"Склад {warehouse!r} is not in Склады"
                )
            stock[code] = stock.get(code, 0) + (units(raw) if raw else 0)
        return {"quantity": quantity, "stock": stock}


class _Units:
    """On-hand units of one offer. 1C writes ``12.000`` and, after an oversell, negative counts:
    a channel can only show none, so those count as 0 with a warning."""

    def __init__(self, file: str, line: int, sku: str, on_problem: ProblemSink) -> None:
        self.file, self.line, self.sku, self.on_problem = file, line, sku, on_problem

    def warn(self, field: str, code: str, message: str) -> None:
        self.on_problem(
            Problem(code, message, Severity.WARNING, self.sku, None, field, self.file, self.line)
        )

    def __call__(self, raw: str) -> int:
        units, negative = parse_on_hand(raw)
        if negative:
            self.on_problem(negative_warning(self.file, self.line, self.sku, raw))
        return units
