"""The channel contract: every channel is a small class behind these few methods.

A channel turns one :class:`~omnisync.models.Product` into one :class:`Record` (pure), checks the
record against the channel's rules (pure), and — when it is a file channel — writes records one
at a time to a stream. Optional capabilities are separate mixins checked with ``isinstance``;
there are no ``NotImplementedError`` stubs:

``omnisync.channels.capabilities`` holds them: ``FileFeed`` (the channel publishes files),
``Pushes`` (it keeps an API in line), ``PullsOrders`` (it lists a marketplace's orders).
Third-party channels register a :class:`Channel` subclass under the ``omnisync.channels``
entry point; its ``config_model`` is validated like the built-in ones.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from omnisync import markup
from omnisync.models import Location, Problem, Product, Severity
from omnisync.rules import Rules, RuleSet
from omnisync.text import truncate, xml_safe


class ChannelConfig(BaseModel):
    """Settings every channel has. Subclasses add their own and narrow ``type`` to a Literal."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str
    # Location codes whose stock counts toward this channel; None = every location.
    locations: list[str] | None = None
    # Publish gate: refuse to replace a feed that would lose more than this share of its items.
    max_drop: float = Field(default=0.5, ge=0, le=1)
    # Publish a feed with no items (e.g. rules filtered out everything) instead of refusing it.
    allow_empty: bool = False
    # The channel's offer code → our SKU, for order lines whose code is not our SKU.
    sku_map: dict[str, str] = {}
    rules: Rules = Rules()

    def counted_locations(self) -> list[str] | None:
        """Locations whose stock makes an item available on this channel (None = all)."""
        return self.locations


class StoreMapConfig(ChannelConfig):
    """A channel that lists stock per store: ``stores`` maps our location code to the
    channel's store id. Its stock is the mapped stores' stock, so ``locations`` is not used."""

    stores: dict[str, str] = Field(min_length=1)

    @field_validator("stores")
    @classmethod
    def _one_location_per_store(cls, stores: dict[str, str]) -> dict[str, str]:
        ids = [store.strip() for store in stores.values()]
        if not all(ids):
            raise ValueError("a store id is blank")
        repeated = sorted({s for s in ids if ids.count(s) > 1})
        if repeated:
            raise ValueError(f"store id {', '.join(repeated)} is mapped from several locations")
        return stores

    @model_validator(mode="after")
    def _no_locations(self) -> StoreMapConfig:
        if self.locations is not None:
            raise ValueError(
                "locations: this channel counts the stores it maps; list them in stores instead"
            )
        return self

    def counted_locations(self) -> list[str] | None:
        return list(self.stores)


@dataclass(frozen=True, slots=True)
class ChannelContext:
    """What a channel knows about the run beyond its config."""

    locations: Mapping[str, Location]  # code → location, from the catalogue
    now: datetime  # the run's clock, for feeds that carry a date (kept fixed in golden tests)
    state: Path | None = None  # the central store, for channels that show its orders


@dataclass(slots=True)
class Record:
    """A product as one channel sees it: ``key`` is the channel's item id, ``fields`` its values
    by attribute name (the writer decides the order), ``notes`` the warnings raised while
    mapping (e.g. a truncated title), ``file``/``line`` where the product came from."""

    key: str
    fields: dict[str, Any]
    notes: list[Problem] = field(default_factory=list)
    file: str | None = None
    line: int | None = None


class Channel(ABC):
    """Base of every channel. ``name`` is the user's key under ``channels:``."""

    config_model: ClassVar[type[ChannelConfig]]
    label: ClassVar[str] = "the channel"  # how messages name the marketplace ("Google", …)
    # What a run counts as this channel's items. True: the products it takes, each checked,
    # unique by id and counted. False: it lists something else (a pickup board: orders) and
    # reads the products only to look things up (names for its lines): they reach its writer
    # unchecked and uncounted, and its items are what its files list (FileFeed.listed).
    lists_products: ClassVar[bool] = True
    # The side data it reads besides products and stock ("city_prices", "reviews"): a run
    # reads only what its channels read (``Source.sides_read``).
    reads: ClassVar[frozenset[str]] = frozenset()

    def __init__(
        self, name: str, config: ChannelConfig, context: ChannelContext | None = None
    ) -> None:
        self.name = name
        self.config = config
        # Without a context (a channel used on its own): no known locations, the clock now.
        self.context = context or ChannelContext(locations={}, now=datetime.now().astimezone())
        self.rules = RuleSet(config.rules)
        counted = config.counted_locations()
        self.locations = frozenset(counted) if counted is not None else None

    @classmethod
    def location_keys(cls, config: ChannelConfig) -> dict[str, list[str]]:
        """Config keys (besides ``locations``) that name catalogue locations, so a typo is a
        config error with its key path: per-store channels name them in ``stores`` or
        ``warehouses`` (a mapping from our location code, or a list of codes)."""
        named = {key: getattr(config, key, None) for key in ("stores", "warehouses")}
        return {key: list(codes) for key, codes in named.items() if codes}

    def config_issues(self) -> list[tuple[str, str]]:
        """(key under this channel, message) for settings that only the catalogue can refute,
        e.g. a location code it does not have. Checked before anything is read."""
        known = self.context.locations
        listed = ", ".join(sorted(known)) or "none (set catalog.locations)"
        named = {"locations": self.config.locations or [], **self.location_keys(self.config)}
        return [
            (key, f"unknown location {code!r}; known: {listed}")
            for key, codes in named.items()
            for code in codes
            if code not in known
        ]

    def new_record(self, product: Product) -> Record:
        """An empty record for ``product``: its SKU (XML-safe) as key, its file and line."""
        return Record(key=xml_safe(product.sku), fields={}, file=product.file, line=product.line)

    def title(self, record: Record, product: Product, field: str = "title") -> str:
        """The product's title as plain text (``markup.title``), the same on every channel,
        with one ``title_markup_removed`` warning when markup or escape sequences were removed.
        ``field``: what the channel calls it (Satu's ``name``, Kaspi's ``model``)."""
        text, changed = markup.title(product.title)
        if changed:
            record.notes.append(self.problem(
                record, field, markup.TITLE_CODE, markup.TITLE_MESSAGE, Severity.WARNING
            ))  # fmt: skip
        return text

    def cut(
        self,
        record: Record,
        field: str,
        text: str,
        limit: int,
        *,
        documented: int | None = None,
        length: int | None = None,
    ) -> str:
        """``text`` within ``limit`` characters, with a ``<field>_truncated`` warning if cut.
        ``documented`` and ``length``: the channel's limit and the text's length as written, for
        the warning, when ``limit`` is only the room left before escaping (``markup.Cut``)."""
        if len(text) <= limit:
            return text
        message = (
            f"{field} has {length or len(text)} characters; {self.label} takes "
            f"{documented or limit}, so it was cut"
        )
        record.notes.append(
            self.problem(record, field, f"{field}_truncated", message, Severity.WARNING)
        )
        return truncate(text, limit)

    def orders_location(self) -> str | None:
        """Where an order without a store of its own takes its stock from: the channel's first
        counted location, else the first warehouse, else the first location."""
        counted = self.config.counted_locations()
        if counted:
            return counted[0]
        locations = list(self.context.locations.values())
        warehouses = [loc.code for loc in locations if loc.type == "warehouse"]
        candidates = warehouses or [loc.code for loc in locations]
        return candidates[0] if candidates else None

    def prepare(self, product: Product) -> Product | None:
        """The product as this channel shows it, or None when its rules leave it out."""
        if not self.rules.admits(product, self.units(product)):
            return None
        return self.rules.apply(product)

    def units(self, product: Product) -> int | None:
        """Units this channel shows: on hand over its locations, after the stock rule.
        None when the catalogue does not track stock."""
        return self.rules.units(product.on_hand(self.locations))

    def units_at(self, product: Product, location: str) -> int | None:
        """Units this channel shows at one location (per-store channels), after the stock rule.
        None when the catalogue has no per-location stock."""
        if product.stock is None:
            return None
        return self.rules.units(product.stock.get(location, 0))

    @abstractmethod
    def to_record(self, product: Product) -> Record:
        """Map a product to this channel's record. Pure: same product, same record."""

    @abstractmethod
    def validate(self, record: Record) -> list[Problem]:
        """Check a record against the channel's rules. Pure; never raises for bad data."""

    def unique_key(self, record: Record) -> str:
        """The form of the item id the channel compares for uniqueness."""
        return record.key

    def problem(
        self,
        record: Record,
        field: str,
        code: str,
        message: str,
        severity: Severity = Severity.ERROR,
    ) -> Problem:
        return Problem(
            code=code,
            message=message,
            severity=severity,
            sku=record.key,
            channel=self.name,
            field=field,
            file=record.file,
            line=record.line,
        )
