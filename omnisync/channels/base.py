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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, ClassVar, Protocol

from pydantic import BaseModel, ConfigDict, Field

from omnisync.models import Problem, Product, Severity


class ChannelConfig(BaseModel):
    """Settings every channel has. Subclasses add their own and narrow ``type`` to a Literal."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str
    # Location codes whose stock counts toward this channel; None = every location.
    locations: list[str] | None = None
    # Publish gate: refuse to replace a feed that would lose more than this share of its items.
    max_drop: float = Field(default=0.5, ge=0, le=1)


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

    def __init__(self, name: str, config: ChannelConfig) -> None:
        self.name = name
        self.config = config
        self.locations = frozenset(config.locations) if config.locations is not None else None

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
    """Writes records one at a time; leaving the ``with`` block finishes the document."""

    def __enter__(self) -> FeedWriter: ...
    def __exit__(self, *exc: object) -> None: ...
    def write(self, record: Record) -> None: ...


class FileFeed(ABC):
    """Mixin for channels that publish a feed file."""

    @property
    @abstractmethod
    def file_name(self) -> str:
        """File name inside the output directory (built from the validated channel name)."""

    @abstractmethod
    def open_writer(self, stream: BinaryIO) -> FeedWriter:
        """A writer that streams records into ``stream``."""

    @abstractmethod
    def count_items(self, path: Path) -> int:
        """How many items an existing feed file holds (for the publish gate)."""
