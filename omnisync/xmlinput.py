"""The one way omnisync parses XML it did not just write: hardened lxml settings.

No entity expansion, no DTD loading, no network, no huge trees (reliability.md → Security;
lxml ≥ 6.1 because of CVE-2026-41066 in earlier iterparse defaults).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from lxml import etree

HARDENED: dict[str, Any] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "huge_tree": False,
}


def iter_elements(path: Path, tag: str, schema: Any = None) -> Iterator[Any]:
    """Stream the elements named ``tag`` (validating against ``schema`` when given), freeing
    each one — and the empty shells of those before it — once it has been yielded."""
    options = {**HARDENED, **({"schema": schema} if schema is not None else {})}
    with path.open("rb") as raw:
        refuse_doctype(raw)
        for _, element in etree.iterparse(raw, events=("end",), tag=tag, **options):
            yield element
            _forget(element)


class UnsafeXml(ValueError):
    """The file declares a DOCTYPE: entities or a DTD no exchange file needs."""


# What may stand before the root element (XML 1.0 §2.8 prolog): the declaration, comments,
# processing instructions and white space. Anything else there is a DOCTYPE or not XML at all.
_PROLOG_PART = re.compile(rb"\s+|<\?.*?\?>|<!--.*?-->", re.DOTALL)
_PROLOG_LIMIT = 1 << 20  # a prolog longer than this is no exchange file's


def refuse_doctype(raw: IO[bytes]) -> None:
    """Read the prolog ourselves and refuse a DOCTYPE before libxml2 sees a byte of it, so the
    refusal and its message do not depend on the library's version (libxml2 2.14 stops a
    billion-laughs file with its own "amplification factor" error first). Leaves ``raw`` at 0."""
    head = _prolog_bytes(raw.read(_PROLOG_LIMIT))
    raw.seek(0)
    at = 0
    while match := _PROLOG_PART.match(head, at):
        at = match.end()
    if head[at : at + 9].upper() == b"<!DOCTYPE":
        raise UnsafeXml("it declares a DOCTYPE (entities or a DTD); refused unread")
    unfinished = at >= len(head) or head.startswith((b"<!--", b"<?"), at)
    if unfinished and len(head) >= _PROLOG_LIMIT:  # what follows was not looked at
        raise UnsafeXml(f"its prolog runs past {_PROLOG_LIMIT} bytes; refused unread")


def _prolog_bytes(head: bytes) -> bytes:
    """The prolog as ASCII-compatible bytes: UTF-8 and windows-1251 already are; UTF-16 and
    UTF-32 (by their byte-order mark) are decoded first."""
    for bom, codec in ((b"\xff\xfe\x00\x00", "utf-32-le"), (b"\x00\x00\xfe\xff", "utf-32-be"),
                       (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):  # fmt: skip
        if head.startswith(bom):
            text = head[len(bom) :].decode(codec, errors="ignore")
            return text.encode("ascii", errors="replace")
    return head.removeprefix(b"\xef\xbb\xbf")


def events(path: Path, tags: tuple[str, ...]) -> Iterator[tuple[str, Any]]:
    """Start and end events of the elements named ``tags`` in any namespace (1C writes some
    files with ``xmlns="urn:1C.ru:commerceml_2"``, most without). An element is cleared, with
    the empty shells of those before it, once its end event has been handled, so a file of any
    size streams in bounded memory. A DOCTYPE is refused before any element is handed out:
    the files omnisync reads as input never need one, and it is how entity attacks arrive.
    Malformed XML raises ``etree.XMLSyntaxError`` (with its line)."""
    wanted = [f"{{*}}{tag}" for tag in tags]
    with path.open("rb") as raw:  # closed when the caller stops early, too
        refuse_doctype(raw)
        for event, element in etree.iterparse(raw, events=("start", "end"), tag=wanted, **HARDENED):
            yield event, element
            if event == "end":
                _forget(element)


def _forget(element: Any) -> None:
    element.clear(keep_tail=False)
    parent = element.getparent()
    while parent is not None and element.getprevious() is not None:
        del parent[0]
