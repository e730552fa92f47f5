"""Which catalogue sources exist, by the ``catalog.source`` name.

A source factory takes the validated configuration and returns a :class:`Source`.
Third-party sources (an ``omnisync.sources`` entry point) need per-source config models, which
arrive with the database and 1C sources; until then the registry is this explicit dict.
"""

from __future__ import annotations

from collections.abc import Callable

from omnisync.config import Config
from omnisync.sources.base import Source
from omnisync.sources.csvfile import CsvSource
from omnisync.sources.sqlite import StoreSource

SourceFactory = Callable[[Config], Source]


def _csv(config: Config) -> Source:
    catalog = config.catalog
    assert catalog.products is not None  # CatalogConfig requires it for csv
    return CsvSource(
        catalog.products,
        stock=catalog.stock,
        locations=catalog.locations,
        city_prices=catalog.city_prices,
        reviews=catalog.reviews,
        delimiter=catalog.delimiter,
    )


def _sqlite(config: Config) -> Source:
    return StoreSource(config.state)


SOURCES: dict[str, SourceFactory] = {"csv": _csv, "sqlite": _sqlite}


def make_source(config: Config, kind: str | None = None) -> Source:
    """The configured source, or ``kind`` (``catalog import`` reads the CSV files)."""
    return SOURCES[kind or config.catalog.source](config)
