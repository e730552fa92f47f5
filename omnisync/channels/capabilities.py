"""The optional capabilities a channel implements, as mixins the run finds with ``isinstance``
(design.md → Contracts): :class:`FileFeed` (it publishes files, written by a
:class:`FeedWriter`), :class:`Pushes` (it keeps an API's items in line with the catalogue:
desired items, one request a batch, a verdict per item) and :class:`PullsOrders` (it lists a
marketplace's orders). A channel without a capability does not inherit it: no stubs.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, BinaryIO, Protocol

from pydantic import BaseModel, BeforeValidator, ConfigDict

from omnisync.channels.base import Record
from omnisync.models import Product


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
