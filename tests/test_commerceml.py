"""``catalog: {source: commerceml}``: a 1C CommerceML 2 exchange set read as the catalogue.

tests/data/1c/ is a realistic exchange (2.08, windows-1251, namespaced) written by hand: a
deleted item, characteristics, a Справочник property, nested groups, comma decimals, both
stock forms. configs/demo/1c/ is the demo catalogue as 1C would export it.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import shutil
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import DEMO_CONFIG
from golden import assert_demo_feeds
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omnisync import pipeline
from omnisync.catalogs import CommerceMLCatalog
from omnisync.commerceml.write import write
from omnisync.config import load_config
from omnisync.errors import ConfigError
from omnisync.models import Problem, Product
from omnisync.sources.commerceml import CommerceMLSource
from omnisync.sources.sqlite import StoreSource

DATA = Path(__file__).parent / "data" / "1c"
DEMO_1C = DEMO_CONFIG.parent / "demo-1c.yaml"
NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
WH = "7a7a7a7a-0001-11ee-8c90-0242ac120002"
SHOP = "7a7a7a7a-0002-11ee-8c90-0242ac120002"


def catalog(folder: Path = DATA, **extra: Any) -> CommerceMLCatalog:
    data = {
        "source": "commerceml", "import": str(folder / "import.xml"),
        "offers": str(folder / "offers.xml"), "price_type": "Розничная",
        "url_template": "https://shop.example.kz/p/{sku}",
        "image_base_url": "https://shop.example.kz/upload/",
        "warehouses": {WH: "WH-1", SHOP: "ALM-1"}, "properties": {"Материал корпуса": "material"},
        **extra,
    }  # fmt: skip
    return CommerceMLCatalog.model_validate(data)


def read(settings: CommerceMLCatalog) -> tuple[list[Product], list[Problem]]:
    problems: list[Problem] = []
    source = CommerceMLSource(settings, Path("omnisync.yaml"))
    source.locations(problems.append)
    return list(source.read(problems.append)), problems


def test_a_realistic_exchange_set_reads_as_its_offers() -> None:
    products, _ = read(catalog())
    by_sku = {p.sku: p for p in products}
    white = "5e1f2b10-0002-11ee-8c90-0242ac120002#7c7c7c7c-0001-11ee-8c90-0242ac120002"
    nomad = "5e1f2b10-0004-11ee-8c90-0242ac120002"
    assert list(by_sku) == ["KETTLE-1700", white, "TS-BASIC-BLK-M", nomad]
    kettle = by_sku["KETTLE-1700"]
    assert (kettle.title, kettle.price, kettle.currency) == (
        "Чайник Acme 1,7 л (нерж.)", Decimal("15990.50"), "KZT",
    )  # fmt: skip
    assert kettle.description.endswith("Қазақша: шәйнек.")  # a character reference in cp1251
    assert kettle.brand == "Acme"  # a Справочник value id, resolved through the classifier
    assert kettle.attributes == {"material": "нержавеющая сталь"}  # requisites are not kept
    assert kettle.category == ("Бытовая техника", "Чайники")
    assert kettle.gtin == "4870202100374"
    assert kettle.image_url == "https://shop.example.kz/upload/import_files/5e/5e1f2b10-0001.jpg"
    assert len(kettle.additional_image_urls) == 1
    assert kettle.stock == {"WH-1": 12, "ALM-1": 0}  # 2.08 Остатки; -2 counts as 0
    assert kettle.url == "https://shop.example.kz/p/KETTLE-1700"


def test_characteristics_are_variants_of_their_good() -> None:
    by_sku = {p.sku: p for p in read(catalog())[0]}
    # The white one carries its good's Артикул (1C copies it), so its Ид is its SKU.
    white = by_sku["5e1f2b10-0002-11ee-8c90-0242ac120002#7c7c7c7c-0001-11ee-8c90-0242ac120002"]
    black = by_sku["TS-BASIC-BLK-M"]
    assert white.item_group_id == black.item_group_id == "TS-BASIC"
    assert (white.color, white.size, black.color, black.size) == ("белый", "S", "чёрный", "M")
    assert white.url.endswith("%237c7c7c7c-0001-11ee-8c90-0242ac120002")  # '#' escaped
    assert white.stock == {"ALM-1": 3}  # 2.04–2.07 <Склад КоличествоНаСкладе>
    assert black.stock == {}  # the package lists warehouses: no entry is none
    assert black.gtin == "4870202100749" and black.brand == "Qazaq Textile"
    nomad = by_sku["5e1f2b10-0004-11ee-8c90-0242ac120002"]  # no Артикул: the Ид is the SKU
    assert (nomad.brand, nomad.stock, nomad.quantity) == ("Nomad", {}, 5)  # Изготовитель
    assert nomad.image_url == "https://images.example.kz/nomad.png"  # absolute: kept


def test_every_left_out_good_or_offer_is_reported_with_file_line_and_sku() -> None:
    _, problems = read(catalog())
    nomad = "5e1f2b10-0004-11ee-8c90-0242ac120002"
    found = {(p.code, p.sku, p.file, p.line, p.severity.value) for p in problems}
    assert found == {
        ("deleted_item", "OLD-RADIO", "import.xml", 78, "warning"),
        ("negative_quantity", "KETTLE-1700", "offers.xml", 27, "warning"),
        ("missing_value", "WHOLESALE-ONLY", "offers.xml", 87, "error"),
        ("unknown_good", "GHOST-1", "offers.xml", 93, "error"),
        ("no_offer", "NO-OFFER", "import.xml", 89, "warning"),
        ("stock_total_only", nomad, "offers.xml", 81, "warning"),
    }
    missing = next(p for p in problems if p.code == "missing_value")
    assert missing.field == "price" and "Розничная" in missing.message


def test_offers_in_another_order_than_their_goods_read_the_same(tmp_path: Path) -> None:
    shutil.copy(DATA / "import.xml", tmp_path / "import.xml")
    text = (DATA / "offers.xml").read_text(encoding="cp1251")
    head, _, rest = text.partition("<Предложения>")
    body, _, tail = rest.partition("</Предложения>")
    offers = [o + "</Предложение>" for o in body.split("</Предложение>")[:-1]]
    assert len(offers) == 7
    reordered = f"{head}<Предложения>{''.join(offers[::-1])}</Предложения>{tail}"
    (tmp_path / "offers.xml").write_bytes(reordered.encode("cp1251"))
    forward, backward = read(catalog()), read(catalog(tmp_path))
    strip = [dataclasses.replace(p, line=None) for p in forward[0]]
    assert [dataclasses.replace(p, line=None) for p in backward[0]] == strip[::-1]


def test_a_price_type_the_file_lacks_is_a_config_error_listing_what_it_has() -> None:
    with pytest.raises(ConfigError) as caught:
        read(catalog(price_type="Розница", city_price_types={"Алматы": "750000000"}))
    text = str(caught.value)
    assert "catalog.price_type" in text and "catalog.city_price_types" in text
    assert "Оптовая, Розничная" in text


def test_url_template_takes_only_the_fields_it_knows() -> None:
    with pytest.raises(ValueError, match=r"\{sku\}, \{slug\} or \{id\}"):
        catalog(url_template="https://shop.example.kz/p/{article}")
    with pytest.raises(ValueError, match=r"\{sku\}"):
        catalog(url_template="https://shop.example.kz/p/")


def test_the_demo_runs_from_1c_with_the_same_feeds_as_from_csv(tmp_path: Path) -> None:
    config = load_config(DEMO_1C)
    config = config.model_copy(update={"output_dir": tmp_path, "state": tmp_path / "state.db"})
    assert_demo_feeds(pipeline.build(config, now=NOW), tmp_path)


def test_the_demo_1c_export_is_what_the_writer_makes_of_the_demo_catalogue(
    tmp_path: Path,
) -> None:
    """configs/demo/1c/ is generated (scripts/demo-1c-export.py): it must not drift."""
    spec = importlib.util.spec_from_file_location(
        "export", DEMO_CONFIG.parent.parent / "scripts" / "demo-1c-export.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(tmp_path)
    for name in ("import.xml", "offers.xml"):
        committed = (DEMO_CONFIG.parent / "demo" / "1c" / name).read_bytes()
        assert (tmp_path / name).read_bytes() == committed, name


def test_catalog_import_loads_the_1c_catalogue_into_the_store(tmp_path: Path) -> None:
    config = load_config(DEMO_1C)
    config = config.model_copy(update={"output_dir": tmp_path, "state": tmp_path / "state.db"})
    stats, _ = pipeline.import_catalog(config)
    stored = list(StoreSource(tmp_path / "state.db").read(lambda p: None))
    assert stats.products == len(stored) == 64
    assert {p.sku for p in stored} >= {"HP-SONORA-X2", "TSHIRT-BASIC-WHT-S"}


# Round trip: what the writer makes of a catalogue, the reader gives back unchanged.
TEXT = st.text(
    st.characters(categories=["L", "N"], include_characters=" -,.()%№«»&<>\"'"), min_size=1,
    max_size=30,
).map(str.strip).filter(bool)  # fmt: skip
SKU = st.from_regex(r"[A-Z][A-Z0-9-]{0,11}", fullmatch=True)
MONEY = st.integers(0, 10**9).map(lambda cents: Decimal(cents).scaleb(-2))
CODES = ["WH-1", "ALM-1"]
ROUND_TRIP = {
    "sale_price_type": "Акция",
    "city_price_types": {"Цена Алматы": "750000000", "Цена Астана": "710000000"},
    "properties": {"Код производителя": "mpn", "Состояние": "condition",
                   "Ссылка на сайте": "url", "Материал": "material"},
}  # fmt: skip


@st.composite
def products(draw: st.DrawFn) -> list[Product]:
    """With warehouses every product's stock is by location (1C's package lists them or not)."""
    found: list[Product] = []
    tracked = draw(st.booleans())
    for n, sku in enumerate(draw(st.lists(SKU, min_size=1, max_size=8, unique=True))):
        group = draw(st.sampled_from(["", "", "G-1", "G-2"]))
        stock = draw(st.dictionaries(st.sampled_from(CODES), st.integers(0, 999), min_size=1))
        found.append(
            Product(
                sku=sku, title=draw(TEXT), price=draw(MONEY),
                url=draw(st.sampled_from([f"https://shop.example.kz/p/{sku}", "https://x.kz/a"])),
                image_url=f"https://shop.example.kz/upload/{n}.jpg",
                additional_image_urls=draw(st.sampled_from([(), (f"https://cdn.kz/{n}.png",)])),
                description=draw(st.one_of(st.just(""), TEXT)), brand=draw(TEXT), color=draw(TEXT),
                gtin=draw(st.from_regex(r"(\d{13})?", fullmatch=True)),
                mpn=draw(st.one_of(st.just(""), TEXT)),
                condition=draw(st.sampled_from(["", "new"])),
                sale_price=draw(st.one_of(st.none(), MONEY)),
                currency=draw(st.sampled_from(["", "KZT"])),
                category=("Каталог", group or "Прочее"), item_group_id=group,
                city_prices=draw(st.one_of(st.none(), st.fixed_dictionaries({"750000000": MONEY}))),
                stock=stock if tracked else None,
                quantity=sum(stock.values()) if tracked else draw(st.integers(0, 99)),
                attributes=draw(st.dictionaries(st.just("material"), TEXT)),
            )
        )  # fmt: skip
    return found


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(catalogue=products(), encoding=st.sampled_from(["utf-8", "windows-1251"]))
def test_catalogue_to_commerceml_and_back_is_the_same_catalogue(
    tmp_path: Path, catalogue: list[Product], encoding: str
) -> None:
    for name in ("import.xml", "offers.xml"):
        (tmp_path / name).touch()
    tracked = catalogue[0].stock is not None
    settings_ = catalog(tmp_path, **ROUND_TRIP, **({} if tracked else {"warehouses": {}}))
    write(catalogue, settings_, encoding)
    back, problems = read(settings_)
    assert problems == []
    assert [dataclasses.replace(p, file=None, line=None) for p in back] == catalogue


def test_the_stock_is_as_of_when_offers_xml_was_written(tmp_path: Path) -> None:
    """Delivered orders older than the export are in its stock (store/reservations.py)."""
    shutil.copy(DATA / "import.xml", tmp_path / "import.xml")
    shutil.copy(DATA / "offers.xml", tmp_path / "offers.xml")
    os.utime(tmp_path / "offers.xml", (1_780_000_000, 1_780_000_000))
    taken = CommerceMLSource(catalog(tmp_path), Path("x.yaml")).snapshot_time()
    assert taken == datetime.fromtimestamp(1_780_000_000, UTC)


def _exchange(tmp_path: Path, goods: str, offers: str, extra: str = "") -> CommerceMLCatalog:
    """A minimal exchange set: one price type (Розничная, id P), one warehouse (id W)."""
    (tmp_path / "import.xml").write_text(
        f'<?xml version="1.0" encoding="utf-8"?><КоммерческаяИнформация ВерсияСхемы="2.08">'
        f"{extra}<Каталог><Товары>{goods}</Товары></Каталог></КоммерческаяИнформация>",
        encoding="utf-8",
    )
    (tmp_path / "offers.xml").write_text(
        '<?xml version="1.0" encoding="utf-8"?><КоммерческаяИнформация ВерсияСхемы="2.08">'
        "<ПакетПредложений><ТипыЦен><ТипЦены><Ид>P</Ид><Наименование>Розничная</Наименование>"
        "<Валюта>398</Валюта></ТипЦены></ТипыЦен><Склады><Склад><Ид>W</Ид><Наименование>Склад"
        f"</Наименование></Склад></Склады><Предложения>{offers}</Предложения>"
        "</ПакетПредложений></КоммерческаяИнформация>",
        encoding="utf-8",
    )
    return catalog(tmp_path, warehouses={"W": "WH-1"})


def _offer(offer_id: str, article: str = "", rest: str = "") -> str:
    return (f"<Предложение><Ид>{offer_id}</Ид><Артикул>{article}</Артикул><Цены><Цена>"
            f"<ИдТипаЦены>P</ИдТипаЦены><ЦенаЗаЕдиницу>10</ЦенаЗаЕдиницу></Цена></Цены>{rest}"
            "</Предложение>")  # fmt: skip


def test_every_form_of_deleted_1c_writes_is_left_out(tmp_path: Path) -> None:
    goods = (
        "<Товар><Ид>g1</Ид><Артикул>LIVE</Артикул><Наименование>a</Наименование></Товар>"
        "<Товар><Ид>g2</Ид><Артикул>CHILD</Артикул><Наименование>b</Наименование>"
        "<Статус>Удален</Статус></Товар>"
        "<Товар><Ид>g3</Ид><Артикул>MARK</Артикул><Наименование>c</Наименование>"
        "<ПометкаУдаления>Да</ПометкаУдаления></Товар>"
    )
    offers = "".join(_offer(f"g{n}") for n in (1, 2, 3))
    products, problems = read(_exchange(tmp_path, goods, offers))
    assert [p.sku for p in products] == ["LIVE"]
    assert sorted(p.sku or "" for p in problems if p.code == "deleted_item") == ["CHILD", "MARK"]


def test_a_rests_total_without_a_warehouse_is_the_stock_not_untracked(tmp_path: Path) -> None:
    """A total of 0 read as "not tracked" would show the item in stock: an oversell."""
    goods = "<Товар><Ид>g1</Ид><Артикул>A</Артикул><Наименование>a</Наименование></Товар>"
    rest = "<Остатки><Остаток><Количество>0</Количество></Остаток></Остатки>"
    [product], _ = read(_exchange(tmp_path, goods, _offer("g1", rest=rest)))
    assert (product.quantity, product.stock) == (0, {})
    assert product.on_hand() == 0 and product.currency == "KZT"  # ISO 4217 number 398


def test_1c_empty_reference_is_no_value(tmp_path: Path) -> None:
    classifier = (
        "<Классификатор><Свойства><Свойство><Ид>b</Ид><Наименование>Бренд</Наименование>"
        "</Свойство></Свойства></Классификатор>"
    )
    goods = (
        "<Товар><Ид>g1</Ид><Артикул>A</Артикул><Наименование>a</Наименование><ЗначенияСвойств>"
        "<ЗначенияСвойства><Ид>b</Ид><Значение>00000000-0000-0000-0000-000000000000</Значение>"
        "</ЗначенияСвойства></ЗначенияСвойств></Товар>"
    )
    [product], _ = read(_exchange(tmp_path, goods, _offer("g1"), classifier))
    assert product.brand == ""


def test_order_lines_name_the_live_offer_never_a_deleted_one(tmp_path: Path) -> None:
    goods = (
        "<Товар><Ид>g5</Ид><Артикул>A5</Артикул><Наименование>a</Наименование></Товар>"
        '<Товар Статус="Удален"><Ид>g6</Ид><Артикул>X</Артикул><Наименование>x</Наименование>'
        "</Товар>"
        "<Товар><Ид>g7</Ид><Артикул>X</Артикул><Наименование>x</Наименование></Товар>"
    )
    offers = (
        _offer("g5#old", "A5-M", "<ПометкаУдаления>true</ПометкаУдаления>")
        + _offer("g5#new", "A5-M") + _offer("g6") + _offer("g7") + _offer("g5#", "A5")
    )  # fmt: skip
    source = CommerceMLSource(_exchange(tmp_path, goods, offers), Path("x.yaml"))
    assert source.offer_ids({"A5-M", "X", "A5"}) == {"A5-M": "g5#new", "X": "g7", "A5": "g5"}
