"""What the engine's pass asks of a channel's mapping (``engine.google``, ``engine.meta``, …):
each plain row's text in the feed as a column, and the mask of the rows plain for the channel
(no problem, no warning, nothing the per-item mapping would change)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from omnisync.channels.base import Channel
from omnisync.engine import pl
from omnisync.engine.products import Cells


class Items(ABC):
    """A channel's items over a batch of the products file. ``kind``: the channel class it
    maps; ``used``: the catalogue columns it reads (each must be clean, ``products.clean``,
    for a plain row); ``rows``: the feed rows (lines, elements) each item writes."""

    kind: ClassVar[type[Channel]]
    used: ClassVar[tuple[str, ...]]
    rows = 1

    @classmethod
    def takes(cls, channel: Any) -> bool:
        """Whether the engine maps ``channel``: one of ``kind``, with no rules (rules still
        take the per-item path)."""
        if not isinstance(channel, cls.kind):
            return False
        return not channel.config.rules.model_dump(exclude_defaults=True)

    def __init__(self, channel: Any, cells: Cells) -> None:
        self.channel, self.cells = channel, cells

    @abstractmethod
    def item(self) -> pl.Expr:
        """Each row's item, as the feed's writer writes it."""

    @abstractmethod
    def plain(self) -> pl.Expr:
        """Rows the channel's per-item mapping takes with nothing to say or change."""

    def text(self, items: pl.Series, writer: Any) -> bytes:
        """A stretch of rows' items as the UTF-8 text ``writer.write_items`` takes."""
        return items.str.join("").cast(pl.Binary).item()  # type: ignore[no-any-return]
