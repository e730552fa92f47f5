"""XML omnisync reads back (its previous feeds, for the publish gate) goes through the hardened
parser: no entity expansion, no DTD, no network — a planted file cannot leak a local file,
exhaust memory, or make omnisync call out (reliability.md → Security)."""

from __future__ import annotations

from pathlib import Path

import pytest

from omnisync.channels.writers import count_xml
from omnisync.xmlinput import UnsafeXml, iter_elements

SECRET = "root-secret-line-5f2c"


def billion_laughs() -> str:
    entities = ['<!ENTITY l0 "ha">'] + [
        f'<!ENTITY l{n} "{("&l" + str(n - 1) + ";") * 10}">' for n in range(1, 10)
    ]
    return f"<?xml version='1.0'?><!DOCTYPE rss [{''.join(entities)}]><rss><channel>" + (
        "<item><title>&l9;</title></item>" * 3 + "</channel></rss>"
    )


def local_file_entity(secret_file: Path) -> str:
    return (
        f"<?xml version='1.0'?><!DOCTYPE rss [<!ENTITY x SYSTEM \"{secret_file.as_uri()}\">]>"
        "<rss><channel><item><title>&x;</title></item><item><title>b</title></item>"
        "</channel></rss>"
    )


def test_an_external_entity_naming_a_local_file_is_not_read(tmp_path: Path) -> None:
    secret = tmp_path / "passwd"
    secret.write_text(SECRET, encoding="utf-8")
    feed = tmp_path / "google.xml"
    feed.write_text(local_file_entity(secret), encoding="utf-8")
    with pytest.raises(UnsafeXml, match="DOCTYPE"):
        next(iter_elements(feed, "item"))
    assert count_xml(feed, "item") == 0  # none of our feeds: the publish gate compares nothing


def test_a_billion_laughs_file_is_refused_unread(tmp_path: Path) -> None:
    """Refused by our own prolog check, whatever libxml2's version does with amplification
    (2.14 refuses it with its own error; older ones expand within limits)."""
    feed = tmp_path / "google.xml"
    feed.write_text(billion_laughs(), encoding="utf-8")
    with pytest.raises(UnsafeXml, match="DOCTYPE"):
        next(iter_elements(feed, "item"))
    assert count_xml(feed, "item") == 0


@pytest.mark.parametrize(
    "prolog",
    [
        "\ufeff<!DOCTYPE rss>",
        "<?xml version='1.0'?>\n<!-- <rss> -->\n<?pi x?>  <!DOCTYPE rss>",
        "\n\n<!DOCTYPE rss SYSTEM 'x.dtd'>",
    ],
)
def test_a_doctype_after_a_bom_comments_or_instructions_is_refused(
    tmp_path: Path, prolog: str
) -> None:
    feed = tmp_path / "google.xml"
    feed.write_text(prolog + "<rss><channel><item/></channel></rss>", encoding="utf-8")
    with pytest.raises(UnsafeXml):
        next(iter_elements(feed, "item"))


def test_a_utf16_doctype_is_refused(tmp_path: Path) -> None:
    feed = tmp_path / "google.xml"
    feed.write_text("<!DOCTYPE rss><rss><item/></rss>", encoding="utf-16")
    with pytest.raises(UnsafeXml):
        next(iter_elements(feed, "item"))


def test_a_comment_naming_a_doctype_is_not_one(tmp_path: Path) -> None:
    feed = tmp_path / "google.xml"
    feed.write_text("<!-- <!DOCTYPE x> --><rss><item/><item/></rss>", encoding="utf-8")
    assert count_xml(feed, "item") == 2


def test_an_external_dtd_is_never_loaded(tmp_path: Path) -> None:
    """A DTD outside the file (here a local one; libxml2 no longer fetches http at all) could
    define entities the file then uses."""
    dtd = tmp_path / "evil.dtd"
    dtd.write_text(f'<!ENTITY leak "{SECRET}">', encoding="utf-8")
    feed = tmp_path / "google.xml"
    feed.write_text(
        f"<?xml version='1.0'?><!DOCTYPE rss SYSTEM \"{dtd.as_uri()}\">"
        "<rss><channel><item><title>&leak;</title></item><item/></channel></rss>",
        encoding="utf-8",
    )
    with pytest.raises(UnsafeXml):
        next(iter_elements(feed, "item"))
    assert count_xml(feed, "item") == 0


@pytest.mark.parametrize("padding", [" " * (1 << 20), "<!--" + "x" * (1 << 20) + "-->"])
def test_a_doctype_behind_a_megabyte_of_prolog_is_refused(tmp_path: Path, padding: str) -> None:
    feed = tmp_path / "google.xml"
    feed.write_text(f"<?xml version='1.0'?>{padding}<!DOCTYPE r><r><item/></r>", encoding="utf-8")
    with pytest.raises(UnsafeXml, match="prolog"):
        next(iter_elements(feed, "item"))
