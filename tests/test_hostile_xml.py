"""XML omnisync reads back (its previous feeds, for the publish gate) goes through the hardened
parser: no entity expansion, no DTD, no network — a planted file cannot leak a local file,
exhaust memory, or make omnisync call out (reliability.md → Security)."""

from __future__ import annotations

import time
from pathlib import Path

from omnisync.channels.writers import count_xml
from omnisync.xmlinput import iter_elements

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
    texts = [(e.findtext("title") or "") for e in iter_elements(feed, "item")]
    assert len(texts) == 2 and not any(SECRET in t for t in texts)
    assert count_xml(feed, "item") == 2


def test_a_billion_laughs_file_is_refused_quickly_without_expanding(tmp_path: Path) -> None:
    """Our settings alone do not decide this one: libxml2 refuses entity amplification itself.
    The test pins that behaviour of the parser we depend on (an upgrade that lost it fails)."""
    feed = tmp_path / "google.xml"
    feed.write_text(billion_laughs(), encoding="utf-8")
    began = time.monotonic()
    titles = []
    try:
        titles = [(e.findtext("title") or "") for e in iter_elements(feed, "item")]
    except Exception as exc:  # lxml refuses the amplification: a typed XML error
        assert type(exc).__name__ == "XMLSyntaxError"
    assert all(len(t) < 1000 for t in titles)  # nothing was expanded 10^9 times
    assert count_xml(feed, "item") <= 3
    assert time.monotonic() - began < 30  # a guard against a hang, not a speed claim


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
    texts = [(e.findtext("title") or "") for e in iter_elements(feed, "item")]
    assert not any(SECRET in t for t in texts)
    assert count_xml(feed, "item") == 2
