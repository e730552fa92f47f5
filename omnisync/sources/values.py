"""Parsing cell values shared by the CSV-based readers."""

from __future__ import annotations

import re
from decimal import Decimal

# Plain decimal notation only: "15990", "15990.00", "15 990,50". No exponents: "1e30" is a typo
# or an overflow, and int(Decimal("1e999999999")) would never finish.
_NUMBER = re.compile(r"-?\d{1,15}(?:[.,]\d{1,6})?")


class RowError(ValueError):
    def __init__(self, field: str, code: str, message: str) -> None:
        super().__init__(message)
        self.field, self.code = field, code


def _decimal(raw: str, field: str, expected: str) -> Decimal:
    text = raw.replace(" ", "").replace("\u00a0", "")
    if not _NUMBER.fullmatch(text):
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
