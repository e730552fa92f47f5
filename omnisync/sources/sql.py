"""``catalog: {source: sql}``: a database read with the user's own queries (SQLAlchemy Core;
psycopg 3 for PostgreSQL, the standard library's sqlite3 for SQLite).

Each query is a table of text cells read by the same reader as the CSV files (``tabular``):
its columns are named as in products.csv (``SELECT name AS title``), so every check and every
problem is the same, with the query's name and the row number where a CSV file has its name
and line. Rows stream from a server-side cursor (``stream_results``): a million products never
sit in memory. Side queries ordered like the products query (``ORDER BY sku`` in both) are read
alongside it; in another order they are indexed, with the same ``side_file_order`` warning.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Generator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, exc, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

from omnisync.catalogs import SqlCatalog
from omnisync.errors import ConfigError, SourceUnavailable
from omnisync.sources.base import LiveRead, ProblemSink
from omnisync.sources.csvrows import CsvTable
from omnisync.sources.tabular import Row, TableSource
from omnisync.sources.values import cell

BATCH = 1000  # rows a server-side cursor fetches at a time
SQLITE_ERROR = 1  # sqlite3's generic code: bad SQL, no such table or column


def engine_for(url: str, password: Any, base: Path) -> Engine:
    """An engine for ``url`` (a relative SQLite path is relative to the config file; plain
    ``postgresql://`` means psycopg 3), with ``password`` (a SecretStr) put in."""
    parsed = engine_url(url, base)
    if password is not None:
        parsed = parsed.set(password=password.get_secret_value())
    # No pool: each query holds its own connection while it streams, closed when it ends (a
    # run reads each query once; a pooled connection would outlive the run).
    return create_engine(parsed, poolclass=NullPool)


def engine_url(url: str, base: Path) -> URL:
    """A URL the settings checked (catalogs.database_url) as SQLAlchemy opens it."""
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    database = parsed.database
    if parsed.get_backend_name() == "sqlite" and database and database != ":memory:":
        parsed = parsed.set(database=str(base.parent / database))  # absolute stays absolute
    return parsed


class QueryTable:
    """One query's result as a table: ``name`` is the settings key it came from."""

    def __init__(self, engine: Engine, query: str, name: str, config: Path) -> None:
        self.engine, self.query, self.name, self.config = engine, query, name, config
        self.header: list[str] = []
        self.required: tuple[str, ...] = ()

    def index(self, column: str) -> int:
        return self.header.index(column) if column in self.header else -1

    def rows(
        self, on_problem: ProblemSink, only: Collection[str] | None = None
    ) -> Generator[Row, None, None]:
        connection = self._connect()
        result = None
        try:
            options = connection.execution_options(stream_results=True, yield_per=BATCH)
            result = options.execute(text(self.query))
            self.header = [str(key).strip().lower() for key in result.keys()]  # noqa: SIM118
            self._check_columns()
        except BaseException as err:
            _close(result, connection)
            raise self._error(err) if isinstance(err, exc.DBAPIError) else err from None
        return self._body(connection, result)

    def _connect(self) -> Any:
        try:
            return self.engine.connect()
        except exc.DBAPIError as err:
            raise SourceUnavailable(self.name, None, f"cannot connect: {reason(err)}") from None

    def _body(self, connection: Any, result: Any) -> Generator[Row, None, None]:
        try:
            for number, row in enumerate(result, 1):
                yield number, [cell(value) for value in row]
        except exc.DBAPIError as err:
            raise SourceUnavailable(self.name, None, f"the read broke off: {reason(err)}") from None
        finally:
            _close(result, connection)  # a redo or an error stops reading early, too

    def _check_columns(self) -> None:
        missing = [c for c in self.required if c not in self.header]
        if missing:
            message = f"the query has no column(s) {', '.join(missing)}; name them with AS"
            raise ConfigError(str(self.config), [(f"catalog.{self.name}", message)])

    def _error(self, err: exc.DBAPIError) -> Exception:
        """A query the database refuses is the configuration's; a lost server is not."""
        if unavailable(err):
            return SourceUnavailable(self.name, None, reason(err))
        return ConfigError(str(self.config), [(f"catalog.{self.name}", reason(err))])


def unavailable(err: exc.DBAPIError) -> bool:
    """The database is down, busy or unreadable — not refusing the query. SQLite reports a
    typo or a missing table as an OperationalError too, with the generic SQLITE_ERROR code."""
    code = getattr(err.orig, "sqlite_errorcode", None)
    if code is not None:
        return bool(code != SQLITE_ERROR)
    return isinstance(err, exc.OperationalError | exc.InterfaceError)


def _close(result: Any, connection: Any) -> None:
    """The server-side cursor, then its connection; a connection already lost is closed."""
    with contextlib.suppress(exc.DBAPIError):
        if result is not None:
            result.close()
    connection.close()


def reason(err: exc.DBAPIError) -> str:
    """The database's own message, first line: never the statement or its parameters."""
    return (str(err.orig).strip().splitlines() or [type(err.orig).__name__])[0]


class SqlSource(LiveRead, TableSource):
    def __init__(self, settings: SqlCatalog, config: Path, merge_sides: bool = False) -> None:
        url = engine_url(settings.url, config)
        if url.get_backend_name() == "sqlite" and not Path(url.database or "").exists():
            message = f"no database file {url.database} (a new, empty one is never made)"
            raise ConfigError(str(config), [("catalog.url", message)])
        self.engine = engine_for(settings.url, settings.password, config)
        queries = {
            "stock": settings.stock_query,
            "city_prices": settings.city_prices_query,
            "reviews": settings.reviews_query,
        }
        sides = {
            role: QueryTable(self.engine, query, f"{role}_query", config) if query else None
            for role, query in queries.items()
        }
        locations: CsvTable | QueryTable | None = None
        if settings.locations_query:
            locations = QueryTable(self.engine, settings.locations_query, "locations_query", config)
        elif settings.locations:
            locations = CsvTable(settings.locations)
        products = QueryTable(self.engine, settings.products_query, "products_query", config)
        super().__init__(products, locations=locations, merge_sides=merge_sides, **sides)
