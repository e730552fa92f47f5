"""What the engine's pass asks of a channel's mapping (``engine.google``, ``engine.meta``, …):
each plain row's text in the feed, or its push items (``engine.ozon``), as columns, and the
mask of the rows plain for the channel (no problem, no warning, nothing the per-item mapping
would change)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from omnisync.channels.base import Channel
from omnisync.engine import pl
from omnisync.engine import rules as ruled
from omnisync.engine.products import Cells


class ChannelMapping(ABC):
    """A channel's mapping over a batch of the products file. ``kind``: the channel class it
    maps; ``used``: the catalogue columns it reads (each must be clean, ``products.clean``,
    for a plain row)."""

    kind: ClassVar[type[Channel]]
    used: ClassVar[tuple[str, ...]]

    @classmethod
    def takes(cls, channel: Any) -> bool:
        """Whether the engine maps ``channel``: one of ``kind``, with rules the engine applies
        (``engine.rules.takes``)."""
        return isinstance(channel, cls.kind) and ruled.takes(channel.config.rules)

    def __init__(self, channel: Any, cells: Cells) -> None:
        """``cells``: the catalogue's; ``self.cells``: as the channel shows them (its price
        and stock rules applied), what the mapping reads."""
        self.channel, self.source = channel, cells
        self.cells = ruled.shown(cells, channel.config.rules)

    def admitted(self) -> pl.Expr | None:
        """Rows the channel's filters let in; None without filters."""
        rules = self.channel.config.rules
        if rules.include is None and rules.exclude is None:
            return None
        return ruled.admitted(self.source, self.cells, rules, self.channel.locations)

    def shown_plain(self) -> pl.Expr:
        """The channel's mask on top of its rules: their prices stay above 0."""
        found = self.plain()
        return found & self.cells.plain() if isinstance(self.cells, ruled.Shown) else found

    @abstractmethod
    def plain(self) -> pl.Expr:
        """Rows the channel's per-item mapping takes with nothing to say or change."""


class Items(ChannelMapping):
    """A channel's feed items; ``rows``: the feed rows (lines, elements) each item writes."""

    rows = 1

    @abstractmethod
    def item(self) -> pl.Expr:
        """Each row's item, as the feed's writer writes it."""

    def text(self, items: pl.Series, writer: Any) -> bytes:
        """A stretch of rows' items as the UTF-8 text ``writer.write_items`` takes."""
        return items.str.join("").cast(pl.Binary).item()  # type: ignore[no-any-return]


class PushRows(ChannelMapping):
    """A pushed channel's items (``Pushes.push_items``) for the plain rows: per item a row
    gives, its stream, and its key and payload as columns, the payload in the canonical JSON
    the ledger hashes (``store.payloads.canonical``)."""

    @abstractmethod
    def items(self) -> list[tuple[str, pl.Expr, pl.Expr]]:
        """(stream, key, payload) of each item every plain row gives, in ``push_items``'
        order."""
