"""``XmlDocument``, the feeds' one XML serializer: for any text and attributes it writes the
very bytes lxml's serializer writes, and they parse back to the same values."""

from __future__ import annotations

import io

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from omnisync.channels.writers import XmlDocument
from omnisync.text import xml_safe

NS = "http://base.google.com/ns/1.0"
values = st.text().map(xml_safe)


def ours(title: str, attr: str) -> bytes:
    out = io.BytesIO()
    doc = XmlDocument(out, b'<?xml version="1.0"?>')
    doc.open("rss", {"version": "2.0"}, nsmap={"g": NS})
    doc.text(f"{{{NS}}}title", title, {"note": attr})
    doc.empty("availability", {"storeId": attr})
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
