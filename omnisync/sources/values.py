"""Parsing cell values shared by the CSV-based readers."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import ROUND_DOWN, Decimal
from typing import Any

from omnisync.checks import CREDENTIALS, url_credentials

# Plain decimal notation only: "15990", "15990.00", "15 990,50". No exponents: "1e30" is a typo
# or an overflow, and int(Decimal("1e999999999")) would never finish. Digits 0-9 only: \d and
# Decimal take any script's digits ("１２３", "١٢٣"), which a feed would publish as they are.
_NUMBER = re.compile(r"-?[0-9]{1,15}(?:[.,][0-9]{1,6})?")
_CENT = Decimal("0.01")
_SEPARATOR = {".": "dot", ",": "comma"}


# What a feed cannot keep in an id: delimited writers turn tabs and line breaks into spaces
# (text.one_line), XML drops other C0 controls and lone surrogates (text.xml_safe); C1 controls
# go with them, as no shop means one. "A<TAB>B" would be published as the twin of "A B".
_CLEANED_AWAY = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


class RowError(ValueError):
    def __init__(self, field: str, code: str, message: str) -> None:
        super().__init__(message)
        self.field, self.code = field, code


def check_id(value: str, field: str) -> None:
    """Refuse an id (a SKU, an item group) holding a character feeds clean away."""
    if value.isprintable():
        return  # the common case: every refused character is unprintable
    found = _CLEANED_AWAY.search(value)
    if found is not None:
        raise RowError(
            field,
            "control_character",
            f"has {_named(found.group())} in it; feeds write it as a space or leave it out, "
            "which would make this id another's twin: remove it",
        )


def check_urls(url: str, image_url: str, additional: tuple[str, ...]) -> None:
    """Refuse a product URL with a user name or password in it: every feed would publish it.
    The message never shows the URL."""
    for field, value in (("url", url), ("image_url", image_url)):
        if url_credentials(value):
            raise RowError(field, "url_credentials", CREDENTIALS)
    if any(url_credentials(value) for value in additional):
        raise RowError("additional_image_urls", "url_credentials", f"one {CREDENTIALS}")


def _named(char: str) -> str:
    if char == "\t":
        return "a tab"
    if char in "\r\n":
        return "a line break"
    return f"the control character U+{ord(char):04X}"


def shown(value: str) -> str:
    """``value`` with the characters ``check_id`` refuses escaped (``A\\tB``): a problem shows
    it on one line, and a terminal never acts on it."""
    if value.isprintable():
        return value
    return _CLEANED_AWAY.sub(lambda m: repr(m.group())[1:-1], value)


def _decimal(raw: str, field: str, expected: str) -> Decimal:
    # Spaces between thousands: a plain one, a no-break one (U+00A0) or the narrow no-break
    # one (U+202F) Excel writes in French and some other locales.
    text = raw.replace(" ", "").replace("\u00a0", "").replace("\u202f", "")
    if not _NUMBER.fullmatch(text):
        if any(char.isdigit() and not char.isascii() for char in text):
            message = f"{raw!r} has non-ASCII digits; write it with the digits 0-9"
            raise RowError(field, "non_ascii_digits", message)
        raise RowError(field, "not_a_number", f"{raw!r} is not {expected}")
    return Decimal(text.replace(",", "."))


def parse_money(raw: str, field: str) -> Decimal:
    """``15990``, ``15990.00``, ``15 990,50`` → Decimal; never a float."""
    if raw.isdigit() and raw.isascii() and len(raw) <= 15:
        return Decimal(raw)  # the common case, without the regex
    value = _decimal(raw, field, "a number like 15990 or 15990.50")
    if value < 0:
        raise RowError(field, "negative", f"{raw!r} is negative")
    return value


def parse_price(raw: str, field: str) -> Decimal:
    """A price: ``parse_money`` with at most 2 decimals. "1.500" is how much of the world
    writes one thousand five hundred, and "15.995" is no amount a channel can charge: each
    channel rounded or refused it its own way (Google refused, Meta 16.00, Satu 15.995), so
    every source refuses it here, once. 4 or more decimals that are zeros past the second
    ("15990.0000", an ERP's money column) cannot be a thousands group and stay a price."""
    value = parse_money(raw, field)
    text = "".join(raw.split())  # parse_money took it, so only digits, a sign and a separator
    point = max(text.rfind("."), text.rfind(","))
    if point < 0:
        return value
    decimals = len(text) - 1 - point
    if decimals == 3 or value != value.quantize(_CENT, rounding=ROUND_DOWN):
        separator, whole = _SEPARATOR[text[point]], text[:point] + text[point + 1 :]
        message = (
            f"{text} has {decimals} decimals; a price has at most 2 — if the {separator} "
            f"separates thousands, write {whole}"
        )
        raise RowError(field, "price_decimals", message)
    return value


def parse_on_hand(raw: str, field: str = "quantity") -> tuple[int, bool]:
    """Units on hand and whether the cell was negative.

    ERPs do report negative on-hand after an oversell; a channel can only show zero, so a
    negative count becomes 0 and the caller warns.
    """
    if raw.isdigit() and raw.isascii() and len(raw) <= 15:
        return int(raw), False  # the common case, without the regex
    value = _decimal(raw, field, "a whole number")
    if value != value.to_integral_value():
        raise RowError(field, "not_an_integer", f"{raw!r} is not a whole number")
    return max(int(value), 0), value < 0


def cell(value: Any, separator: str = ", ") -> str:
    """A database's or a JSON API's value as the text a CSV cell would hold (then read by the
    same checks): None empty, numbers never in exponent form, dates ISO 8601, a list joined."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        # An exponent beyond any price stays as written, so the cell is refused as a number
        # instead of becoming a million zeros.
        # Trailing zeros go: a NUMERIC(18,8) column writes 15990.50000000, more decimals than
        # a price cell takes.
        return format(value.normalize(), "f") if abs(value.adjusted()) <= 30 else str(value)
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes | memoryview):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, list):
        parts = (cell(v) if not isinstance(v, list) else _json(v) for v in value)
        return separator.join(part for part in parts if part)
    return _json(value)  # an object: shown as it is, so a wrong path is visible in the problem


def _json(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (ValueError, RecursionError):
        return "(nested too deeply to show)"
