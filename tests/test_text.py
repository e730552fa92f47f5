"""omnisync.text: XML-safe characters, one-line cells, truncation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from omnisync.text import _XML_FORBIDDEN, one_line, truncate, xml_safe

# --- xml_safe --------------------------------------------------------------------------------

FORBIDDEN_C0 = [chr(c) for c in range(0x20) if chr(c) not in "\t\n\r"]


@pytest.mark.parametrize("char", FORBIDDEN_C0, ids=[f"U+{ord(c):04X}" for c in FORBIDDEN_C0])
def test_xml_safe_removes_c0_controls(char: str) -> None:
    assert xml_safe(f"Kettle{char}1") == "Kettle1"


@pytest.mark.parametrize("char", ["\t", "\n", "\r"], ids=["tab", "LF", "CR"])
def test_xml_safe_keeps_tab_lf_cr(char: str) -> None:
    assert xml_safe(f"a{char}b") == f"a{char}b"


@pytest.mark.parametrize("char", ["\ud800", "\udbff", "\udc00", "\udfff"])
def test_xml_safe_removes_lone_surrogates(char: str) -> None:
    assert xml_safe(f"a{char}b") == "ab"


@pytest.mark.parametrize("char", ["\ufffe", "\uffff"], ids=["U+FFFE", "U+FFFF"])
def test_xml_safe_removes_noncharacters_fffe_ffff(char: str) -> None:
    assert xml_safe(f"a{char}b") == "ab"


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("Чайник 😀 👍🏽 👨‍👩‍👧", id="emoji"),
        pytest.param("\u200fשלום\u200f and \u200e", id="rtl-ltr-marks"),
        pytest.param("Қазақстан: ә і ң ғ ү ұ қ ө һ", id="kazakh"),
        pytest.param("plain ascii text", id="ascii"),
        pytest.param("\ufffd replacement char", id="U+FFFD"),
        pytest.param("\ue000 private use", id="U+E000"),
        pytest.param("\U0010ffff last plane", id="U+10FFFF"),
    ],
)
def test_xml_safe_leaves_allowed_text_unchanged(text: str) -> None:
    assert xml_safe(text) == text


def test_xml_safe_removes_only_the_forbidden_characters() -> None:
    assert xml_safe("Қ\x00a\x0b😀\ud800\u200f\uffffb\x1f") == "Қa😀\u200fb"


@given(st.text())
def test_xml_safe_output_has_only_xml_chars(text: str) -> None:
    for ch in xml_safe(text):
        code = ord(ch)
        assert (
            ch in "\t\n\r"
            or 0x20 <= code <= 0xD7FF
            or 0xE000 <= code <= 0xFFFD
            or 0x10000 <= code <= 0x10FFFF
        )


# --- one_line --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("line one\nline two", "line one line two"),
        ("windows\r\nbreak", "windows break"),
        ("old mac\rbreak", "old mac break"),
        ("col\tcol", "col col"),
        ("many\n\n\r\n\tbreaks", "many breaks"),
        ("no breaks here", "no breaks here"),
        ("Чайник\nҚазақ", "Чайник Қазақ"),
    ],
)
def test_one_line(text: str, expected: str) -> None:
    assert one_line(text) == expected


@given(st.text())
def test_one_line_never_leaves_tabs_or_line_breaks(text: str) -> None:
    result = one_line(text)
    assert not any(c in result for c in "\t\r\n")


# --- truncate --------------------------------------------------------------------------------


def test_truncate_leaves_short_text_alone() -> None:
    assert truncate("Acme Kettle", 150) == "Acme Kettle"


def test_truncate_leaves_text_of_exactly_the_limit_alone() -> None:
    assert truncate("x" * 150, 150) == "x" * 150


def test_truncate_cuts_at_last_space_near_the_end() -> None:
    assert truncate("Acme Electric Kettle with extras", 27) == "Acme Electric Kettle with"


def test_truncate_does_not_cut_mid_word_when_a_space_is_near() -> None:
    text = "Acme Electric Kettle 1.7 L stainless"
    result = truncate(text, 30)
    assert result == "Acme Electric Kettle 1.7 L"
    assert text.startswith(result)


def test_truncate_cuts_hard_when_no_space_is_near_the_end() -> None:
    assert truncate("Supercalifragilisticexpialidocious", 10) == "Supercalif"


def test_truncate_ignores_a_space_far_from_the_end() -> None:
    # the only space is at 20% of the limit: cutting there would lose most of the text
    assert truncate("ab " + "c" * 20, 10) == "ab " + "c" * 7


def test_truncate_cuts_cyrillic_by_characters() -> None:
    # 20 characters (40 bytes in UTF-8): the limit counts characters, not bytes
    assert truncate("Чайник " * 10, 20) == "Чайник Чайник Чайник"


@given(st.text(), st.integers(min_value=0, max_value=300))
def test_truncate_never_exceeds_limit(text: str, limit: int) -> None:
    result = truncate(text, limit)
    assert len(result) <= limit
    assert text.startswith(result)


def test_every_character_xml_forbids_is_unprintable_so_the_fast_path_is_sound() -> None:
    """xml_allowed and xml_safe skip their regex for printable text: that is only right while
    no character XML 1.0 forbids counts as printable, checked here over all of Unicode."""
    forbidden = [chr(c) for c in range(0x110000) if _XML_FORBIDDEN.match(chr(c))]
    assert len(forbidden) == 29 + 2048 + 2  # C0 but tab/LF/CR, surrogates, U+FFFE/U+FFFF
    assert not any(char.isprintable() for char in forbidden)
