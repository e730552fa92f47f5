"""One order model for every channel (channels.md §2.2, §3.2, §4.4).

Statuses are normalised so reservations and reports read the same everywhere: ``new`` (placed,
not yet accepted by us), ``accepted``, ``shipped`` (handed over / in delivery), ``delivered``
(completed), ``cancelled`` (cancelled or returned). ``RANK`` orders them so an older snapshot of
an order never overwrites a newer one.
"""

from __future__ import annotations

import reprlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

STATUSES = ("new", "accepted", "shipped", "delivered", "cancelled")
RANK = {status: index for index, status in enumerate(STATUSES)}
OPEN = frozenset({"new", "accepted", "shipped"})  # hold stock until delivered or cancelled
OPEN_SQL = "(" + ", ".join(f"'{status}'" for status in sorted(OPEN)) + ")"  # for `status IN`


@dataclass(frozen=True, slots=True)
class OrderLine:
    channel_sku: str  # the channel's offer code
    quantity: int
    unit_price: Decimal
    channel_item: str = ""  # the channel's own item id where it needs one (Ozon product id)


@dataclass(frozen=True, slots=True)
class Order:
    channel: str
    account: str
    external_id: str
    code: str
    status: str  # one of STATUSES
    channel_status: str
    created_at: datetime
    updated_at: datetime
    lines: tuple[OrderLine, ...]
    delivery_mode: str = ""
    location: str | None = None  # our location code the stock comes from
    pickup: bool = False  # the buyer collects it in ``location``
    customer: Mapping[str, str] = field(default_factory=dict)
    total: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class Unreadable:
    """An order the channel listed that could not be read (reported; the rest goes on)."""

    ref: str
    reason: str


Parse = Callable[[Any, Any], Order]
PARSE_ERRORS = (ValueError, TypeError, KeyError, AttributeError, ArithmeticError)
WHOLE_MAX = 2**63 - 1  # what the store's INTEGER columns hold


def parse_each(channel: Any, raws: Iterable[Any], parse: Parse) -> list[Order | Unreadable]:
    """Every listed order parsed; one that is malformed becomes ``Unreadable``."""
    found: list[Order | Unreadable] = []
    for raw in raws:
        try:
            found.append(parse(channel, raw))
        except PARSE_ERRORS as exc:
            found.append(Unreadable(_ref(raw), f"{type(exc).__name__}: {exc}"))
    return found


def _ref(raw: Any) -> str:
    """How the report names an unreadable order. reprlib: the value is a hostile answer's, and
    a plain repr of a huge or deeply nested one floods the report or overflows the stack."""
    if isinstance(raw, dict):
        ref = raw.get("id") or raw.get("posting_number")
        return ref if isinstance(ref, str) else reprlib.repr(ref)
    return reprlib.repr(raw)[:40]


def moment(value: Any) -> datetime:
    """A channel's date (ISO 8601, or ms epoch); a missing or bad one is an error, never
    "now" (which would make the order look changed on every pull)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value / 1000, UTC)
        except (OverflowError, OSError):  # OSError: past what the platform's time_t holds
            raise ValueError(f"date out of range ({value!r})") from None
    if not isinstance(value, str) or not value:
        raise ValueError(f"no date ({reprlib.repr(value)})")
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def amount(value: Any) -> Decimal:
    """A channel's number as a finite Decimal; anything else (a list, "NaN", 1e400 which JSON
    reads as infinity) is an error."""
    try:
        found = Decimal(str(value)) if isinstance(value, str | int | float) else None
    except InvalidOperation:
        found = None
    if found is None or not found.is_finite() or isinstance(value, bool):
        raise ValueError(f"not a number ({reprlib.repr(value)})")
    return found


def money(value: Any) -> Decimal:
    """A channel's price field as Decimal; 0 when absent or unreadable (the order still
    imports: a missing price must not lose the order)."""
    try:
        return amount(value)
    except ValueError:
        return Decimal(0)


def count(value: Any) -> int:
    """A whole number of at least 0 (a quantity, a numeric id) from a JSON number or digits.
    A fraction, a bool or a negative is an error: a negative quantity would free stock."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= WHOLE_MAX:
        raise ValueError(f"not a whole number ({reprlib.repr(value)})")
    return value


def ident(value: Any) -> str:
    """An order's id on its channel: a non-empty string or a number. A missing one is an
    error: stored as "None", every such order would collapse into one."""
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        raise ValueError(f"no id ({reprlib.repr(value)})")
    return str(value)
