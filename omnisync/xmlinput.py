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
        element.clear(keep_tail=False)
        parent = element.getparent()
        while parent is not None and element.getprevious() is not None:
            del parent[0]
