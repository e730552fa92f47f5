"""The Google primary feed: round-trips and the fields Google reads (golden bytes: the
channel contract suite)."""

from __future__ import annotations

import io
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from omnisync.channels.google import GoogleMerchant, GoogleMerchantConfig
from omnisync.models import Product
from omnisync.text import money as format_price
from omnisync.text import xml_safe

G = "{http://base.google.com/ns/1.0}"


def _channel(fmt: str = "xml") -> GoogleMerchant:
    config = GoogleMerchantConfig(type="google_merchant", format=fmt, currency="KZT")
    return GoogleMerchant("google", config)


def _product(**kw: object) -> Product:
    base: dict[str, object] = {
        "sku": "SKU-1",
        "title": "Kettle",
        "description": "A kettle.",
        "price": Decimal("15990"),
        "url": "https://shop.example.kz/p/1",
        "image_url": "https://cdn.example.kz/1.jpg",
        "brand": "Acme",
        "gtin": "4006381333931",
    }
    base.update(kw)
    return Product(**base)  # type: ignore[arg-type]


def _xml_items(channel: GoogleMerchant, products: list[Product]) -> list[etree._Element]:
    buffer = io.BytesIO()
    with channel.open_stream("feed", buffer) as writer:
        for product in products:
            writer.write(channel.to_record(product))
    root = etree.fromstring(buffer.getvalue())
    assert root.nsmap["g"] == G.strip("{}")
    return root.findall("channel/item")


# A description holding "<" or "&" is HTML to Google and is cleaned (tests/test_descriptions.py);
# any other text is written exactly as it is. So is a title without markup or terminal escape
# sequences (markup.title, tests/test_markup.py); a brand is any text.
PLAIN = st.text(alphabet=st.characters(blacklist_characters="<&"), max_size=600)
PLAIN_TITLE = st.text(alphabet=st.characters(blacklist_characters="<&\x1b\x9b\x9d"), max_size=150)


@settings(max_examples=300, deadline=None)
@given(title=PLAIN_TITLE, description=PLAIN, brand=st.text(max_size=70))
def test_any_unicode_text_parses_back_equal_to_its_sanitized_form(
    title: str, description: str, brand: str
) -> None:
    product = _product(title=title, description=description, brand=brand)
    (item,) = _xml_items(_channel(), [product])
    assert (item.findtext("title") or "") == xml_safe(title)
    assert (item.findtext("description") or "") == xml_safe(description)
    assert (item.findtext(f"{G}brand") or "") == xml_safe(brand)


def test_hostile_characters_survive_the_round_trip() -> None:
    nasty = "Tom & Jerry <b> ]]> \x00\x07 \u200f\u202e קומקום \U0001f600"
    (item,) = _xml_items(_channel(), [_product(brand=nasty)])
    assert item.findtext(f"{G}brand") == "Tom & Jerry <b> ]]>  \u200f\u202e קומקום \U0001f600"


def test_price_format_has_two_decimals_and_currency() -> None:
    assert format_price(Decimal("15990"), "KZT") == "15990.00 KZT"
    assert format_price(Decimal("15990.5"), "KZT") == "15990.50 KZT"
    assert format_price(Decimal("1E+3"), "USD") == "1000.00 USD"
    assert format_price(None, "KZT") == ""


def test_identifier_exists_is_no_only_without_gtin_and_brand_mpn() -> None:
    channel = _channel()

    def flag(**kw: object) -> object:
        return channel.to_record(_product(**kw)).fields["identifier_exists"]

    assert flag() == ""
    assert flag(gtin="", mpn="AK-1") == ""
    assert flag(gtin="", mpn="") == "no"
    assert flag(gtin="", brand="", mpn="AK-1") == "no"


def test_availability_follows_stock_over_the_channel_locations() -> None:
    config = GoogleMerchantConfig(type="google_merchant", currency="KZT", locations=["ALM-1"])
    channel = GoogleMerchant("google", config)
    stock = {"WH-1": 9, "ALM-1": 0}
    assert channel.to_record(_product(stock=stock)).fields["availability"] == "out_of_stock"
    assert _channel().to_record(_product(stock=stock)).fields["availability"] == "in_stock"
    assert _channel().to_record(_product(quantity=0)).fields["availability"] == "out_of_stock"


def test_more_than_ten_additional_images_keeps_ten_with_a_warning() -> None:
    urls = tuple(f"https://cdn.example.kz/{i}.jpg" for i in range(12))
    channel = _channel()
    record = channel.to_record(_product(additional_image_urls=urls))
    assert record.fields["additional_image_link"] == list(urls[:10])
    assert [p.code for p in channel.validate(record)] == ["too_many_images"]


def test_long_title_is_truncated_with_a_warning_and_the_item_kept() -> None:
    channel = _channel()
    record = channel.to_record(_product(title="слово " * 40))
    problems = channel.validate(record)
    assert len(record.fields["title"]) <= 150
    assert [(p.code, p.severity) for p in problems] == [("title_truncated", "warning")]


def test_tsv_cells_stay_on_one_line() -> None:
    channel = _channel("tsv")
    buffer = io.BytesIO()
    with channel.open_stream("feed", buffer) as writer:
        writer.write(channel.to_record(_product(description="line one\nline\ttwo")))
    lines = buffer.getvalue().decode().splitlines()
    assert len(lines) == 2
    header, row = (line.split("\t") for line in lines)
    assert dict(zip(header, row, strict=True))["description"] == "line one line two"
