"""What the engine's pass asks of a channel's mapping (``engine.google``, ``engine.meta``, …):
each plain row's text in the feed as a column, and the mask of the rows plain for the channel
(no problem, no warning, nothing the per-item mapping would change)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from omnisync.engine import pl
from omnisync.engine.products import Cells


class Items(ABC):
    """A channel's items over a batch of the products file. ``rows``: the feed rows (lines,
    elements) each item writes."""

    rows = 1

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
