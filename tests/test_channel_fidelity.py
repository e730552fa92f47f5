"""Channel details checked against the channels' own specs (issue 16): Merchant API resource
names and feed labels, Google's availability_date format, brands for goods without a GTIN, Meta
image types, Satu's out-of-stock marking and Kaspi stores in cities without a price."""

from __future__ import annotations

import base64
import csv
import io
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import csv_text, good_row, push_setup, sandbox_state
from lxml import etree
from pydantic import ValidationError

from omnisync import pipeline, push
from omnisync.channels import limits
from omnisync.channels.base import ChannelContext
from omnisync.channels.google import GoogleMerchant, GoogleMerchantConfig
from omnisync.channels.google.api import GoogleApiSettings
from omnisync.channels.kaspi import Kaspi, KaspiConfig
from omnisync.channels.meta import MetaCatalog, MetaConfig
from omnisync.channels.satu import Satu, SatuConfig
from omnisync.config import load_config
from omnisync.errors import ConfigError
from omnisync.models import Location, Product
from omnisync.sandbox.server import Sandbox

# --- Merchant API resource names and feed labels ----------------------------------------------


def _settings(**overrides: str) -> GoogleApiSettings:
    fields = {"account_id": "123", "data_source": "456", "access_token": "env:GOOGLE_TOKEN"}
    return GoogleApiSettings(**{**fields, **overrides})


def test_a_name_with_a_slash_is_unpadded_base64url_as_the_v1_reference_shows() -> None:
    # The reference's own example: en~US~sku/123 is accounts/123/products/ZW5-VVN-c2t1LzEyMw.
    settings = _settings(content_language="en", feed_label="US")
    assert settings.product_name("sku/123") == "ZW5-VVN-c2t1LzEyMw"


@pytest.mark.parametrize("offer", ["A%2F", "A~B", "A.1", "A B", "ЧАЙНИК-1", "A+B", "A:B"])
def test_names_with_reserved_characters_are_encoded_and_decode_back(offer: str) -> None:
    name = _settings().product_name(offer)
    assert set(name) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    decoded = base64.urlsafe_b64decode(name + "=" * (-len(name) % 4)).decode("utf-8")
    assert decoded == f"ru~KZ~{offer}"


def test_a_plain_offer_id_keeps_the_readable_name() -> None:
    assert _settings().product_name("KETTLE-1_2") == "ru~KZ~KETTLE-1_2"


@pytest.mark.parametrize("label", ["kz", "Kz", "K Z", "K" * 21, ""])
def test_a_feed_label_google_would_not_take_is_a_config_error(label: str) -> None:
    with pytest.raises(ValidationError, match="feed_label"):
        _settings(feed_label=label)


def test_the_feed_label_error_names_its_key_path(tmp_path: Path) -> None:
    (tmp_path / "products.csv").write_text(csv_text([good_row()]), encoding="utf-8")
    api = {"account_id": "1", "data_source": "2", "feed_label": "kz", "access_token": "env:X"}
    data = {
        "catalog": {"products": "products.csv"},
        "channels": {"google": {"type": "google_merchant", "currency": "KZT", "api": api}},
    }
    path = tmp_path / "omnisync.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"channels\.google\.api\.feed_label"):
        load_config(path)


def _api(url: str) -> dict[str, str]:
    return {"base_url": url, "account_id": "123", "data_source": "456",
            "access_token": "env:GOOGLE_TOKEN"}  # fmt: skip


def test_an_offer_id_with_a_slash_is_deleted_by_its_encoded_name(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    channels = {"google": {"type": "google_merchant", "currency": "KZT", "api": _api(sandbox.url)}}
    path = push_setup(tmp_path, channels, {"A/1": 3, "B": 1})
    assert not push.push(load_config(path)).partial
    assert set(sandbox_state(sandbox)["google_products"]) == {"ru~KZ~A/1", "ru~KZ~B"}
    push_setup(tmp_path, channels, {"B": 1})
    result = push.push(load_config(path), force=True)
    assert result.pushes[0].planned["delete"] == 1 and not result.partial
    assert set(sandbox_state(sandbox)["google_products"]) == {"ru~KZ~B"}


def test_local_inventory_of_an_offer_id_with_a_slash_reaches_its_product(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    local = {"type": "google_local_inventory", "currency": "KZT",
             "stores": {"ALM-1": "almaty-1"}, "api": _api(sandbox.url)}  # fmt: skip
    result = push.push(load_config(push_setup(tmp_path, {"local": local}, {"A/1": 4})))
    assert not result.partial
    assert set(sandbox_state(sandbox)["google_local"]) == {"ru~KZ~A/1@almaty-1"}


# --- availability_date: YYYY-MM-DDThh:mm±hhmm in the feed, the same moment in the API ---------

ALMATY = timezone(timedelta(hours=5))


def _google() -> GoogleMerchant:
    config = GoogleMerchantConfig(type="google_merchant", currency="KZT", api=_settings())
    context = ChannelContext(locations={}, now=datetime(2026, 5, 20, 10, 0, tzinfo=ALMATY))
    return GoogleMerchant("google", config, context)


def _product(**overrides: object) -> Product:
    fields: dict[str, object] = {
        "sku": "KETTLE-1", "title": "Acme Kettle", "description": "A kettle.",
        "brand": "Acme", "gtin": "4006381333931", "price": Decimal("15990"),
        "url": "https://shop.example.kz/p/1", "image_url": "https://cdn.example.kz/1.jpg",
    }  # fmt: skip
    return Product(**{**fields, **overrides})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("given", "written"),
    [
        ("2026-06-01", "2026-06-01T00:00+0500"),  # a date alone: that day's start, shop's zone
        ("2026-06-01T13:30", "2026-06-01T13:30+0500"),
        ("2026-06-01T13:30:59", "2026-06-01T13:30+0500"),  # Google's form has no seconds
        ("2026-06-01T13:30:00+03:00", "2026-06-01T13:30+0300"),
        ("2026-06-01T08:00Z", "2026-06-01T08:00+0000"),
        (" 2026-06-01T13:30-0800 ", "2026-06-01T13:30-0800"),
    ],
)
def test_availability_date_is_written_in_googles_form(given: str, written: str) -> None:
    channel = _google()
    record = channel.to_record(_product(availability="preorder", availability_date=given))
    assert record.fields["availability_date"] == written
    assert channel.validate(record) == []


def test_the_feed_and_the_api_carry_the_same_availability_moment() -> None:
    channel = _google()
    product = _product(availability="backorder", availability_date="2026-06-01")
    (item,) = channel.push_items(product)
    attributes = item.payload["productAttributes"]
    # Before: the feed said "2026-06-01" (Google: the target country's zone, end of day) and
    # the API midnight UTC.
    assert attributes["availabilityDate"] == "2026-06-01T00:00:00+05:00"
    buffer = io.BytesIO()
    with channel.open_stream("feed", buffer) as writer:
        writer.write(channel.to_record(product))
    assert b"<g:availability_date>2026-06-01T00:00+0500</g:availability_date>" in buffer.getvalue()


def test_text_that_is_not_a_date_is_still_reported() -> None:
    channel = _google()
    record = channel.to_record(_product(availability="preorder", availability_date="next week"))
    assert [p.code for p in channel.validate(record)] == ["availability_date_invalid"]


# --- brand: goods without a GTIN (handmade, custom) need one, in Google and in Meta -----------


def _meta() -> MetaCatalog:
    return MetaCatalog("meta", MetaConfig(type="meta", currency="KZT"))


def _codes(channel: GoogleMerchant | MetaCatalog, product: Product) -> list[tuple[str, str, str]]:
    problems = channel.validate(channel.to_record(product))
    return [(p.code, p.severity, p.field or "") for p in problems]


HANDMADE = {"gtin": "", "brand": "", "mpn": "", "sku": "CHAPAN-HANDMADE"}


@pytest.mark.parametrize("channel", [_google, _meta], ids=["google", "meta"])
def test_an_item_without_gtin_and_brand_is_refused_naming_the_brand(channel: Any) -> None:
    assert _codes(channel(), _product(**HANDMADE)) == [("brand_missing", "error", "brand")]
    # Whitespace is no brand either.
    assert _codes(channel(), _product(**{**HANDMADE, "brand": "  "})) == [
        ("brand_missing", "error", "brand")
    ]


@pytest.mark.parametrize("channel", [_google, _meta], ids=["google", "meta"])
@pytest.mark.parametrize(
    "identifiers",
    [{"gtin": "", "brand": "Example Store", "mpn": ""}, {"gtin": "4006381333931", "brand": ""}],
    ids=["shop-brand-no-gtin", "gtin-no-brand"],
)
def test_a_brand_or_a_gtin_is_enough(channel: Any, identifiers: dict[str, str]) -> None:
    assert _codes(channel(), _product(**identifiers)) == []


def test_the_refused_item_leaves_the_feed_and_the_run_says_why(tmp_path: Path) -> None:
    rows = [good_row(sku="A"), good_row(sku="B", gtin="", brand="", mpn="")]
    (tmp_path / "products.csv").write_text(csv_text(rows), encoding="utf-8")
    data = {"catalog": {"products": "products.csv"}, "output_dir": "out", "state": "s.db",
            "channels": {"meta": {"type": "meta", "currency": "KZT"}}}  # fmt: skip
    (tmp_path / "omnisync.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    report = pipeline.build(load_config(tmp_path / "omnisync.yaml"))
    (problem,) = report.problems
    assert (problem.sku, problem.field, problem.code) == ("B", "brand", "brand_missing")
    assert "handmade" in problem.message
    written = (tmp_path / "out" / "meta.csv").read_text(encoding="utf-8")
    assert [r["id"] for r in csv.DictReader(io.StringIO(written))] == ["A"]


# --- Meta image types: the rule Google applies ------------------------------------------------


@pytest.mark.parametrize("extension", ["pdf", "svg", "PDF", "html"])
def test_meta_refuses_an_image_link_that_is_no_image(extension: str) -> None:
    product = _product(image_url=f"https://cdn.example.kz/img/manual.{extension}")
    expected = [("image_link_type", "error", "image_link")]
    assert _codes(_meta(), product) == expected == _codes(_google(), product)


@pytest.mark.parametrize(
    "url",
    [
        "https://cdn.example.kz/img/1.jpg",
        "https://cdn.example.kz/img/1.WEBP?w=800",
        "https://cdn.example.kz/img/1.tiff#x",
        "https://cdn.example.kz/img/1",  # no extension: a CDN route, type unknown, not wrong
    ],
)
def test_meta_takes_the_image_types_google_takes(url: str) -> None:
    assert _codes(_meta(), _product(image_url=url)) == []


def _satu() -> Satu:
    shop = {"name": "S", "company": "C", "url": "https://shop.example.kz"}
    return Satu("satu", SatuConfig.model_validate({"type": "satu", "shop": shop}))


@pytest.mark.parametrize("extension", ["pdf", "svg", "PDF"])
def test_satu_refuses_a_main_picture_that_is_no_image_as_google_and_meta_do(
    extension: str,
) -> None:
    product = _product(image_url=f"https://cdn.example.kz/img/manual.{extension}", category=("A",))
    channel = _satu()
    found = [(p.code, p.severity, p.field) for p in channel.validate(channel.to_record(product))]
    assert found == [("picture_type", "error", "picture")]
    assert _codes(_google(), product) == [("image_link_type", "error", "image_link")]


def test_satu_leaves_out_an_additional_picture_that_is_no_image_with_a_warning() -> None:
    pdf = "https://cdn.example.kz/img/manual.pdf"
    product = _product(
        additional_image_urls=(pdf, "https://cdn.example.kz/img/2.png"), category=("A",)
    )
    channel = _satu()
    record = channel.to_record(product)
    assert record.fields["pictures"] == [
        "https://cdn.example.kz/1.jpg", "https://cdn.example.kz/img/2.png",
    ]  # fmt: skip
    (problem,) = channel.validate(record)
    assert (problem.code, problem.severity, problem.field) == ("picture_dropped", "warning",
                                                               "picture")  # fmt: skip
    assert pdf in problem.message and ".pdf file" in problem.message


# --- Meta's messages say what is wrong ------------------------------------------------------


def _messages(product: Product) -> dict[str, str]:
    channel = _meta()
    return {p.code: p.message for p in channel.validate(channel.to_record(product))}


def test_an_unknown_condition_is_told_what_it_must_be() -> None:
    message = _messages(_product(condition="б/у"))["condition_invalid"]
    assert message == "condition 'б/у' must be one of new, refurbished or used"


@pytest.mark.parametrize("currency", ["KZ\x1bT", "kzt", "тенге"])
def test_an_invalid_row_currency_is_named_not_called_missing(currency: str) -> None:
    message = _messages(_product(currency=currency))["currency_invalid"]
    assert message == f"the row's currency {currency!r} is not an ISO 4217 code like KZT"
    missing = MetaCatalog("meta", MetaConfig(type="meta"))
    found = missing.validate(missing.to_record(_product()))
    assert [p.message for p in found] == ["no currency: set it per row or on the channel"]


# --- Satu/Prom: out of stock is not "made to order" ------------------------------------------


def _satu_offers(tmp_path: Path, quantities: dict[str, str]) -> dict[str, etree._Element]:
    rows = [good_row(sku=sku, quantity=q) for sku, q in quantities.items()]
    (tmp_path / "products.csv").write_text(csv_text(rows), encoding="utf-8")
    shop = {"name": "Shop", "company": "Shop LLP", "url": "https://shop.example.kz"}
    data = {"catalog": {"products": "products.csv"}, "output_dir": "out", "state": "s.db",
            "channels": {"satu": {"type": "satu", "shop": shop}}}  # fmt: skip
    (tmp_path / "omnisync.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    report = pipeline.build(load_config(tmp_path / "omnisync.yaml"))
    assert report.channels[0].published, report.channels[0].refused  # the YML checklist passed
    root = etree.parse(str(tmp_path / "out" / "satu.xml"))
    return {offer.get("id", ""): offer for offer in root.iter("offer")}


def test_an_offer_out_of_stock_is_not_advertised_as_made_to_order(tmp_path: Path) -> None:
    offers = _satu_offers(tmp_path, {"HAS-3": "3", "HAS-0": "0", "UNTRACKED": ""})
    # YML's available="false" is "made to order, delivery up to two months", not "none left".
    assert offers["HAS-0"].get("available") == limits.SATU_OUT_OF_STOCK_AVAILABLE != "false"
    assert offers["HAS-0"].findtext("quantity_in_stock") == "0"
    assert offers["HAS-3"].get("available") == "true"
    assert offers["HAS-3"].findtext("quantity_in_stock") == "3"
    assert offers["UNTRACKED"].get("available") == "true"
    assert offers["UNTRACKED"].find("quantity_in_stock") is None


# --- Kaspi: a store with stock in a city the item has no price for ---------------------------

LOCATIONS = {
    "ALM-1": Location(code="ALM-1", name="Абая", type="store", city="Алматы"),
    "SHM-1": Location(code="SHM-1", name="Тауке хана", type="store", city="Шымкент"),
    "KST-1": Location(code="KST-1", name="Костанай", type="store", city="Костанай"),
    "URL-1": Location(code="URL-1", name="Уральск", type="store", city="271010000"),
    "NOC-1": Location(code="NOC-1", name="Без города", type="store"),
}


def _kaspi(*locations: str) -> Kaspi:
    stores = {code: f"PP{n}" for n, code in enumerate(locations, 1)}
    config = KaspiConfig(type="kaspi", company="Shop", merchant_id="1", stores=stores)
    return Kaspi("kaspi", config, ChannelContext(locations=LOCATIONS, now=datetime(2026, 5, 20)))


def _kaspi_problems(channel: Kaspi, **overrides: object) -> list[tuple[str, str, str]]:
    problems = channel.validate(channel.to_record(_product(**overrides)))
    return [(p.code, p.field or "", p.message) for p in problems]


ALMATY_ONLY = {"750000000": Decimal("15990")}
SHYMKENT = {"511010000": Decimal("15490")}


def test_stock_in_a_city_without_a_city_price_is_reported_naming_store_and_city() -> None:
    channel = _kaspi("ALM-1", "SHM-1")
    product = _product(city_prices=ALMATY_ONLY, stock={"ALM-1": 2, "SHM-1": 16})
    record = channel.to_record(product)
    problems = channel.validate(record)
    assert [(p.code, p.severity, p.field, p.sku) for p in problems] == [
        ("city_price_missing", "warning", "cityprices", "KETTLE-1")
    ]
    message = problems[0].message
    assert all(part in message for part in ("PP2", "SHM-1", "Шымкент", "511010000", "16"))
    # The offer still goes out as it is, both stores and the one city price.
    assert [a["storeId"] for a in record.fields["availabilities"]] == ["PP1", "PP2"]
    assert record.fields["cityprices"] == [("750000000", 15990)]


@pytest.mark.parametrize(
    "overrides",
    [
        {"city_prices": ALMATY_ONLY, "stock": {"ALM-1": 2, "SHM-1": 0}},  # nothing to sell there
        {"city_prices": {**ALMATY_ONLY, **SHYMKENT}, "stock": {"ALM-1": 2, "SHM-1": 16}},
        {"stock": {"ALM-1": 2, "SHM-1": 16}},  # one <price> for every city
    ],
    ids=["no-stock-there", "priced-there", "one-price"],
)
def test_nothing_is_said_when_every_stocked_city_has_a_price(overrides: dict[str, Any]) -> None:
    assert _kaspi_problems(_kaspi("ALM-1", "SHM-1"), **overrides) == []


def test_a_city_given_as_its_id_is_matched_too() -> None:
    channel = _kaspi("URL-1")
    priced = {"271010000": Decimal("16990")}
    # 271010000 is outside the known list (city_unknown), but it is the store's city: priced.
    codes = [code for code, *_ in _kaspi_problems(channel, city_prices=priced, stock={"URL-1": 3})]
    assert codes == ["city_unknown"]
    (found,) = _kaspi_problems(channel, city_prices=ALMATY_ONLY, stock={"URL-1": 3})
    assert found[:2] == ("city_price_missing", "cityprices") and "271010000" in found[2]


@pytest.mark.parametrize(
    ("location", "said"), [("KST-1", "Костанай"), ("NOC-1", "no city in locations.csv")]
)
def test_a_store_in_a_city_kaspi_has_no_id_for_is_reported_too(location: str, said: str) -> None:
    stock = {location: 1}
    (found,) = _kaspi_problems(_kaspi(location), city_prices=ALMATY_ONLY, stock=stock)
    assert found[:2] == ("city_price_missing", "cityprices")
    assert said in found[2] and "not a known Kaspi city" in found[2]
