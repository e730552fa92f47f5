"""``XmlDocument``, the feeds' one XML serializer: for any text and attributes it writes the
very bytes lxml's serializer writes, and they parse back to the same values."""

from __future__ import annotations

import io
from collections.abc import Callable
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from omnisync.channels.base import Record
from omnisync.channels.satu import _offer
from omnisync.channels.writers import XmlDocument
from omnisync.channels.yml import CategoryTree
from omnisync.text import amount, xml_safe

NS = "http://base.google.com/ns/1.0"
values = st.text().map(xml_safe)


def ours(title: str, attr: str) -> bytes:
    out = io.BytesIO()
    doc = XmlDocument(out, b'<?xml version="1.0"?>')
    doc.open("rss", {"version": "2.0"}, nsmap={"g": NS})
    doc.text(f"{{{NS}}}title", title, {"note": attr})
    doc.element(("availability", {"storeId": attr}, None))  # empty
    doc.leaves([("link", attr), (f"{{{NS}}}brand", title)])
    doc.finish(False)
    return out.getvalue()


def lxml_serializer(title: str, attr: str) -> bytes:
    out = io.BytesIO()
    out.write(b'<?xml version="1.0"?>\n')
    with (
        etree.xmlfile(out, encoding="utf-8") as xf,
        xf.element("rss", {"version": "2.0"}, nsmap={"g": NS}),
    ):
        xf.write("\n  ")
        with xf.element(f"{{{NS}}}title", {"note": attr}):
            xf.write(title)
        xf.write("\n  ")
        with xf.element("availability", {"storeId": attr}):
            pass
        for tag, value in (("link", attr), (f"{{{NS}}}brand", title)):
            xf.write("\n  ")
            with xf.element(tag):
                xf.write(value)
    out.write(b"\n")
    return out.getvalue()


@given(values, values)
def test_the_bytes_are_lxml_s_and_parse_back_to_the_values(title: str, attr: str) -> None:
    written = ours(title, attr)
    assert written == lxml_serializer(title, attr)
    root = etree.fromstring(written)
    assert (root[0].text or "") == title and root[0].get("note") == attr
    assert root[1].get("storeId") == attr
    assert (root[2].text or "") == attr and (root[3].text or "") == title


def test_markup_in_a_value_is_text_not_markup() -> None:
    root = etree.fromstring(ours('</title><evil attr="1"/>&amp;', '"><x'))
    assert root[0].text == '</title><evil attr="1"/>&amp;' and len(root) == 4


def test_a_character_xml_forbids_is_refused() -> None:
    with pytest.raises(ValueError, match="XML compatible"):
        ours("bell \x07", "")


@given(values, values, values)
def test_a_yml_offer_is_the_markup_lxml_built_before(name: str, text: str, param: str) -> None:
    """Satu's offers are spilled as markup built with the same escaping (and CDATA for the
    description): byte for byte what building them with lxml and indenting gave."""
    fields = {"available": "true", "url": "https://x.kz/p?a=1&b=2", "price": Decimal("10.50"),
              "oldprice": None, "currency": "KZT", "category": ("A", name or "B"),
              "portal_category_id": "", "pictures": [text, "https://x.kz/i.jpg"], "name": name,
              "vendor": text, "vendorCode": "", "description": text,
              "params": [(param or "p", text)],
              "quantity_in_stock": 3}  # fmt: skip
    record = Record(key=name or "K", fields=fields)
    assert _offer(record, CategoryTree()).encode() == lxml_offer(record, CategoryTree())


def lxml_offer(record: Record, categories: CategoryTree) -> bytes:
    f = record.fields
    offer = etree.Element("offer", id=record.key, available=f["available"])
    leaves = [("url", f["url"]), ("price", amount(f["price"])), ("currencyId", f["currency"]),
              ("categoryId", str(categories.add(f["category"]))),
              *(("picture", p) for p in f["pictures"]), ("name", f["name"]),
              ("vendor", f["vendor"]), ("vendorCode", f["vendorCode"])]  # fmt: skip
    for tag, value in leaves:
        if value:
            etree.SubElement(offer, tag).text = value
    if f["description"]:
        description = f["description"]
        etree.SubElement(offer, "description").text = (
            etree.CDATA(description) if "]]>" not in description else description
        )
    for key, value in f["params"]:
        etree.SubElement(offer, "param", name=key).text = value
    etree.SubElement(offer, "quantity_in_stock").text = str(f["quantity_in_stock"])
    etree.indent(offer, space="  ", level=3)
    return b"      " + etree.tostring(offer, encoding="utf-8") + b"\n"


@given(values, values)
def test_a_whole_element_is_written_as_the_calls_one_by_one_write_it(text: str, attr: str) -> None:
    def document(write: Callable[[XmlDocument], None]) -> bytes:
        out = io.BytesIO()
        doc = XmlDocument(out, b'<?xml version="1.0"?>')
        doc.open("feed", nsmap={None: NS})
        write(doc)
        doc.finish(False)
        return out.getvalue()

    def calls(doc: XmlDocument) -> None:
        doc.open(f"{{{NS}}}offer", {"sku": attr})
        doc.text(f"{{{NS}}}model", text)
        doc.open(f"{{{NS}}}stores")
        doc.element((f"{{{NS}}}store", {"id": attr}, None))
        doc.close()
        doc.open(f"{{{NS}}}none")
        doc.close()
        doc.text(f"{{{NS}}}price", text, {"cityId": attr})
        doc.close()

    tree = (f"{{{NS}}}offer", {"sku": attr}, [
        (f"{{{NS}}}model", None, text),
        (f"{{{NS}}}stores", None, [(f"{{{NS}}}store", {"id": attr}, None)]),
        (f"{{{NS}}}none", None, []),
        (f"{{{NS}}}price", {"cityId": attr}, text),
    ])  # fmt: skip
    assert document(lambda doc: doc.element(tree)) == document(calls)
