"""Parsing cell values shared by the CSV-based readers."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation


class RowError(ValueError):
    def __init__(self, field: str, code: str, message: str) -> None:
        super().__init__(message)
        self.field, self.code = field, code


def parse_money(raw: str, field: str) -> Decimal:
    """``15990``, ``15990.00``, ``15 990,50`` → Decimal; never a float."""
    text = raw.replace(" ", "").replace("\u00a0", "")
    if "," in text and "." not in text:
        text = text.replace(",", ".")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise RowError(field, "not_a_number", f"{raw!r} is not a number") from None
    if not value.is_finite():
        raise RowError(field, "not_a_number", f"{raw!r} is not a number")
    if value < 0:
        raise RowError(field, "negative", f"{raw!r} is negative")
    return value


def parse_quantity(raw: str, field: str = "quantity") -> int:
    value = parse_money(raw, field)
    if value != value.to_integral_value():
        raise RowError(field, "not_an_integer", f"{raw!r} is not a whole number")
    return int(value)
