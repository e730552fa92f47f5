"""omnisync.markup: CMS description HTML made into a channel's tags or plain text."""

from __future__ import annotations

import pytest

from omnisync import markup
from omnisync.channels.google.channel import DESCRIPTION_MARKUP
from omnisync.channels.yml import DESCRIPTION_MARKUP as YML
from omnisync.text import truncate

TEXT = markup.TEXT


def test_plain_text_is_returned_as_it_is_without_parsing() -> None:
    plain = "Чайник 1,7 л,  2200 Вт.\nГарантия > 1 года."
    for profile in (YML, TEXT):
        cleaned = markup.clean(plain, profile)
        assert cleaned.text is plain and not cleaned.unsafe


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("<p>Один</p><p>Два</p>", "Один\nДва"),
        ("Один<br>Два<BR/>Три", "Один\nДва\nТри"),
        ("<ul><li>а</li><li>б</li></ul>После", "а\nб\nПосле"),
        ("<b>Жирный</b> и <i>курсив</i>", "Жирный и курсив"),
        ("<table><tr><td>Мощность</td><td>2200 Вт</td></tr><tr><td>Объём</td><td>1,7 л</td></tr>"
         "</table>", "Мощность 2200 Вт\nОбъём 1,7 л"),
        ("&laquo;Дала&raquo; &amp; &#171;Алтын&#187;", "«Дала» & «Алтын»"),
        ("&lt;script&gt;alert(1)&lt;/script&gt;", "< script>alert(1)< /script>"),
        ("<p>  много   пробелов \n </p>", "много пробелов"),
    ],
)  # fmt: skip
def test_text_keeps_the_words_with_a_line_per_block(raw: str, text: str) -> None:
    assert markup.clean(raw, TEXT).text == text


@pytest.mark.parametrize(
    ("raw", "written"),
    [
        ("<p>Один</p><div>Два</div>Три", "<p>Один</p>Два<br>Три"),
        ("<h1>Заголовок</h1><B>жирный</B>", "<h3>Заголовок</h3><strong>жирный</strong>"),
        ('<a href="https://x.kz">ссылка</a>', "ссылка"),
        ("<p>]]></p>", "<p>]]&gt;</p>"),
        ("<p></p><strong> </strong><p>x</p>", "<p>x</p>"),
    ],
)
def test_yml_keeps_the_tags_yml_lists(raw: str, written: str) -> None:
    assert markup.clean(raw, YML).text == written


@pytest.mark.parametrize(
    "raw",
    [
        "<script>alert(1)</script>x",
        "<STYLE>p{}</STYLE>x",
        '<iframe src="https://e.example"></iframe>x',
        '<b onclick="f()">x</b>',
        '<a href=" JaVa\tScRiPt:f()">x</a>',
        '<a href="data:text/html;base64,PHNjcmlwdD4=">x</a>',
        '<p style="width: expression(alert(1))">x</p>',
        "<p style=\"background: url('javascript:f()')\">x</p>",
    ],
)
def test_unsafe_markup_is_removed_and_reported(raw: str) -> None:
    for profile in (YML, TEXT):
        cleaned = markup.clean(raw, profile)
        assert cleaned.unsafe
        assert cleaned.text in ("x", "<strong>x</strong>", "<p>x</p>")


def test_ordinary_attributes_are_dropped_without_a_report() -> None:
    cleaned = markup.clean('<p class="a" style="color:red" align="left">x</p>', YML)
    assert cleaned == markup.Cleaned("<p>x</p>", False)


def test_deep_nesting_keeps_its_text() -> None:
    raw = "<div>" * 2000 + "глубоко" + "</div>" * 2000  # libxml2's default limit is 256
    assert markup.clean(raw, TEXT).text == "глубоко"


def test_nesting_the_parser_refuses_is_kept_as_inert_text() -> None:
    raw = "<div>" * 5000 + "глубоко<script>x</script>" + "</div>" * 5000
    cleaned = markup.clean(raw, YML).text
    assert "глубоко" in cleaned and "<" not in cleaned  # every tag escaped, shown as text


def test_fit_cuts_the_text_before_escaping_so_an_entity_is_never_split() -> None:
    text = "Tom & Jerry " * 10
    cut: list[tuple[int, int]] = []

    def cutter(value: str, limit: int, length: int) -> str:
        cut.append((limit, length))
        return truncate(value, limit)

    fitted = markup.fit(text, 50, cutter)
    assert len(fitted) <= 50
    assert "&amp;" in fitted and not fitted.endswith(("&", "&a", "&am", "&amp"))
    # the room left before escaping, and the length as written (escaped) for the warning
    assert cut == [(50 - 4 * text[:50].count("&"), len(text) + 4 * text.count("&"))]


@pytest.mark.parametrize(
    ("raw", "written"),
    [
        ("Tom & Jerry", "Tom & Jerry"),
        ("цена&nbsp;ниже", "цена\xa0ниже"),
        ("<p>Tom & Jerry</p>", "<div>Tom &amp; Jerry</div>"),
        # decoded, these would read as tags: they stay escaped
        ("&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;script&gt;alert(1)&lt;/script&gt;"),
    ],
)
def test_a_description_with_no_tag_left_is_written_as_plain_text(raw: str, written: str) -> None:
    """A tagless description reads the same as text or as HTML only when it holds no entity:
    "&amp;" would show as written wherever a channel takes it as text."""
    assert markup.clean(raw, DESCRIPTION_MARKUP).text == written


@pytest.mark.parametrize(
    ("raw", "title", "changed"),
    [
        ("<b>Жирный</b> чайник <script>alert(1)</script><style>b{}</style>", "Жирный чайник",
         True),
        ("<p>Один</p><p>Два</p>", "Один Два", True),  # a title is one line
        ("Чайник &laquo;Дала&raquo;", "Чайник «Дала»", True),
        ("\x1b[1;31mКРАСНЫЙ\x1b[0m чайник", "КРАСНЫЙ чайник", True),  # CSI, whole
        ("Чайник\x1b]0;заголовок\x07 белый", "Чайник белый", True),  # OSC to BEL
        ("Чайник\x1b]8;;https://x.kz\x1b\\ белый", "Чайник белый", True),  # OSC to ST
        ("Чайник\x9b31m белый", "Чайник белый", True),  # the one-byte CSI
        ("Tom & Jerry", "Tom & Jerry", False),  # parsed, nothing removed
        ("Чайник 1,7 л < 2 л", "Чайник 1,7 л < 2 л", False),
        ("Чайник\x00 белый", "Чайник белый", False),  # xml_safe's silent removal, as before
        ("Чайник 1,7 л", "Чайник 1,7 л", False),
    ],
)  # fmt: skip
def test_a_title_is_plain_text_without_markup_or_escape_sequences(
    raw: str, title: str, changed: bool
) -> None:
    assert markup.title(raw) == (title, changed)
