"""Text clean-up shared by every writer: XML-safe characters, one-line cells, truncation."""

from __future__ import annotations

import re
from decimal import Decimal

# XML 1.0 Char production (https://www.w3.org/TR/xml/#charsets): everything else — C0 controls
# other than tab/LF/CR, lone surrogates, U+FFFE/U+FFFF — makes the document unparseable.
_XML_FORBIDDEN = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_LINE_BREAKS = re.compile(r"[\t\r\n]+")


def xml_allowed(text: str) -> bool:
    """Whether XML 1.0 can hold ``text`` as it is."""
    # Every character XML forbids (C0 controls, surrogates, U+FFFE/U+FFFF) is unprintable to
    # Python, so printable text needs no regex: twice as fast on Cyrillic descriptions.
    return text.isprintable() or not _XML_FORBIDDEN.search(text)


def xml_safe(text: str) -> str:
    """Remove the characters XML 1.0 forbids; leave everything else exactly as it was."""
    if text.isprintable():
        return text  # fast path (see xml_allowed): the common case needs no regex
    return _XML_FORBIDDEN.sub("", text)


def one_line(text: str) -> str:
    """A delimited-text cell: tabs and line breaks become single spaces."""
    return _LINE_BREAKS.sub(" ", text)


def truncate(text: str, limit: int) -> str:
    """At most ``limit`` characters, cut at the last space when one is near the end."""
    if len(text) <= limit:
        return text
    if text[limit].isspace():
        return text[:limit].rstrip()  # the cut already falls between two words
    cut = text[:limit]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit * 0.8 else cut).rstrip()


CENT = Decimal("0.01")


def money(amount: Decimal | None, currency: str) -> str:
    """``15990`` → ``15990.00 KZT``, the price format of Google and Meta feeds; empty for None."""
    return "" if amount is None else f"{amount.quantize(CENT)} {currency}"


def amount(value: Decimal) -> str:
    """``14990.00`` → ``14990``, ``15990.50`` → ``15990.5``: a number as a feed's plain number,
    the same whichever way the source wrote it (a CSV cell, a NUMERIC(12,2) column)."""
    return format(value.normalize(), "f")
