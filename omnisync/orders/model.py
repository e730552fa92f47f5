"""One order model for every channel (channels.md §2.2, §3.2, §4.4).

Statuses are normalised so reservations and reports read the same everywhere: ``new`` (placed,
not yet accepted by us), ``accepted``, ``shipped`` (handed over / in delivery), ``delivered``
(completed), ``cancelled`` (cancelled or returned). ``RANK`` orders them so an older snapshot of
an order never overwrites a newer one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

STATUSES = ("new", "accepted", "shipped", "delivered", "cancelled")
RANK = {status: index for index, status in enumerate(STATUSES)}
OPEN = frozenset({"new", "accepted", "shipped"})  # hold stock until delivered or cancelled


@dataclass(frozen=True, slots=True)
class OrderLine:
    channel_sku: str  # the channel's offer code
    quantity: int
    unit_price: Decimal


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
