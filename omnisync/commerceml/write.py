"""A catalogue → a CommerceML 2 exchange set (``import.xml`` + ``offers.xml``) that
``CommerceMLSource`` reads back as the same products, with the same settings.

It is how the demo's 1C export is made from the demo catalogue (``python -m
omnisync.commerceml.write``) and what the round-trip test checks the reader against. Variants
(an ``item_group_id``) become characteristics of one good: ``group#<uuid>`` offers carrying
their own name, description, pictures, barcode and characteristics. Ids are UUIDs derived from
the SKU, as stable as 1C's own.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from lxml import etree

from omnisync.catalogs import CommerceMLCatalog
from omnisync.commerceml.products import DEFAULT_PROPERTIES, FIELDS, slug
from omnisync.models import EMPTY, Product

_IDS = uuid.UUID("6f1c2a8e-1c00-4c0d-9a55-0b1e5a7c0de1")
STAMP = "2026-05-20T10:00:00"  # a fixed ДатаФормирования keeps generated files reproducible


def guid(*parts: str) -> str:
    return str(uuid.uuid5(_IDS, "\x1f".join(parts)))


def write(
    products: Iterable[Product],
    settings: CommerceMLCatalog,
    encoding: str = "utf-8",
    warehouse_names: Mapping[str, str] = EMPTY,
) -> None:
    """Write ``settings.import_file`` and ``settings.offers`` from ``products`` (streamed: the
    goods go to a temporary file while the classifier they need is collected)."""
    names = _names(settings)
    classifier = _Classifier()
    with tempfile.TemporaryDirectory() as folder:
        goods_part = Path(folder) / "goods.xml"
        with (
            etree.xmlfile(str(goods_part), encoding=encoding) as goods,
            etree.xmlfile(str(settings.offers), encoding=encoding) as offers,
        ):
            offers.write_declaration()
            with (
                offers.element(
                    "КоммерческаяИнформация", ВерсияСхемы="2.05", ДатаФормирования=STAMP
                ),
                offers.element("ПакетПредложений", СодержитТолькоИзменения="false"),
            ):
                for part in _header(settings, warehouse_names):
                    _put(offers, part)
                with offers.element("Предложения"), goods.element("Товары"):
                    _stream(products, settings, names, classifier, goods, offers)
        _assemble(settings.import_file, classifier, goods_part, encoding)


def _stream(
    products: Iterable[Product],
    settings: CommerceMLCatalog,
    names: dict[str, str],
    classifier: _Classifier,
    goods: Any,
    offers: Any,
) -> None:
    written: set[str] = set()  # the groups (few) whose good is written
    for product in products:
        values = _values(product, settings, names)
        group = product.item_group_id
        if not group:
            good_id = guid("good", product.sku)
            _put(goods, _good(product, good_id, product.sku, values, classifier, settings))
            _put(offers, _offer(product, good_id, {}, settings))
            continue
        if group not in written:
            written.add(group)
            _put(goods, _good(product, group, "", {}, classifier, settings))
        _put(offers, _offer(product, f"{group}#{guid('variant', product.sku)}", values, settings))


def _put(out: Any, element: Any) -> None:
    """One element per block of lines, as 1C writes them: problems then point at a line."""
    etree.indent(element)
    out.write("\n")
    out.write(element)


def _names(settings: CommerceMLCatalog) -> dict[str, str]:
    """Field or attribute → the 1C name the reader maps to it (the first one that does)."""
    names: dict[str, str] = {}
    for name, target in {**DEFAULT_PROPERTIES, **settings.properties}.items():
        names.setdefault(target, name)
    return names


def _values(product: Product, settings: CommerceMLCatalog, names: dict[str, str]) -> dict[str, str]:
    values = {names.get(k, k): v for k, v in product.attributes.items()}
    url = settings.url_template.format(sku=product.sku, slug=slug(product.sku), id="")
    fields = {f: getattr(product, f) for f in sorted(FIELDS - {"item_group_id", "url", "gtin"})}
    fields["url"] = "" if product.url == url else product.url
    for field, value in fields.items():
        if value and field not in names:
            raise ValueError(f"{product.sku}: {field} needs a catalog.properties name to go in")
        if value:
            values[names[field]] = value
    return values


def _good(
    product: Product,
    good_id: str,
    article: str,
    values: dict[str, str],
    classifier: _Classifier,
    settings: CommerceMLCatalog,
) -> Any:
    good = etree.Element("Товар")
    _leaves(good, Ид=good_id, Артикул=article, Наименование=product.title)
    if not product.item_group_id:
        _leaves(good, Штрихкод=product.gtin, Описание=product.description)
        _pictures(good, product, settings)
    if product.category:
        etree.SubElement(etree.SubElement(good, "Группы"), "Ид").text = classifier.group(
            product.category
        )
    if values:
        box = etree.SubElement(good, "ЗначенияСвойств")
        for name, value in values.items():
            _leaves(
                etree.SubElement(box, "ЗначенияСвойства"),
                Ид=classifier.property(name),
                Значение=value,
            )
    return good


def _offer(
    product: Product, offer_id: str, values: dict[str, str], settings: CommerceMLCatalog
) -> Any:
    offer = etree.Element("Предложение")
    _leaves(offer, Ид=offer_id, Артикул=product.sku, Наименование=product.title)
    if product.item_group_id:
        _leaves(offer, Штрихкод=product.gtin, Описание=product.description)
        _pictures(offer, product, settings)
        box = etree.SubElement(offer, "ХарактеристикиТовара")
        for name, value in values.items():
            _leaves(
                etree.SubElement(box, "ХарактеристикаТовара"), Наименование=name, Значение=value
            )
    prices = etree.SubElement(offer, "Цены")
    amounts = [(settings.price_type, product.price)]
    if product.sale_price is not None and settings.sale_price_type:
        amounts.append((settings.sale_price_type, product.sale_price))
    by_city = {city: name for name, city in settings.city_price_types.items()}
    amounts += [(by_city[c], p) for c, p in (product.city_prices or {}).items()]
    for kind, amount in amounts:
        price = etree.SubElement(prices, "Цена")
        _leaves(
            price,
            ИдТипаЦены=guid("price", kind),
            ЦенаЗаЕдиницу=str(amount),
            Валюта=product.currency,
        )
    total = sum(product.stock.values()) if product.stock else product.quantity
    if total is not None and product.stock != {}:  # 1C writes the total of its warehouses
        _leaves(offer, Количество=str(total))
    ids = {code: i for i, code in settings.warehouses.items()}
    for code, units in (product.stock or {}).items():
        etree.SubElement(
            offer, "Склад", ИдСклада=ids.get(code, code), КоличествоНаСкладе=str(units)
        )
    return offer


def _pictures(parent: Any, product: Product, settings: CommerceMLCatalog) -> None:
    for url in (product.image_url, *product.additional_image_urls):
        base = settings.image_base_url
        etree.SubElement(parent, "Картинка").text = url.removeprefix(base) if base else url


def _leaves(parent: Any, **values: str) -> None:
    for tag, value in values.items():
        if value:
            etree.SubElement(parent, tag).text = value


def _header(settings: CommerceMLCatalog, warehouse_names: Mapping[str, str]) -> Any:
    header = etree.Element("Шапка")  # a wrapper only: its children are written
    kinds = etree.SubElement(header, "ТипыЦен")
    names = [settings.price_type, settings.sale_price_type, *settings.city_price_types]
    for name in (n for n in names if n):
        _leaves(etree.SubElement(kinds, "ТипЦены"), Ид=guid("price", name), Наименование=name)
    stores = etree.SubElement(header, "Склады")
    for warehouse, code in settings.warehouses.items():
        _leaves(
            etree.SubElement(stores, "Склад"),
            Ид=warehouse,
            Наименование=warehouse_names.get(code, code),
        )
    return header


class _Classifier:
    def __init__(self) -> None:
        self.groups: dict[tuple[str, ...], str] = {}
        self.properties: dict[str, str] = {}

    def group(self, path: tuple[str, ...]) -> str:
        for depth in range(1, len(path) + 1):
            self.groups.setdefault(path[:depth], guid("group", *path[:depth]))
        return self.groups[path]

    def property(self, name: str) -> str:
        return self.properties.setdefault(name, guid("property", name))

    def element(self) -> Any:
        root = etree.Element("Классификатор")
        _leaves(
            root, Ид=guid("classifier"), Наименование="Классификатор (Основной каталог товаров)"
        )
        top = etree.SubElement(root, "Группы")
        elements: dict[tuple[str, ...], Any] = {}
        for path, group_id in sorted(self.groups.items()):  # a parent sorts before its groups
            parent: Any = elements.get(path[:-1])
            box = top if parent is None else parent.find("Группы")
            if box is None:
                box = etree.SubElement(parent, "Группы")
            elements[path] = etree.SubElement(box, "Группа")
            _leaves(elements[path], Ид=group_id, Наименование=path[-1])
        props = etree.SubElement(root, "Свойства")
        for name, prop_id in self.properties.items():
            _leaves(
                etree.SubElement(props, "Свойство"),
                Ид=prop_id,
                Наименование=name,
                ТипЗначений="Строка",
            )
        return root


def _assemble(target: Path, classifier: _Classifier, goods_part: Path, encoding: str) -> None:
    """import.xml: the classifier first (1C reads groups and properties before goods), then the
    goods written meanwhile, copied byte for byte (the same encoding throughout)."""
    catalog = etree.Element("Каталог", СодержитТолькоИзменения="false")
    _leaves(
        catalog,
        Ид=guid("catalog"),
        ИдКлассификатора=guid("classifier"),
        Наименование="Основной каталог товаров",
    )
    opened = _bytes(catalog, encoding).rsplit(b"</", 1)[0]
    with target.open("wb") as out:
        out.write(f'<?xml version="1.0" encoding="{encoding}"?>\n'.encode(encoding))
        out.write(
            f'<КоммерческаяИнформация ВерсияСхемы="2.05" ДатаФормирования="{STAMP}">'.encode(
                encoding
            )
        )
        classified = classifier.element()
        etree.indent(classified)
        out.write(b"\n" + _bytes(classified, encoding) + b"\n")
        out.write(opened)
        with goods_part.open("rb") as part:
            shutil.copyfileobj(part, out)
        out.write("</Каталог></КоммерческаяИнформация>\n".encode(encoding))


def _bytes(element: Any, encoding: str) -> bytes:
    data = etree.tostring(element, encoding=encoding, xml_declaration=False)
    assert isinstance(data, bytes)  # an encoding was given
    return data
