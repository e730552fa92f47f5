"""The Google TSV feed reads back with Python's csv module: one row per item, text intact
(apart from what XML 1.0 forbids and line breaks/tabs, which become spaces)."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from hypothesis import example, given, settings
from hypothesis import strategies as st

from omnisync import markup
from omnisync.channels.google import GoogleMerchant, GoogleMerchantConfig
from omnisync.channels.google.feed import COLUMNS
from omnisync.models import Product
from omnisync.text import one_line, xml_safe

# Any code point, lone surrogates included, with the characters that matter to TSV and CSV
# quoting drawn often.
TRICKY = st.sampled_from(
    ["\t", "\n", "\r", '"', "'", ",", "\\", " ", "\x00", "\x0b", "\x85", "\u2028", "\ufeff"]
)
SURROGATE = st.characters(categories=["Cs"])  # st.characters() leaves these out by default
ANY_CHAR = st.one_of(st.characters(), SURROGATE, TRICKY)


def _tsv(title: str, description: str) -> str:
    config = GoogleMerchantConfig(type="google_merchant", format="tsv", currency="KZT")
    channel = GoogleMerchant("google", config)
    product = Product(
        sku="SKU-1",
        title=title,
        description=description,
        price=Decimal("15990"),
        url="https://shop.example.kz/p/1",
        image_url="https://cdn.example.kz/1.jpg",
    )
    buffer = io.BytesIO()
    [output] = channel.outputs()
    assert output == "google.tsv"
    with channel.open_writer({output: buffer}) as writer:
        writer.write(channel.to_record(product))
    return buffer.getvalue().decode("utf-8")  # strict: the file is valid UTF-8


@settings(deadline=None, max_examples=200)
@given(
    # "<" and "&" make a title or description HTML, which is cleaned (tests/test_markup.py,
    # tests/test_descriptions.py); terminal escape sequences leave a title whole (markup.title).
    title=st.text(ANY_CHAR, max_size=150).map(lambda s: s.replace("<", "").replace("&", "")),
    description=st.text(ANY_CHAR, max_size=600).map(lambda s: s.replace("<", "").replace("&", "")),
)
@example(title='"quoted"\tand\ttabbed', description='line one\r\nline "two"\n\n"')
@example(title="", description="")
@example(title="\x9b2J\x1b[31mred\x1b[0m", description="\x1b]0;x\x07")
@example(title='"', description="\ud800 lone surrogate \udfff")
def test_tsv_reads_back_as_one_row_with_the_sanitized_text(title: str, description: str) -> None:
    text = _tsv(title, description)
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter="\t"))
    assert len(rows) == 2, rows  # the header and exactly one data row
    header, row = rows
    assert tuple(header) == COLUMNS
    assert len(row) == len(COLUMNS)
    cells = dict(zip(header, row, strict=True))
    assert cells["title"] == one_line(markup.title(title)[0])
    assert cells["description"] == one_line(xml_safe(description))
    assert cells["id"] == "SKU-1"
    assert cells["price"] == "15990.00 KZT"
