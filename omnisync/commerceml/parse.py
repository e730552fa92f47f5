"""CommerceML 2 elements → plain values (channels.md §6.2, §6.3).

Element names follow the CS-Cart samples the reference cites; 1C writes them with or without
the ``urn:1C.ru:commerceml_2`` namespace, so children are matched by local name. Nothing here
judges a value: numbers stay text until the source parses them and reports what fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

DELETED = "Удален"  # Статус="Удален" marks a deleted item (§6.2, seen in samples)
EMPTY_REF = "00000000-0000-0000-0000-000000000000"  # 1C's "no value" for a reference property


def local(tag: object) -> str:
    """``{urn:1C.ru:commerceml_2}Товар`` → ``Товар``; comments and PIs have no str tag."""
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2]


def children(element: Any, name: str = "") -> Iterator[Any]:
    """Child elements (named ``name``, when given)."""
    for child in element:
        if isinstance(child.tag, str) and (not name or local(child.tag) == name):
            yield child


def text(element: Any, name: str) -> str:
    """The stripped text of the first child named ``name``; empty when there is none."""
    for child in children(element, name):
        return (child.text or "").strip()
    return ""


def texts(element: Any, outer: str, inner: str) -> list[str]:
    """Every ``outer/inner`` child text, in order (``Группы/Ид``)."""
    return [
        (leaf.text or "").strip()
        for box in children(element, outer)
        for leaf in children(box, inner)
    ]


def is_deleted(element: Any) -> bool:
    """``Статус="Удален"`` as an attribute or ``<Статус>Удален</Статус>`` as a child, or
    ``<ПометкаУдаления>`` true ("true" or "Да": both are written by 1C's modules)."""
    if DELETED in (element.get("Статус"), text(element, "Статус")):
        return True
    return text(element, "ПометкаУдаления").lower() in ("true", "да")


def only_changes(element: Any) -> bool:
    """``СодержитТолькоИзменения="true"``: a partial export."""
    return (element.get("СодержитТолькоИзменения") or "").strip().lower() == "true"


@dataclass(slots=True)
class Classifier:
    """Groups as category paths; properties as (name, {value id: value}) for Справочник."""

    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)
    properties: dict[str, tuple[str, dict[str, str]]] = field(default_factory=dict)

    def read(self, element: Any) -> None:
        for box in children(element, "Группы"):
            self._groups(box, ())
        for box in children(element, "Свойства"):
            for prop in children(box):  # Свойство (2.05+) or СвойствоНоменклатуры (2.03)
                variants = {
                    text(value, "ИдЗначения"): text(value, "Значение")
                    for options in children(prop, "ВариантыЗначений")
                    for value in children(options)
                }
                self.properties[text(prop, "Ид")] = (text(prop, "Наименование"), variants)

    def _groups(self, box: Any, path: tuple[str, ...]) -> None:
        for group in children(box, "Группа"):
            here = (*path, text(group, "Наименование"))
            self.groups[text(group, "Ид")] = here
            for inner in children(group, "Группы"):
                self._groups(inner, here)

    def values(self, element: Any) -> dict[str, str]:
        """``ЗначенияСвойств``: property name → value (a Справочник id resolved to its text;
        several values joined with ', ')."""
        found: dict[str, str] = {}
        for box in children(element, "ЗначенияСвойств"):
            for value in children(box, "ЗначенияСвойства"):
                name, variants = self.properties.get(text(value, "Ид"), (text(value, "Ид"), {}))
                parts = [(v.text or "").strip() for v in children(value, "Значение")]
                shown = [variants.get(part, part) for part in parts if part and part != EMPTY_REF]
                if shown:
                    found[name] = ", ".join(shown)
        return found


def pairs(element: Any, outer: str, inner: str) -> dict[str, str]:
    """``ЗначенияРеквизитов/ЗначениеРеквизита`` or ``ХарактеристикиТовара/ХарактеристикаТовара``:
    Наименование → Значение."""
    return {
        text(item, "Наименование"): text(item, "Значение")
        for box in children(element, outer)
        for item in children(box, inner)
        if text(item, "Наименование") and text(item, "Значение")
    }


def common(element: Any) -> dict[str, Any]:
    """What a ``Товар`` and a ``Предложение`` both carry."""
    return {
        "id": text(element, "Ид"),
        "article": text(element, "Артикул"),
        "name": text(element, "Наименование"),
        "description": text(element, "Описание"),
        "barcode": text(element, "Штрихкод"),
        "pictures": [(p.text or "").strip() for p in children(element, "Картинка") if p.text],
    }


@dataclass(slots=True)
class Good:
    """One ``Товар`` of ``import.xml``."""

    id: str
    article: str
    name: str
    description: str
    barcode: str
    groups: list[str]
    pictures: list[str]
    properties: dict[str, str]  # properties, characteristics and the manufacturer, by name
    requisites: dict[str, str]  # ЗначенияРеквизитов: 1C's own bookkeeping, used when mapped
    deleted: bool
    line: int

    @classmethod
    def read(cls, element: Any, classifier: Classifier) -> Good:
        values = pairs(element, "ХарактеристикиТовара", "ХарактеристикаТовара")
        maker = [text(m, "Наименование") for m in children(element, "Изготовитель")]
        if maker and maker[0]:
            values["Изготовитель"] = maker[0]
        values.update(classifier.values(element))
        return cls(
            **common(element),
            groups=texts(element, "Группы", "Ид"),
            properties=values,
            requisites=pairs(element, "ЗначенияРеквизитов", "ЗначениеРеквизита"),
            deleted=is_deleted(element),
            line=element.sourceline or 0,
        )


@dataclass(slots=True)
class Price:
    type_id: str
    amount: str  # ЦенаЗаЕдиницу as written: '.' or ',' (§6.3)
    currency: str


@dataclass(slots=True)
class Offer:
    """One ``Предложение`` of ``offers.xml``; its description, pictures, barcode and properties
    are its own (a characteristic's), overriding its good's when given."""

    id: str
    article: str
    name: str
    description: str
    barcode: str
    pictures: list[str]
    properties: dict[str, str]  # its characteristics and property values
    prices: dict[str, Price]
    quantity: str | None  # Количество: the total (2.03–2.07)
    stock: dict[str, str]  # Склад Ид → quantity as written
    deleted: bool
    line: int

    @property
    def good_id(self) -> str:
        return self.id.partition("#")[0]

    @property
    def own_id(self) -> str:
        """The Ид 1C matches: ``good#`` (an empty characteristic part) is the good's own."""
        return self.id if self.variant else self.good_id

    @property
    def variant(self) -> bool:
        """``Ид`` is ``good#characteristic``."""
        return bool(self.id.partition("#")[2])

    @classmethod
    def read(cls, element: Any, classifier: Classifier) -> Offer:
        values = pairs(element, "ХарактеристикиТовара", "ХарактеристикаТовара")
        values.update(classifier.values(element))
        return cls(
            **common(element),
            properties=values,
            prices=_prices(element),
            quantity=_total(element),
            stock=_stock(element),
            deleted=is_deleted(element),
            line=element.sourceline or 0,
        )


def _prices(element: Any) -> dict[str, Price]:
    found: dict[str, Price] = {}
    for box in children(element, "Цены"):
        for price in children(box, "Цена"):
            kind = text(price, "ИдТипаЦены")
            found.setdefault(kind, Price(kind, text(price, "ЦенаЗаЕдиницу"), text(price, "Валюта")))
    return found


def _stock(element: Any) -> dict[str, str]:
    """Per-warehouse stock in either form §6.3 lists: ``<Склад ИдСклада КоличествоНаСкладе/>``
    (2.04–2.07) or ``<Остатки><Остаток><Склад><Ид/><Количество/>`` (2.08)."""
    found: dict[str, str] = {}
    for store in children(element, "Склад"):
        found[store.get("ИдСклада", "").strip()] = store.get("КоличествоНаСкладе", "").strip()
    for box in children(element, "Остатки"):
        for rest in children(box, "Остаток"):
            for store in children(rest, "Склад"):
                found[text(store, "Ид")] = text(store, "Количество")
    return found


def _total(element: Any) -> str | None:
    """The on-hand total: ``<Количество>`` (2.03–2.07), or an ``<Остаток><Количество>``
    without a warehouse (rests packages)."""
    for quantity in children(element, "Количество"):
        return (quantity.text or "").strip()
    for box in children(element, "Остатки"):
        for rest in children(box, "Остаток"):
            if not any(True for _ in children(rest, "Склад")):
                return text(rest, "Количество")
    return None


@dataclass(slots=True)
class Package:
    """The ``ПакетПредложений`` header: price types and warehouses, by Ид."""

    price_types: dict[str, tuple[str, str]] = field(default_factory=dict)  # Ид → (name, currency)
    warehouses: dict[str, str] = field(default_factory=dict)  # Ид → name

    def read(self, element: Any) -> None:
        if local(element.tag) == "ТипыЦен":
            for kind in children(element, "ТипЦены"):
                self.price_types[text(kind, "Ид")] = (
                    text(kind, "Наименование"),
                    text(kind, "Валюта"),
                )
        else:
            for store in children(element, "Склад"):
                self.warehouses[text(store, "Ид")] = text(store, "Наименование")

    def price_type(self, name: str) -> str | None:
        """The Ид of the price type called ``name``."""
        return next((i for i, (n, _) in self.price_types.items() if n == name), None)
