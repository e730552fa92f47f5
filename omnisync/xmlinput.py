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


def iter_elements(path: Path, tag: str) -> Iterator[Any]:
    """Stream the elements named ``tag``, freeing each one after it is yielded."""
    for _, element in etree.iterparse(str(path), events=("end",), tag=tag, **HARDENED):
        yield element
        element.clear(keep_tail=False)
