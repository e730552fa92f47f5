"""``catalog: {source: http}``: the catalogue read from a paginated JSON API (an ERP's, a PIM's).

Each item of the API becomes a row of text cells under the keys of ``fields`` (each cell the
value at its dotted path), read by the same reader as the CSV files (``tabular``): the same
checks, the same problems, with "products API" and the item's position in the whole stream
where a CSV file has its name and line. Per-item stock lists become the rows of a stock side
table, ``sku,location,quantity`` as in stock.csv.

Both tables are read from the same pages: whichever needs the next item fetches the next page,
and each keeps its own buffer of what it has not read yet. The stock index reads a bounded
window ahead of the products (``sidefiles.WINDOW``), so both buffers stay bounded. Every
request goes through ``omnisync.http`` (retries, Retry-After, rate limit, body cap, deadline).
"""

from __future__ import annotations

import itertools
import json
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import parse_qsl, urlsplit

from pydantic import SecretStr

from omnisync import stopping
from omnisync.catalogs import HttpCatalog, StockItems
from omnisync.errors import (
    ChannelError,
    ChannelRejected,
    ConfigError,
    Deferred,
    OmnisyncError,
    SourceError,
    SourceUnavailable,
)
from omnisync.http import Api, Budget, Sleep, limiter_for
from omnisync.keyset import KeySet
from omnisync.models import Problem, Product
from omnisync.secrets import redact
from omnisync.sources.base import LiveRead, ProblemSink
from omnisync.sources.csvrows import CsvTable
from omnisync.sources.tabular import Row, TableSource
from omnisync.sources.values import cell

NAME = "products API"  # what problems name as their file: "products API:17" is the 17th item
STOCK_NAME = "stock in products API"
STOPPED = "while reading the catalogue API"
SEPARATORS = {"additional_image_urls": "|", "category": " > "}  # as the CSV cells write them
Entry = Row | Problem  # a table's next row, or a problem to report in its place
Convert = Callable[[int, Any], list[Entry]]
Params = list[tuple[str, str | int]]


def lookup(value: Any, path: tuple[str, ...]) -> Any:
    """The value at a dotted path (``images.0`` is index 0 of a list); None when absent."""
    for key in path:
        if isinstance(value, dict):
            value = value.get(key)
        elif isinstance(value, list) and key.isdigit() and key.isascii():
            value = value[int(key)] if int(key) < len(value) else None
        else:
            return None
    return value


def _path(dotted: str) -> tuple[str, ...]:
    return tuple(dotted.split(".")) if dotted else ()


def _kind(value: Any) -> str:
    kinds = {dict: "an object", list: "a list", str: "a string", bool: "true or false"}
    return "null" if value is None else kinds.get(type(value), "a number")


class PageReader:
    """The API's pages of items, in order; ``share`` makes the next read of two tables one."""

    def __init__(self, settings: HttpCatalog, config: Path, sleep: Sleep | None) -> None:
        self.settings, self.config, self.sleep = settings, config, sleep or stopping.pause
        url = urlsplit(settings.url)
        self.base, self.path = f"{url.scheme}://{url.netloc}", url.path or "/"
        self.query = parse_qsl(url.query, keep_blank_values=True)  # kept: params would drop it
        if url.password is not None:
            message = "write credentials in headers as env:NAME, never in the URL"
            raise ConfigError(str(config), [("catalog.url", message)])
        self.host = url.hostname or ""
        self._shared: _Feed | None = None

    def share(self, tables: Iterable[_FeedTable]) -> None:
        """The next ``open`` of each of ``tables`` reads the same pages."""
        self._shared = _Feed(self._pages(), tables)

    def open(self, table: _FeedTable) -> _Feed:
        feed = self._shared
        if feed is None or table not in feed.unclaimed:
            return _Feed(self._pages(), [table])  # a table read on its own (skus())
        feed.unclaimed.discard(table)
        if not feed.unclaimed:
            self._shared = None
        return feed

    def _pages(self) -> Iterator[list[Any]]:
        headers = {
            name: value.get_secret_value() if isinstance(value, SecretStr) else value
            for name, value in self.settings.headers.items()
        }
        limiter = limiter_for("http-source", self.host, self.settings.requests_per_minute)
        api = Api(NAME, self.base, headers, limiter=limiter, sleep=self.sleep)
        try:
            if self.settings.pagination.style == "cursor":
                yield from self._by_cursor(api)
            else:
                yield from self._numbered(api)
        finally:
            api.close()

    def _numbered(self, api: Api) -> Iterator[list[Any]]:
        """``page`` and ``offset``: until a page shorter than page_size (an empty one too)."""
        p, previous = self.settings.pagination, None
        for number in itertools.count(1):
            if p.style == "page":
                params: Params = [(p.page_param, p.first_page + number - 1)]
            else:
                params = [(p.offset_param, (number - 1) * p.page_size)]
            answer = self._answer(api, [*params, (p.size_param, p.page_size)], number)
            items = self._items(answer, number)
            if items and items == previous:  # the API ignores the parameter: it would never end
                message = f"page {number} is page {number - 1} again; check catalog.pagination"
                raise SourceError(NAME, None, message)
            yield items
            if len(items) < p.page_size:
                return
            previous = items

    def _by_cursor(self, api: Api) -> Iterator[list[Any]]:
        """``cursor``: until the answer has no next cursor; a cursor given twice is an error."""
        p, cursor, seen = self.settings.pagination, "", set[str]()
        for number in itertools.count(1):
            answer = self._answer(api, [(p.cursor_param, cursor)] if cursor else [], number)
            cursor = cell(lookup(answer, _path(p.next_cursor)))
            yield self._items(answer, number)
            if not cursor:
                return
            if cursor in seen:
                message = f"page {number}: the API gave cursor {cursor[:40]!r} again; reading on "
                raise SourceError(NAME, None, message + "would loop forever")
            seen.add(cursor)

    def _answer(self, api: Api, params: Params, number: int) -> Any:
        # A stop asked for between pages ends the read now: ``catalog import`` and ``skus()``
        # have no per-product check of their own.
        stopping.check(STOPPED)
        api.budget = Budget()  # the wait budget is per page: a long catalogue is not a late one
        try:
            response = api.request("GET", self.path, params=[*self.query, *params])
        except ChannelError as err:
            raise self._failed(err, number) from None
        try:  # Decimal: a price is never a float; NaN and Infinity are not JSON
            return json.loads(response.content, parse_float=Decimal, parse_constant=_no_constant)
        except (ValueError, RecursionError):
            raise SourceUnavailable(NAME, None, f"page {number}: the answer is not JSON") from None

    def _items(self, answer: Any, number: int) -> list[Any]:
        items = lookup(answer, _path(self.settings.items))
        if isinstance(items, list):
            return items
        where = f"{self.settings.items!r}" if self.settings.items else "the answer"
        keys = ""
        if isinstance(answer, dict):
            keys = f" (its keys: {', '.join(key[:40] for key in list(answer)[:10])})"
        message = f"page {number}: {where} is {_kind(items)}, not a list of items{keys}"
        raise SourceError(NAME, None, f"{message}; check catalog.items")

    def _failed(self, err: ChannelError, number: int) -> OmnisyncError:
        """Wrong credentials or URL are the configuration's (exit 2); the rest is an API that
        is down (exit 3). The message is the API's answer, never a header value."""
        detail = redact(f"page {number}: {str(err.args[0]).removeprefix(f'{NAME}: ')}")
        if isinstance(err, ChannelRejected):
            key = "catalog.headers" if err.status in (401, 403, None) else "catalog.url"
            return ConfigError(str(self.config), [(key, f"the API refused the request ({detail})")])
        if isinstance(err, Deferred):
            stopping.check(STOPPED)
        return SourceUnavailable(NAME, None, detail)


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON value")


class _Feed:
    """One read of the pages shared by tables: each table has its own buffer of entries."""

    def __init__(self, pages: Iterator[list[Any]], tables: Iterable[_FeedTable]) -> None:
        self.pages, self.line = pages, 0
        self.converts = {table: table.converter() for table in tables}
        self.buffers: dict[_FeedTable, deque[Entry]] = {table: deque() for table in self.converts}
        self.unclaimed = set(self.converts)

    def next(self, table: _FeedTable) -> Entry | None:
        """The table's next entry, fetching pages as needed; None at the end."""
        buffer = self.buffers[table]
        while not buffer:
            page = next(self.pages, None)
            if page is None:
                return None
            for item in page:
                self.line += 1
                for each, convert in self.converts.items():
                    self.buffers[each].extend(convert(self.line, item))
        return buffer.popleft()


class _FeedTable:
    """A table whose rows are made from the API's items (``tabular.Table``)."""

    def __init__(self, reader: PageReader, name: str, header: list[str]) -> None:
        self.reader, self.name, self.header = reader, name, header
        self.required: tuple[str, ...] = ()

    def index(self, column: str) -> int:
        return self.header.index(column) if column in self.header else -1

    def rows(self, on_problem: ProblemSink) -> Generator[Row, None, None]:
        # The header is the settings' (HttpCatalog requires every column TableSource does).
        return self._body(self.reader.open(self), on_problem)

    def _body(self, feed: _Feed, on_problem: ProblemSink) -> Generator[Row, None, None]:
        while (entry := feed.next(self)) is not None:
            if isinstance(entry, Problem):
                on_problem(entry)
            else:
                yield entry

    def converter(self) -> Convert:
        """A function from (line, item) to this table's entries, new for each read."""
        raise NotImplementedError


class ItemsTable(_FeedTable):
    """One row per item: the cells at the paths of ``fields``, under their keys."""

    def __init__(self, reader: PageReader, fields: dict[str, str]) -> None:
        super().__init__(reader, NAME, [name.strip().lower() for name in fields])
        self.columns = [(_path(path), SEPARATORS.get(name, ", ")) for name, path in fields.items()]

    def converter(self) -> Convert:
        return self._row

    def _row(self, line: int, item: Any) -> list[Entry]:
        if not isinstance(item, dict):
            message = f"the item is {_kind(item)}, not an object; skipped"
            return [Problem(code="bad_item", message=message, file=self.name, line=line)]
        return [(line, [cell(lookup(item, path), sep) for path, sep in self.columns])]


class StockTable(_FeedTable):
    """One row per stock entry of each item, under ``sku,location,quantity``."""

    def __init__(self, reader: PageReader, sku: str, stock: StockItems) -> None:
        super().__init__(reader, STOCK_NAME, ["sku", "location", "quantity"])
        self.sku, self.stock = _path(sku), stock
        self.paths = (_path(stock.items), _path(stock.location), _path(stock.quantity))

    def converter(self) -> Convert:
        seen = KeySet()

        def rows(line: int, item: Any) -> list[Entry]:
            sku = cell(lookup(item, self.sku)).strip() if isinstance(item, dict) else ""
            # An item the products table skips (no SKU, a repeat: the first item wins) has its
            # stock skipped with it, so the stock rows always follow the products' order.
            if not sku or not seen.add(sku):
                return []
            return self._rows(line, sku, lookup(item, self.paths[0]))

        return rows

    def _rows(self, line: int, sku: str, entries: Any) -> list[Entry]:
        if entries is None:
            return []  # none listed: none on hand, as a SKU without rows in stock.csv
        if not isinstance(entries, list):
            message = f"{self.stock.items}: {_kind(entries)}, not a list of stock entries"
            return [Problem("bad_stock_row", message, sku=sku, file=self.name, line=line)]
        _, at, count = self.paths
        return [(line, [sku, cell(lookup(e, at)), cell(lookup(e, count))]) for e in entries]


class HttpSource(LiveRead, TableSource):
    def __init__(self, settings: HttpCatalog, config: Path, sleep: Sleep | None = None) -> None:
        self.reader = PageReader(settings, config, sleep)
        self.items = ItemsTable(self.reader, settings.fields)
        stock = settings.stock
        self.stock_table = StockTable(self.reader, settings.fields["sku"], stock) if stock else None
        locations = CsvTable(settings.locations) if settings.locations else None
        # The stock rows come from the products' own items, so they are always in the products'
        # order: merged is always right, and indexed would hold every item in a buffer.
        super().__init__(self.items, stock=self.stock_table, locations=locations, merge_sides=True)

    def read(self, on_problem: ProblemSink) -> Iterator[Product]:
        if self.stock_table is not None and self.merge_sides:
            self.reader.share([self.items, self.stock_table])
        # else (indexed) each table reads the pages on its own: twice the requests, never
        # the whole catalogue held in a buffer
        yield from super().read(on_problem)
