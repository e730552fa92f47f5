"""omnisync.checks: GS1 check digits, URLs, description HTML, decimal places."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from htmlcheck import html_problems
from hypothesis import given
from hypothesis import strategies as st

from omnisync.channels.google.rules import DESCRIPTION_TAGS
from omnisync.channels.store_display import picture
from omnisync.checks import (
    ascii_url,
    decimal_places,
    gs1_check_digit,
    gtin_problem,
    normalize_gtin,
    url_credentials,
    url_extension,
    url_problem,
)

# --- GTIN ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "gtin",
    [
        pytest.param("4006381333931", id="ean13"),
        pytest.param("036000291452", id="upc12"),
        pytest.param("96385074", id="ean8"),
        pytest.param("10614141000415", id="gtin14"),
    ],
)
def test_known_valid_gtins_pass(gtin: str) -> None:
    assert gtin_problem(gtin) is None


@pytest.mark.parametrize(
    ("gtin", "right_digit"),
    [
        ("4006381333932", 1),
        ("036000291453", 2),
        ("96385070", 4),
        ("10614141000410", 5),
    ],
)
def test_wrong_check_digit_names_the_right_one(gtin: str, right_digit: int) -> None:
    problem = gtin_problem(gtin)
    assert problem is not None
    assert f"check digit should be {right_digit}" in problem


@pytest.mark.parametrize("length", [7, 9, 11, 15])
def test_wrong_length_is_rejected_with_its_length(length: int) -> None:
    problem = gtin_problem("1" * length)
    assert problem is not None
    assert f"has {length} digits" in problem


@pytest.mark.parametrize(
    "gtin",
    [
        pytest.param("40063813339A1", id="letter"),
        pytest.param("4006381-333931", id="dash-not-normalized"),
        pytest.param("", id="empty"),
        pytest.param("٤٠٠٦٣٨١٣٣٣٩٣١", id="arabic-indic-digits"),
        pytest.param("400638133393²", id="superscript-digit"),
    ],
)
def test_non_digits_are_rejected(gtin: str) -> None:
    assert gtin_problem(gtin) == "must contain digits only"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("4006381 333931", "4006381333931"),
        ("400-6381-33393-1", "4006381333931"),
        (" 4006381-333931 ", "4006381333931"),
        ("4006381333931", "4006381333931"),
    ],
)
def test_normalize_gtin_strips_spaces_and_dashes(raw: str, expected: str) -> None:
    assert normalize_gtin(raw) == expected


def test_normalized_gtin_with_dashes_is_valid() -> None:
    assert gtin_problem(normalize_gtin("400-6381-33393-1")) is None


@pytest.mark.parametrize(("body", "digit"), [("400638133393", 1), ("03600029145", 2)])
def test_gs1_check_digit_of_known_bodies(body: str, digit: int) -> None:
    assert gs1_check_digit(body) == digit


@given(
    st.sampled_from([7, 11, 12, 13]).flatmap(
        lambda n: st.text(alphabet="0123456789", min_size=n, max_size=n)
    )
)
def test_body_plus_its_check_digit_is_always_a_valid_gtin(body: str) -> None:
    gtin = body + str(gs1_check_digit(body))
    assert len(gtin) in (8, 12, 13, 14)
    assert gtin_problem(gtin) is None


@given(
    st.sampled_from([7, 11, 12, 13]).flatmap(
        lambda n: st.text(alphabet="0123456789", min_size=n, max_size=n)
    ),
    st.integers(min_value=1, max_value=9),
)
def test_any_other_last_digit_is_rejected(body: str, offset: int) -> None:
    wrong = (gs1_check_digit(body) + offset) % 10
    assert gtin_problem(body + str(wrong)) is not None


# --- URLs ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        pytest.param("/p/kettle-1", "absolute", id="relative-path"),
        pytest.param("shop.example.kz/p/kettle-1", "absolute", id="no-scheme"),
        pytest.param("ftp://shop.example.kz/p/kettle-1", "absolute", id="ftp"),
        pytest.param("https:///p/kettle-1", "absolute", id="no-host"),
        pytest.param("https://?q=kettle", "absolute", id="query-instead-of-host"),
        pytest.param("https:/shop.example.kz/p", "absolute", id="one-slash"),
        pytest.param("javascript:alert(1)", "absolute", id="javascript"),
        pytest.param("", "absolute", id="empty"),
        pytest.param("https://shop.example.kz/p/kettle 1", "spaces or control", id="space"),
        pytest.param("https://shop.example.kz/p/kettle\t1", "spaces or control", id="tab"),
        pytest.param("https://shop.example.kz/p/kettle-1\n", "spaces or control", id="newline"),
        pytest.param("https://shop.example.kz/p/kettle\u00a01", "spaces or control", id="nbsp"),
        pytest.param("https://shop.example.kz/p/kettle\x01", "spaces or control", id="control"),
    ],
)
def test_url_problem_rejects(url: str, fragment: str) -> None:
    problem = url_problem(url)
    assert problem is not None
    assert fragment in problem


def test_url_of_2001_characters_is_too_long() -> None:
    base = "https://shop.example.kz/p/"
    url = base + "a" * (2001 - len(base))
    assert len(url) == 2001
    problem = url_problem(url)
    assert problem is not None
    assert "2001 characters" in problem


def test_url_of_exactly_2000_characters_is_accepted() -> None:
    base = "https://shop.example.kz/p/"
    assert url_problem(base + "a" * (2000 - len(base))) is None


@pytest.mark.parametrize(
    "url",
    [
        "https://shop.example.kz/p/kettle-1",
        "http://shop.example.kz/p/kettle-1?color=red#top",
        "https://shop.example.kz:8443/p/%D1%87%D0%B0%D0%B9",
        "HTTPS://SHOP.EXAMPLE.KZ/P",
        "https://shop.example.kz",
    ],
)
def test_url_problem_accepts_absolute_http_urls(url: str) -> None:
    assert url_problem(url) is None


def test_ascii_url_percent_encodes_cyrillic_path() -> None:
    assert (
        ascii_url("https://shop.example.kz/каталог/чайник")
        == "https://shop.example.kz/%D0%BA%D0%B0%D1%82%D0%B0%D0%BB%D0%BE%D0%B3/"
        "%D1%87%D0%B0%D0%B9%D0%BD%D0%B8%D0%BA"
    )


def test_ascii_url_percent_encodes_query_and_keeps_separators() -> None:
    assert ascii_url("https://shop.example.kz/p?q=да&x=1") == (
        "https://shop.example.kz/p?q=%D0%B4%D0%B0&x=1"
    )


def test_ascii_url_keeps_existing_percent_escapes() -> None:
    url = "https://shop.example.kz/%D0%B0/б"
    assert ascii_url(url) == "https://shop.example.kz/%D0%B0/%D0%B1"


def test_ascii_url_converts_idn_host_to_punycode() -> None:
    assert ascii_url("https://пример.рф/p") == "https://xn--e1afmkfd.xn--p1ai/p"


def test_ascii_url_keeps_port_and_userinfo_around_idn_host() -> None:
    assert ascii_url("https://user@пример.рф:8080/p") == "https://user@xn--e1afmkfd.xn--p1ai:8080/p"


def test_ascii_url_result_is_ascii_and_accepted() -> None:
    result = ascii_url("https://пример.рф/каталог/чайник?цвет=белый")
    assert result.isascii()
    assert url_problem(result) is None


@pytest.mark.parametrize(
    "url",
    [
        "https://shop.example.kz/p/kettle-1",
        "https://Shop.Example.KZ/P/Kettle-1?q=a%20b",
        "https://shop.example.kz/p/a b",  # ASCII: left for url_problem to report
    ],
)
def test_ascii_url_returns_ascii_urls_unchanged(url: str) -> None:
    assert ascii_url(url) == url


def test_ascii_url_converts_capitalised_idn_host() -> None:
    assert ascii_url("https://Пример.рф/p") == "https://xn--e1afmkfd.xn--p1ai/p"


def test_ascii_url_does_not_raise_on_malformed_idn_host() -> None:
    result = ascii_url("https://пример..рф/p")
    assert result == "https://пример..рф/p"
    assert url_problem(result) == "has a host name that cannot be IDNA-encoded"


@pytest.mark.parametrize(
    ("url", "extension"),
    [
        ("https://cdn.example.kz/img/kettle.jpg", "jpg"),
        ("https://cdn.example.kz/img/kettle.JPEG?w=800", "jpeg"),
        ("https://cdn.example.kz/img/kettle.webp#frag", "webp"),
        ("https://cdn.example.kz/img/kettle.tar.gz", "gz"),
        ("https://cdn.example.kz/img/kettle", ""),
        ("https://cdn.example.kz/img.d/kettle", ""),
        ("https://cdn.example.kz/", ""),
        ("https://cdn.example.kz/img/kettle.", ""),
    ],
)
def test_url_extension(url: str, extension: str) -> None:
    assert url_extension(url) == extension


# --- description HTML ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "html",
    [
        pytest.param("Plain text, no markup", id="plain"),
        pytest.param("<strong>2200 W</strong> and <em>quiet</em>", id="inline"),
        pytest.param("<ul><li>one</li><li>two</li></ul>", id="list"),
        pytest.param("<div><span>x</span><sub>2</sub><sup>3</sup></div>", id="nested"),
        pytest.param("<dl><dt>Power</dt><dd>2200 W</dd></dl>", id="definition-list"),
        pytest.param("line one<br>line two", id="br"),
        pytest.param("line one<br/>line two<br />three", id="br-self-closing"),
        pytest.param("<STRONG>loud</STRONG>", id="upper-case-tags"),
        pytest.param("1 < 2 and 3 > 2", id="comparison-signs"),
    ],
)
def test_allowed_html_has_no_problems(html: str) -> None:
    assert html_problems(html, DESCRIPTION_TAGS) == []


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        pytest.param("<script>alert(1)</script>", "tag <script> is not allowed", id="script"),
        pytest.param('<a href="https://evil.example">x</a>', "tag <a> is not allowed", id="a-href"),
        pytest.param("<p>text</p>", "tag <p> is not allowed", id="p"),
        pytest.param(
            '<strong onclick="steal()">x</strong>',
            "tag <strong> must not have attributes",
            id="onclick",
        ),
        pytest.param(
            '<span style="color:red">x</span>', "tag <span> must not have attributes", id="style"
        ),
        pytest.param("<ul><li>one</li>", "<ul> is never closed", id="unclosed-ul"),
        pytest.param(
            "text</em>", "closing </em> does not match an open tag", id="stray-closing-em"
        ),
        pytest.param(
            "<em><strong>x</em></strong>",
            "closing </em> does not match an open tag",
            id="misnested",
        ),
    ],
)
def test_html_problem_is_reported(html: str, expected: str) -> None:
    assert expected in html_problems(html, DESCRIPTION_TAGS)


def test_attribute_on_allowed_tag_is_the_only_problem() -> None:
    assert html_problems('<em class="x">a</em>', DESCRIPTION_TAGS) == [
        "tag <em> must not have attributes"
    ]


def test_br_is_fine_even_when_closed_explicitly() -> None:
    assert html_problems("a<br></br>b", DESCRIPTION_TAGS) == []


def test_br_is_rejected_when_not_in_the_allowed_set() -> None:
    assert html_problems("a<br/>b", frozenset({"em"})) == ["tag <br> is not allowed"]


# --- decimal places --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "places"),
    [
        ("15990", 0),
        ("15990.5", 1),
        ("15990.50", 1),  # the value needs one place, however it was written
        ("15990.55", 2),
        ("0.001", 3),
        ("1E+2", 0),
        ("0", 0),
        ("NaN", 0),
    ],
)
def test_decimal_places(value: str, places: int) -> None:
    assert decimal_places(Decimal(value)) == places


url_text = st.text(alphabet="ab.:/?#%=& \t\n", max_size=12)


@given(st.sampled_from(["http://", "https://", "HTTPS://"]), st.text("ab.-", min_size=1,
       max_size=5), url_text)  # fmt: skip
def test_url_extension_cuts_the_path_as_urlsplit_does(scheme: str, host: str, rest: str) -> None:
    url = scheme + host + rest
    name = urlsplit(url).path.rsplit("/", 1)[-1]
    assert url_extension(url) == (name.rsplit(".", 1)[-1].lower() if "." in name else "")


# --- credentials in URLs ----------------------------------------------------------------------

WITH_CREDENTIALS = [
    "https://user:s3cr3t@shop.example.kz/p/1",
    "https://tok3n@cdn.example.kz/i.jpg",
    "http://:s3cr3t@shop.example.kz/",
    "HTTPS://User:S3cr3t@Shop.Example.KZ",
    "https://user:s3cr3t@shop.example.kz:8443?q=1",
]


@pytest.mark.parametrize("url", WITH_CREDENTIALS)
def test_url_with_credentials_is_refused_without_showing_them(url: str) -> None:
    assert url_credentials(url)
    problem = url_problem(url)
    assert problem is not None and "user name or password" in problem
    assert "s3cr3t" not in problem.lower() and "tok3n" not in problem


@pytest.mark.parametrize(
    "url",
    [
        "https://shop.example.kz/p/@kettle",  # an @ in the path is no user name
        "https://shop.example.kz/p?mail=a@b.kz",
        "https://shop.example.kz/p#a@b",
        "https://shop.example.kz/p/kettle-1",
    ],
)
def test_an_at_sign_after_the_host_is_not_a_credential(url: str) -> None:
    assert not url_credentials(url)
    assert url_problem(url) is None


@pytest.mark.parametrize("url", ["ftp://\x1b[31m", "https://[bad/x.jpg", "https://a\tb[/x.png"])
def test_an_unbalanced_bracket_in_a_host_is_a_problem_not_a_crash(url: str) -> None:
    """urlsplit raises "Invalid IPv6 URL" for these; every URL helper must answer instead."""
    assert url_problem(url) is not None
    assert url_extension(url) in ("", "jpg", "png")
    assert ascii_url(url + "ä").endswith("ä")
    assert picture(url) == ""


@given(st.text(alphabet=st.sampled_from("htps:/[]@.x%\t\x1bä?#"), max_size=30))
def test_url_helpers_never_raise(url: str) -> None:
    url_problem(url)
    url_extension(url)
    ascii_url(url)
    picture(url)
