"""Which catalogue sources exist, by the ``catalog.source`` name.

A source factory takes the validated configuration and returns a :class:`Source`.
Each source has its own settings model in ``omnisync.catalogs``, chosen by ``source``.
"""

from __future__ import annotations

from collections.abc import Callable

from omnisync.catalogs import CatalogConfig, CommerceMLCatalog, HttpCatalog, SqlCatalog
from omnisync.config import Config
from omnisync.sources.base import Source
from omnisync.sources.commerceml import CommerceMLSource
from omnisync.sources.csvfile import CsvSource
from omnisync.sources.http import HttpSource
from omnisync.sources.sql import SqlSource
from omnisync.sources.sqlite import StoreSource

SourceFactory = Callable[[Config], Source]


def _csv(config: Config) -> Source:
    catalog = config.catalog
    assert isinstance(catalog, CatalogConfig) and catalog.products is not None  # required
    return CsvSource(
        catalog.products,
        stock=catalog.stock,
        locations=catalog.locations,
        city_prices=catalog.city_prices,
        reviews=catalog.reviews,
        delimiter=catalog.delimiter,
        delimiters=catalog.delimiters,
        encoding=catalog.encoding,
    )


def _sqlite(config: Config) -> Source:
    return StoreSource(config.state)


def _commerceml(config: Config) -> Source:
    assert isinstance(config.catalog, CommerceMLCatalog)
    return CommerceMLSource(config.catalog, config.path)


def _sql(config: Config) -> Source:
    assert isinstance(config.catalog, SqlCatalog)
    return SqlSource(config.catalog, config.path)


def _http(config: Config) -> Source:
    assert isinstance(config.catalog, HttpCatalog)
    return HttpSource(config.catalog, config.path)


SOURCES: dict[str, SourceFactory] = {
    "csv": _csv, "sqlite": _sqlite, "commerceml": _commerceml, "sql": _sql, "http": _http,
}  # fmt: skip


def make_source(config: Config, kind: str | None = None) -> Source:
    """The configured source, or ``kind`` (``catalog import`` reads the CSV files)."""
    return SOURCES[kind or config.catalog.source](config)
