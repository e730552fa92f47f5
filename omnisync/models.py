"""Domain values shared by sources, channels and the pipeline.

They are frozen, slotted dataclasses rather than pydantic models: a million products pass
through here per run, and validation happens once, in the source that builds them.
Money is always :class:`~decimal.Decimal`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType

EMPTY: Mapping[str, str] = MappingProxyType({})


class Severity(StrEnum):
    ERROR = "error"  # the item is left out of the feed
    WARNING = "warning"  # the item is kept (perhaps adjusted, e.g. a truncated title)


@dataclass(frozen=True, slots=True)
class Problem:
    """One reported finding. ``channel`` is None for catalogue-level problems."""

    code: str
    message: str
    severity: Severity = Severity.ERROR
    sku: str | None = None
    channel: str | None = None
    field: str | None = None
    file: str | None = None
    line: int | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "sku": self.sku,
            "channel": self.channel,
            "field": self.field,
            "code": self.code,
            "severity": str(self.severity),
            "message": self.message,
            "file": self.file,
            "line": self.line,
        }


@dataclass(frozen=True, slots=True)
class Location:
    code: str
    name: str
    type: str  # "warehouse" or "store"
    city: str = ""
    address: str = ""
    pickup: bool = False


@dataclass(frozen=True, slots=True)
class Product:
    """One sellable item (a variant is its own product sharing ``item_group_id``).

    ``quantity`` is the on-hand total when the catalogue has no per-location stock; ``stock``
    maps location code to on-hand quantity when it does. Both None means stock is not tracked.
    """

    sku: str
    title: str
    price: Decimal
    url: str
    image_url: str
    description: str = ""
    brand: str = ""
    gtin: str = ""
    mpn: str = ""
    sale_price: Decimal | None = None
    currency: str = ""
    additional_image_urls: tuple[str, ...] = ()
    category: tuple[str, ...] = ()
    google_category: str = ""
    condition: str = ""
    item_group_id: str = ""
    color: str = ""
    size: str = ""
    quantity: int | None = None
    stock: Mapping[str, int] | None = None
    city_prices: Mapping[str, Decimal] | None = None  # city id → price (Kaspi)
    rating: Decimal | None = None  # average review rating, 0 to 5
    review_count: int | None = None
    availability: str = ""
    availability_date: str = ""
    attributes: Mapping[str, str] = field(default_factory=lambda: EMPTY)
    file: str | None = None  # where the product came from, for reports
    line: int | None = None

    @property
    def on_sale(self) -> bool:
        """A sale price that is a real discount: above 0 and below the regular price."""
        return self.sale_price is not None and 0 < self.sale_price < self.price

    @property
    def selling_price(self) -> Decimal:
        """What the customer pays now: the sale price when on sale, else the regular price.
        Every channel that shows one price shows this one."""
        return self.sale_price if self.on_sale and self.sale_price is not None else self.price

    def on_hand(self, locations: frozenset[str] | None = None) -> int | None:
        """Units on hand over ``locations`` (all when None); None when stock is not tracked."""
        if self.stock is None:
            return self.quantity
        if locations is None:
            return sum(self.stock.values())
        return sum(q for code, q in self.stock.items() if code in locations)
