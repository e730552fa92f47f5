"""The one way omnisync parses XML it did not just write: hardened lxml settings.

No entity expansion, no DTD loading, no network, no huge trees (reliability.md → Security;
lxml ≥ 6.1 because of CVE-2026-41066 in earlier iterparse defaults).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

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
    for _, element in etree.iterparse(str(path), events=("end",), tag=tag, **options):
        yield element
        _forget(element)


class UnsafeXml(ValueError):
    """The file declares a DOCTYPE: entities or a DTD no exchange file needs."""


def events(path: Path, tags: tuple[str, ...]) -> Iterator[tuple[str, Any]]:
    """Start and end events of the elements named ``tags`` in any namespace (1C writes some
    files with ``xmlns="urn:1C.ru:commerceml_2"``, most without). An element is cleared, with
    the empty shells of those before it, once its end event has been handled, so a file of any
    size streams in bounded memory. A DOCTYPE is refused before any element is handed out:
    the files omnisync reads as input never need one, and it is how entity attacks arrive.
    Malformed XML raises ``etree.XMLSyntaxError`` (with its line)."""
    wanted = [f"{{*}}{tag}" for tag in tags]
    checked = False
    with path.open("rb") as raw:  # closed when the caller stops early, too
        for event, element in etree.iterparse(raw, events=("start", "end"), tag=wanted, **HARDENED):
            if not checked:
                if element.getroottree().docinfo.doctype:
                    raise UnsafeXml("it declares a DOCTYPE (entities or a DTD); refused unread")
                checked = True
            yield event, element
            if event == "end":
                _forget(element)


def _forget(element: Any) -> None:
    element.clear(keep_tail=False)
    parent = element.getparent()
    while parent is not None and element.getprevious() is not None:
        del parent[0]
