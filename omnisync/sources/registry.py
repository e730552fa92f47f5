"""Which catalogue sources exist, by the ``catalog.source`` name.

A source factory takes the validated ``catalog:`` section and returns a :class:`Source`.
Third-party sources (an ``omnisync.sources`` entry point) need per-source config models, which
arrive with the database and 1C sources; until then the registry is this explicit dict.
"""

from __future__ import annotations

from collections.abc import Callable

from omnisync.config import CatalogConfig
from omnisync.sources.base import Source
from omnisync.sources.csvfile import CsvSource

SourceFactory = Callable[[CatalogConfig], Source]


def _csv(catalog: CatalogConfig) -> Source:
    return CsvSource(
        catalog.products,
        stock=catalog.stock,
        locations=catalog.locations,
        city_prices=catalog.city_prices,
        reviews=catalog.reviews,
        delimiter=catalog.delimiter,
    )


SOURCES: dict[str, SourceFactory] = {"csv": _csv}


def make_source(catalog: CatalogConfig) -> Source:
    return SOURCES[catalog.source](catalog)
