"""One order model for every channel (channels.md §2.2, §3.2, §4.4).

Statuses are normalised so reservations and reports read the same everywhere: ``new`` (placed,
not yet accepted by us), ``accepted``, ``shipped`` (handed over / in delivery), ``delivered``
(completed), ``cancelled`` (cancelled or returned). ``RANK`` orders them so an older snapshot of
an order never overwrites a newer one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

STATUSES = ("new", "accepted", "shipped", "delivered", "cancelled")
RANK = {status: index for index, status in enumerate(STATUSES)}
OPEN = frozenset({"new", "accepted", "shipped"})  # hold stock until delivered or cancelled


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


def parse_each(channel: Any, raws: Iterable[Any], parse: Parse) -> list[Order | Unreadable]:
    """Every listed order parsed; one that is malformed becomes ``Unreadable``."""
    found: list[Order | Unreadable] = []
    for raw in raws:
        try:
            found.append(parse(channel, raw))
        except PARSE_ERRORS as exc:
            ref = (
                str(raw.get("id") or raw.get("posting_number"))
                if isinstance(raw, dict)
                else repr(raw)[:40]
            )
            found.append(Unreadable(ref, f"{type(exc).__name__}: {exc}"))
    return found


def moment(value: Any) -> datetime:
    """A channel's date (ISO 8601, or ms epoch); a missing or bad one is an error, never
    "now" (which would make the order look changed on every pull)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, UTC)
    if not isinstance(value, str) or not value:
        raise ValueError(f"no date ({value!r})")
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def money(value: Any) -> Decimal:
    """A channel's price field as Decimal; 0 when absent or unreadable (the order still
    imports: a missing price must not lose the order)."""
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return Decimal(0)
