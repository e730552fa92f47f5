"""The channel contract: every channel is a small class behind these few methods.

A channel turns one :class:`~omnisync.models.Product` into one :class:`Record` (pure), checks the
record against the channel's rules (pure), and — when it is a file channel — writes records one
at a time to a stream. Optional capabilities are separate mixins checked with ``isinstance``;
there are no ``NotImplementedError`` stubs:

* :class:`FileFeed` — the channel publishes a feed file (Google XML/TSV, …).

Later issues add ``Pushes``, ``PullsOrders``, ``AcknowledgesOrders`` and ``ShipsOrders``.
Third-party channels register a :class:`Channel` subclass under the ``omnisync.channels``
entry point; its ``config_model`` is validated like the built-in ones.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, BinaryIO, ClassVar, Protocol

from pydantic import (
    BaseModel,
    BeforeValidator,
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
    # Time per product relative to the Google feed (from `make bench`), so that the processes
    # of a run (omnisync.parallel) get shares that take about as long.
    cost: ClassVar[float] = 1.0

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


class FeedWriter(Protocol):
    """Writes records one at a time; leaving the ``with`` block finishes every document."""

    def __enter__(self) -> FeedWriter: ...
    def __exit__(self, *exc: object) -> None: ...
    def write(self, record: Record) -> None: ...
    def counts(self) -> Mapping[str, int]:
        """Items written per output name (for the publish gate)."""
        ...


class FileFeed(ABC):
    """Mixin for channels that publish files: one feed, or several (one per store, …)."""

    def writes_files(self) -> bool:
        """Whether this configured channel writes files (an API-only setup may not)."""
        return True

    @abstractmethod
    def outputs(self) -> list[str]:
        """Paths relative to the output directory, built from validated names only."""

    @abstractmethod
    def open_writer(self, streams: Mapping[str, BinaryIO]) -> FeedWriter:
        """A writer that streams records into ``streams`` (keyed like ``outputs()``)."""

    @abstractmethod
    def count_items(self, output: str, path: Path) -> int:
        """How many items an existing file holds (for the publish gate)."""

    def listed(self, counts: Mapping[str, int]) -> int:
        """The items a channel that does not list products (``lists_products``) reports, from
        its writer's entries per output: each output's, added up."""
        return sum(counts.values())

    def verify(self, output: str, path: Path) -> str | None:
        """Why a freshly written file must not be published (e.g. fails its schema), or None."""
        return None

    def after_publish(self, paths: list[Path], budget: Any) -> None:
        """Deliver the published files further when the channel wants it (Kaspi's upload);
        raises a ChannelError when that fails. Called by ``push`` only; most files are done
        once published."""
        return


@dataclass(frozen=True, slots=True)
class PushItem:
    """One thing a channel's API receives: ``key`` is unique within ``stream`` (a SKU, or a
    SKU and a warehouse), ``payload`` exactly what is sent for it (absolute values only)."""

    stream: str
    key: str
    sku: str
    payload: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ItemResult:
    """The channel's verdict on one item of a request (HTTP 200 is not "all accepted")."""

    key: str
    ok: bool
    error: str | None = None


def parse_duration(value: object) -> timedelta:
    """``24h``, ``30m``, ``2d``, ``90s`` or a number of seconds."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float):
        return timedelta(seconds=value)
    text = str(value).strip().lower()
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if text[-1:] in units and text[:-1].replace(".", "", 1).isdigit():
        return timedelta(seconds=float(text[:-1]) * units[text[-1]])
    raise ValueError(f"{value!r} is not a duration like 24h, 30m or 2d")


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


class PushSettings(BaseModel):
    """What every API channel takes besides its endpoint and credentials."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Re-send what was acknowledged longer ago than this: marketplaces drift, and a lost push
    # must not stay lost.
    reassert_after: Duration = timedelta(hours=24)


class Pushes(ABC):
    """Mixin for channels with an API that takes absolute stock/price/product values.

    ``push_items`` maps a prepared, valid product to what the API receives; the pipeline keeps
    a ledger of acknowledged hashes and sends only what changed (plus periodic re-assertion
    and removals). ``send`` turns one batch into one request and parses per-item results.
    """

    @property
    @abstractmethod
    def account(self) -> str:
        """The marketplace account these pushes go to (ledger key, rate-limit key)."""

    def can_push(self) -> bool:
        """Whether this configured channel has API settings (a file channel may not)."""
        return True

    @abstractmethod
    def push_settings(self) -> PushSettings:
        """Ledger settings of this channel."""

    @abstractmethod
    def batch_sizes(self) -> Mapping[str, int]:
        """Items per request for each stream (the channel's documented maximum)."""

    @abstractmethod
    def push_items(self, product: Product, record: Record | None = None) -> list[PushItem]:
        """What the API should hold for this product. Pure. ``record``: this channel's record
        of the product when the caller already mapped it (a run has just checked it)."""

    def held_items(self, product: Product, record: Record | None = None) -> list[tuple[str, str]]:
        """(stream, key) of this valid product's items to leave as the channel has them this
        run: neither sent nor counted as gone (Ozon: a price its account cannot take, while
        the stock goes). Pure. Most channels hold none."""
        return []

    @abstractmethod
    def removal(self, stream: str, key: str, sku: str) -> PushItem | None:
        """What to send for an item that left the catalogue or the channel's filter (zero
        stock, a delete), or None when nothing needs to be sent."""

    @abstractmethod
    def open_api(self, budget: Any) -> Any:
        """An ``omnisync.http.Api`` for this account (auth headers, rate limiter)."""

    @abstractmethod
    def send(self, api: Any, stream: str, batch: list[PushItem]) -> list[ItemResult]:
        """One request for ``batch``; a result for every item (missing ones count as failed)."""


class PullsOrders(ABC):
    """Mixin for channels whose API lists orders. ``pull_orders`` yields pages of normalised
    orders created or changed in [since, until]; the pipeline stores each page and moves the
    cursor in one transaction."""

    @abstractmethod
    def pull_orders(self, api: Any, since: datetime, until: datetime) -> Iterator[list[Any]]:
        """Pages of ``omnisync.orders.model.Order``."""

    @abstractmethod
    def orders_api(self, budget: Any) -> Any:
        """An ``omnisync.http.Api`` for the orders endpoints."""

    def can_pull(self) -> bool:
        return True
