"""Descriptions with the markup every CMS and 1C export writes are published by every file
channel, in the form each channel takes; nothing that runs reaches any feed."""

from __future__ import annotations

import csv
import html
import re
import shutil
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from conftest import DEMO_CONFIG
from htmlcheck import html_problems
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from omnisync import markup, pipeline
from omnisync.channels.google import GoogleMerchant, GoogleMerchantConfig
from omnisync.channels.google.rules import DESCRIPTION_TAGS
from omnisync.channels.meta import MetaCatalog, MetaConfig
from omnisync.channels.satu import Satu, SatuConfig
from omnisync.config import load_config
from omnisync.models import Product, Severity
from omnisync.report import RunReport

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
EVIL = "EVIL"  # in every piece of unsafe markup below, and in no feed after cleaning

# What CMSs (Bitrix, WordPress, Tilda, InSales) and 1C put in a description.
ORDINARY = [
    "<p>Электрический чайник из нержавеющей стали.</p><p>Объём 1,7 л, мощность 2200 Вт.</p>",
    "Чайник <b>Acme</b> с <i>подсветкой</i> и <strong>автоотключением</strong>.",
    "Первая строка.<br>Вторая строка.<br/>Третья строка.<br />Четвёртая.",
    "<ul><li>Корпус из стали</li><li>Защита от перегрева</li><li>Подсветка воды</li></ul>",
    "<div><p>Особенности:</p><ul><li>Фильтр <b>от накипи</b></li><li>Вращение на 360°"
    "<ul><li>на подставке</li></ul></li></ul></div>",
    "Чайник&nbsp;&laquo;Дала&raquo; &mdash; 1,7&nbsp;л &amp; 2200&nbsp;Вт, цена &lt; 20 000 ₸",
    "<table border='1'><tr><th>Мощность</th><td>2200 Вт</td></tr>"
    "<tr><th>Объём</th><td>1,7 л</td></tr></table>",
    "<p>Абзац без закрытия <b>и жирный без закрытия",
    "<P><B>ВЕРХНИЙ РЕГИСТР</B><BR>тегов</P><UL><LI>как в 1С</LI></UL>",
    '<p style="color: #333; font-size: 14px" class="MsoNormal" align="justify">'
    '<span style="font-family: Arial">Текст из Word</span></p>',
    "<h2>Характеристики</h2><h3>Общие</h3><p>Цвет: белый</p>",
    "<ol><li>Налейте воду</li><li>Включите</li></ol><dl><dt>Гарантия</dt><dd>12 мес.</dd></dl>",
    "Простой текст без разметки, как в большинстве карточек.",
    "Размер 5<10 см, вес > 1 кг",
    "<p>Вода</p>\n\n<p>  с   пробелами\n  и переносами  </p>",
    "H<sub>2</sub>O, 10<sup>3</sup> Па",
]
UNSAFE = [
    f"<p>Чайник</p><script>alert('{EVIL}')</script>",
    f"<style>.x {{ color: {EVIL} }}</style><p>Чайник со стилем</p>",
    f'<p>Видео:</p><iframe src="https://{EVIL}.example/embed">{EVIL}</iframe>',
    f'<object data="{EVIL}.swf"><embed src="{EVIL}.swf"></object>Чайник с плеером',
    f'<p onclick="{EVIL}()" onmouseover="{EVIL}()">Наведите</p>',
    f'<a href="javascript:{EVIL}()">ссылка</a> и <a href="data:text/html,{EVIL}">ещё</a>',
    f"<SCRIPT SRC=//{EVIL}.example/x.js></SCRIPT>Чайник",
    f'<img src=x onerror="{EVIL}()">Чайник с картинкой',
    f"<svg><script>{EVIL}</script></svg>Чайник",
]
CATALOGUE = ORDINARY + UNSAFE


def demo_with_descriptions(folder: Path, descriptions: list[str] | None) -> Path:
    """configs/demo in ``folder``; with ``descriptions``, the products take them in turn."""
    shutil.copytree(DEMO_CONFIG.parent / "demo", folder / "demo")
    data = yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8"))
    data["output_dir"] = "out"
    config = folder / "omnisync.yaml"
    config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    if descriptions is not None:
        products = folder / "demo" / "products.csv"
        with products.open(encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f)
            header, rows = list(reader.fieldnames or []), list(reader)
        for i, row in enumerate(rows):
            row["description"] = descriptions[i % len(descriptions)]
        with products.open("w", encoding="utf-8", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=header, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
    return config


def outcome(report: RunReport) -> dict[str, tuple[bool, int, dict[str, int]]]:
    return {s.channel: (s.published, s.items_valid, s.counts) for s in report.channels}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunReport, RunReport, Path]:
    """The demo as shipped, and the demo whose products carry the CMS catalogue."""
    plain = tmp_path_factory.mktemp("plain")
    marked = tmp_path_factory.mktemp("marked")
    before = pipeline.build(load_config(demo_with_descriptions(plain, None)), now=NOW)
    after = pipeline.build(load_config(demo_with_descriptions(marked, CATALOGUE)), now=NOW)
    return before, after, marked / "out"


def test_every_file_channel_publishes_every_item_whatever_its_markup(
    built: tuple[RunReport, RunReport, Path],
) -> None:
    before, after, _ = built
    assert all(published for published, _, _ in outcome(before).values())
    assert outcome(after) == outcome(before)
    description_errors = [
        p for p in after.problems if p.field == "description" and p.severity is Severity.ERROR
    ]
    assert description_errors == []


def test_a_local_feed_whose_every_description_has_markup_is_published(
    built: tuple[RunReport, RunReport, Path], tmp_path: Path
) -> None:
    """Local inventory rows follow the primary feed's verdict on each item: when that refused
    <p>, a catalogue exported with <p> everywhere left the local feed empty (and unpublished)."""
    before, _, _ = built
    config = demo_with_descriptions(tmp_path, ["<p>Чайник.</p>", "<p><b>Чайник</b> 1,7 л</p>"])
    report = pipeline.build(load_config(config), only=["local"], now=NOW)
    assert outcome(report)["local"] == outcome(before)["local"]
    assert outcome(report)["local"][0]  # published


def test_unsafe_markup_reaches_no_output(built: tuple[RunReport, RunReport, Path]) -> None:
    _, _, out = built
    files = [p for p in out.rglob("*") if p.is_file() and p.suffix != ".db"]
    assert files
    for path in files:
        text = path.read_text(encoding="utf-8")
        for form in (text, html.unescape(text), html.unescape(html.unescape(text))):
            assert EVIL not in form, path.name
            assert "onclick" not in form.lower(), path.name
            assert "javascript:" not in form.lower(), path.name


def test_unsafe_markup_is_one_summarised_warning(built: tuple[RunReport, RunReport, Path]) -> None:
    _, after, _ = built
    codes = {(p.code, p.severity) for p in after.problems if p.field == "description"}
    assert ("description_unsafe_removed", Severity.WARNING) in codes
    assert {code for code, _ in codes} <= {"description_unsafe_removed"}


def _offer_descriptions(out: Path) -> dict[str, str]:
    tree = etree.parse(str(out / "satu.xml"))
    return {str(o.get("id")): str(o.findtext("description") or "") for o in tree.iter("offer")}


def test_satu_gets_safe_html_in_cdata(built: tuple[RunReport, RunReport, Path]) -> None:
    _, _, out = built
    raw = (out / "satu.xml").read_text(encoding="utf-8")
    assert "<description><![CDATA[<p>Электрический чайник из нержавеющей стали.</p>" in raw
    descriptions = _offer_descriptions(out).values()
    assert (
        "<ul><li>Корпус из стали</li><li>Защита от перегрева</li><li>Подсветка воды</li></ul>"
        in (descriptions)
    )
    for text in descriptions:
        assert "style=" not in text and "<span" not in text and "<table" not in text


def test_google_gets_its_listed_tags(built: tuple[RunReport, RunReport, Path]) -> None:
    _, _, out = built
    tree = etree.parse(str(out / "google.xml"))
    descriptions = [str(d.text) for d in tree.iter("description")][1:]  # [0] is the channel's
    assert any("<div>Электрический чайник из нержавеющей стали.</div>" in d for d in descriptions)
    for text in descriptions:
        assert html_problems(text, DESCRIPTION_TAGS) == [], text


def test_meta_gets_plain_text_with_entities_decoded(
    built: tuple[RunReport, RunReport, Path],
) -> None:
    _, _, out = built
    with (out / "meta.csv").open(encoding="utf-8", newline="") as f:
        descriptions = [row["description"] for row in csv.DictReader(f)]
    assert "Чайник «Дала» — 1,7 л & 2200 Вт, цена < 20 000 ₸" in descriptions  # nbsp: a space
    assert "Корпус из стали Защита от перегрева Подсветка воды" in descriptions
    for text in descriptions:
        assert not re.search(r"<[A-Za-z/!?]|&#?[A-Za-z0-9]+;", text), text  # no tag, no entity


# --- channel by channel ----------------------------------------------------------------------


def _product(description: str) -> Product:
    return Product(
        sku="KETTLE-1", title="Чайник", description=description, price=Decimal("15990"),
        currency="KZT", url="https://shop.example.kz/p/1", image_url="https://cdn.example.kz/1.jpg",
        category=("Кухня",), brand="Acme", gtin="4006381333931", mpn="AK-1", quantity=5,
    )  # fmt: skip


GOOGLE = GoogleMerchant("google", GoogleMerchantConfig(type="google_merchant", currency="KZT"))
META = MetaCatalog("meta", MetaConfig(type="meta", currency="KZT"))
SATU = Satu(
    "satu",
    SatuConfig.model_validate(
        {"type": "satu", "shop": {"name": "S", "company": "C", "url": "https://s.kz"}}
    ),
)


@pytest.mark.parametrize("description", CATALOGUE)
def test_each_description_is_valid_for_google_meta_and_satu(description: str) -> None:
    for channel in (GOOGLE, META, SATU):
        record = channel.to_record(_product(description))
        errors = [p for p in channel.validate(record) if p.severity is Severity.ERROR]
        assert errors == [], (channel.name, errors)


@pytest.mark.parametrize(
    "description", ["<p><br></p>&nbsp;", "<div>&nbsp; &#160;</div>\n<br/>", "<p> </p>"]
)
def test_a_description_with_no_text_is_missing_on_every_channel(description: str) -> None:
    for channel in (GOOGLE, META, SATU):
        record = channel.to_record(_product(description))
        assert record.fields["description"] == "", channel.name  # Satu writes none
    for channel in (GOOGLE, META):  # the channels that require one
        codes = [(p.code, p.severity) for p in channel.validate(channel.to_record(_product(
            description)))]  # fmt: skip
        assert ("description_missing", Severity.ERROR) in codes, channel.name


def test_cdata_end_inside_a_description_keeps_satu_xml_well_formed(tmp_path: Path) -> None:
    config = demo_with_descriptions(
        tmp_path, ["<p>Код ]]> внутри</p>", "Текст ]]> без разметки", "<b>]]&gt;</b>"]
    )
    report = pipeline.build(load_config(config), only=["satu"], now=NOW)
    assert report.channels[0].published
    texts = set(_offer_descriptions(tmp_path / "out").values())
    assert texts == {
        "<p>Код ]]&gt; внутри</p>",
        "Текст ]]> без разметки",
        "<strong>]]&gt;</strong>",
    }


def test_long_html_for_satu_is_shortened_as_plain_text_with_warnings() -> None:
    raw = "<ul><li>Сталь &amp; стекло, 1,7 л, 2200 Вт, защита</li></ul>" * 400
    record = SATU.to_record(_product(raw))
    codes = [(p.code, p.severity) for p in SATU.validate(record) if p.field == "description"]
    assert codes == [
        ("description_html_removed", Severity.WARNING),
        ("description_truncated", Severity.WARNING),
    ]
    text = record.fields["description"]
    assert 0 < len(text) <= 12160
    assert "<" not in text and "&amp;" in text  # plain text, still HTML for the CDATA


@pytest.mark.parametrize(
    ("channel", "limit"), [(SATU, 12160), (GOOGLE, 5000)], ids=["satu", "google"]
)
def test_a_cut_description_states_the_channels_limit_and_its_written_length(
    channel: Satu | GoogleMerchant, limit: int
) -> None:
    raw = "<ul><li>Сталь &amp; стекло, 1,7 л, 2200 Вт, защита</li></ul>" * 400
    record = channel.to_record(_product(raw))
    (message,) = [p.message for p in channel.validate(record) if p.code == "description_truncated"]
    written = len(html.escape(markup.clean(raw, markup.TEXT).text, quote=False))
    label = channel.label
    assert message == f"description has {written} characters; {label} takes {limit}, so it was cut"


TAGS = st.sampled_from(
    ["p", "b", "i", "br", "ul", "li", "div", "span", "table", "tr", "td", "script", "style",
     "iframe", "a", "img", "h2", "strong", "em", "P", "LI", "font", "sup", "object", "svg"]
)  # fmt: skip
ATTRS = st.sampled_from(
    ["", ' onclick="x()"', ' style="color:red"', ' href="javascript:x()"', " class=a", " src=x"]
)
PIECES = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["&amp;", "&nbsp;", "&lt;script&gt;", "&#60;", "]]>", "<", ">", "&", "<!--"]),
    st.builds(lambda t, a: f"<{t}{a}>", TAGS, ATTRS),
    st.builds(lambda t: f"</{t}>", TAGS),
)
MARKUP = st.lists(PIECES, max_size=25).map("".join)


@settings(max_examples=300, deadline=None)
@given(MARKUP)
def test_google_descriptions_hold_only_listed_tags_without_attributes(raw: str) -> None:
    record = GOOGLE.to_record(_product(raw))
    text = record.fields["description"]
    assert html_problems(text, DESCRIPTION_TAGS) == [], text
    assert "<script" not in text.lower() and "javascript:" not in text.lower()


@settings(max_examples=300, deadline=None)
@given(MARKUP)
def test_meta_and_satu_descriptions_never_hold_a_script(raw: str) -> None:
    meta = META.to_record(_product(raw)).fields["description"]
    satu = SATU.to_record(_product(raw)).fields["description"]
    for text in (meta, satu):
        assert "<script" not in text.lower(), text
        assert "javascript:" not in text.lower() and "onclick" not in text.lower(), text
    assert not re.search(r"<[A-Za-z/!?]", meta)  # text: anything tag-like is broken up
    assert html_problems(satu, frozenset({"h3", "ul", "ol", "li", "p", "br", "strong", "em"})) == []
