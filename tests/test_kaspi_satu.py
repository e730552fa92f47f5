"""Kaspi's shipped XSD and the YML checklist: what the built files are held to before publish."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import ROOT
from lxml import etree

from omnisync.channels.kaspi import Kaspi, KaspiConfig, schema
from omnisync.channels.satu import FILE_ID, Satu, SatuConfig
from omnisync.channels.yml import CategoryTree, category_id, checklist
from omnisync.checks import currency_mismatch
from omnisync.models import Product, Severity

GOLDEN = ROOT / "tests" / "golden" / "demo"
SHOP = {"name": "Example", "company": "Example LLP", "url": "https://shop.example.kz"}


def kaspi(**config: object) -> Kaspi:
    base: dict[str, object] = {
        "type": "kaspi", "company": "Example", "merchant_id": "1", "stores": {"ALM-1": "PP1"},
    }  # fmt: skip
    return Kaspi("kaspi", KaspiConfig.model_validate({**base, **config}))


def product(**kw: object) -> Product:
    base: dict[str, object] = {
        "sku": "KETTLE1",
        "title": "Kettle",
        "price": Decimal("15990"),
        "url": "https://shop.example.kz/p/1",
        "image_url": "https://cdn.example.kz/1.jpg",
        "brand": "Acme",
    }
    return Product(**{**base, **kw})  # type: ignore[arg-type]


def test_the_xsd_is_package_data_and_accepts_the_demo_file() -> None:
    document = etree.parse(str(GOLDEN / "kaspi.xml"))
    schema().assertValid(document)
    assert document.getroot().tag == "{kaspiShopping}kaspi_catalog"


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        ("<price>14990</price>", "<price>0</price>", "positiveInteger"),
        ("<price>14990</price>", "<price>14990.5</price>", "positiveInteger"),
        ('available="yes"', 'available="maybe"', "'maybe' is not an element"),
        ("<model>Наушники TWS Sonora Buds Lite</model>", "", "model"),
    ],
)
def test_verify_refuses_a_file_that_breaks_the_xsd(
    tmp_path: Path, old: str, new: str, reason: str
) -> None:
    text = (GOLDEN / "kaspi.xml").read_text(encoding="utf-8")
    assert old in text
    broken = tmp_path / "kaspi.xml"
    broken.write_text(text.replace(old, new, 1), encoding="utf-8")
    message = kaspi().verify("kaspi.xml", broken)
    assert message is not None and message.startswith("fails the Kaspi schema")
    assert reason in message


def test_the_full_xsd_refuses_repeated_skus_and_the_build_check_leaves_them_to_the_pipeline(
    tmp_path: Path,
) -> None:
    text = (GOLDEN / "kaspi.xml").read_text(encoding="utf-8")
    broken = tmp_path / "kaspi.xml"
    broken.write_text(text.replace('sku="HP-SONORA-BUDS"', 'sku="HP-SONORA-X2"', 1))
    assert not schema().validate(etree.parse(str(broken)))
    assert "Duplicate" in str(schema().error_log)
    # The streaming check at build time skips identity constraints (memory); the pipeline's
    # id check is what keeps SKUs unique in a built file.
    assert kaspi().verify("kaspi.xml", broken) is None


def test_a_store_id_mapped_twice_is_a_config_error() -> None:
    with pytest.raises(ValueError, match="store id PP1 is mapped from several locations"):
        kaspi(stores={"ALM-1": "PP1", "AST-1": "PP1"})


def test_prices_are_whole_tenge_with_a_warning_when_rounded() -> None:
    channel = kaspi()
    record = channel.to_record(product(price=Decimal("15990.50")))
    assert record.fields["price"] == 15991
    assert [p.code for p in channel.validate(record)] == ["price_rounded"]


def test_sale_price_is_the_kaspi_price_and_city_prices_win() -> None:
    channel = kaspi()
    assert channel.to_record(product(sale_price=Decimal("12990"))).fields["price"] == 12990
    cities = {"750000000": Decimal("15000"), "999": Decimal("1")}
    record = channel.to_record(product(city_prices=cities))
    assert "price" not in record.fields
    assert record.fields["cityprices"] == [("750000000", 15000), ("999", 1)]
    assert [p.code for p in channel.validate(record)] == ["city_unknown"]


@pytest.mark.parametrize(
    "prices",
    [{}, {"city_prices": {"750000000": Decimal("100")}}],
    ids=["price", "cityprices"],
)
def test_a_row_in_another_currency_is_refused_not_published_as_tenge(
    prices: dict[str, object],
) -> None:
    channel = kaspi()
    record = channel.to_record(product(price=Decimal("100"), currency="USD", **prices))
    (problem,) = channel.validate(record)
    assert (problem.code, problem.severity, problem.field) == (
        "currency_mismatch", Severity.ERROR, "currency",
    )  # fmt: skip
    assert "the row is in USD; Kaspi prices are in KZT" in problem.message
    for currency in ("KZT", ""):  # a row without a currency is priced in the channel's
        assert channel.validate(channel.to_record(product(currency=currency, **prices))) == []


def test_satu_and_kaspi_refuse_another_currency_by_one_rule() -> None:
    satu = Satu("satu", SatuConfig.model_validate({"type": "satu", "shop": SHOP}))
    found = satu.validate(satu.to_record(product(currency="USD", category=("A",))))
    assert [(p.code, p.message) for p in found] == [
        ("currency_mismatch", currency_mismatch("USD", "KZT", "this YML declares only"))
    ]


@pytest.mark.parametrize(
    ("sku", "code"),
    [("A" * 65, "sku_too_long"), ("A" * 21, "sku_format"), ("ЧАЙНИК1", "sku_format")],
)
def test_sku_rules(sku: str, code: str) -> None:
    channel = kaspi()
    assert [p.code for p in channel.validate(channel.to_record(product(sku=sku)))] == [code]


def test_pre_order_is_written_for_available_stores_and_bounded() -> None:
    channel = kaspi(pre_order=5)
    (there,) = channel.to_record(product(stock={"ALM-1": 2})).fields["availabilities"]
    assert there == {"available": "yes", "storeId": "PP1", "stockCount": "2", "preOrder": "5"}
    (gone,) = channel.to_record(product(stock={"ALM-1": 0})).fields["availabilities"]
    assert gone == {"available": "no", "storeId": "PP1", "stockCount": "0"}
    with pytest.raises(ValueError, match="less than or equal to 30"):
        kaspi(pre_order=31)


def test_demo_yml_passes_the_checklist() -> None:
    assert checklist(GOLDEN / "satu.xml", FILE_ID, 100) == []


@pytest.mark.parametrize(
    ("old", "new", "found"),
    [
        ('<offer id="HP-SONORA-BUDS"', '<offer id="HP-SONORA-X2"', "malformed or repeated"),
        ("<currencyId>KZT</currencyId>", "<currencyId>USD</currencyId>", "currencyId USD"),
        ("<oldprice>39990</oldprice>", "<oldprice>100</oldprice>", "below oldprice"),
        ('rate="1"', 'rate="2"', "rate 1"),
        ("<company>", "<companyx>", "shop needs name, company and url"),
    ],
)
def test_the_checklist_catches_each_kind_of_mistake(
    tmp_path: Path, old: str, new: str, found: str
) -> None:
    text = (GOLDEN / "satu.xml").read_text(encoding="utf-8")
    assert old in text
    broken = tmp_path / "satu.xml"
    broken.write_text(
        text.replace(old, new, 1).replace("</company>", "</companyx>", 1)
        if old == "<company>"
        else text.replace(old, new, 1),
        encoding="utf-8",
    )
    assert any(found in problem for problem in checklist(broken, FILE_ID, 100))


def test_the_checklist_catches_undeclared_and_cyclic_categories(tmp_path: Path) -> None:
    text = (GOLDEN / "satu.xml").read_text(encoding="utf-8")
    first_id = re.search(r'<category id="(\d+)">', text)
    assert first_id is not None
    broken = tmp_path / "satu.xml"
    cyclic = text.replace(
        f'<category id="{first_id[1]}">',
        f'<category id="{first_id[1]}" parentId="{first_id[1]}">',
        1,
    )
    broken.write_text(cyclic.replace("<categoryId>", "<categoryId>1", 1), encoding="utf-8")
    problems = checklist(broken, FILE_ID, 100)
    assert any("broken or cyclic" in p for p in problems)
    assert any("is not declared" in p for p in problems)


def test_category_ids_are_stable_and_parents_come_first() -> None:
    tree, other = CategoryTree(), CategoryTree()
    leaf = ("Электроника", "Аудио", "Наушники")
    assert tree.add(leaf) == category_id(leaf)
    other.add(("Дом",))
    assert other.add(leaf) == tree.add(leaf)  # the order of the catalogue does not matter
    names = [(name, attrib.get("parentId")) for name, attrib in tree.elements()]
    assert names == [
        ("Электроника", None),
        ("Аудио", str(category_id(leaf[:1]))),
        ("Наушники", str(category_id(leaf[:2]))),
    ]
