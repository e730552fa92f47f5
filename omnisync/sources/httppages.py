"""The pages of a paginated JSON API (``catalog: {source: http}``), one at a time.

``page`` and ``offset`` read until an empty page: an API that caps its page size (100 or 250 is
common) sends fewer items than asked for on every page, so a short page is not the end. The
offset advances by the items received, so a capped API is walked without gaps. ``cursor``
reads until the answer has no next cursor. Every request goes through ``omnisync.http``
(retries, Retry-After, rate limit, body cap, deadline).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Generator, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, NoReturn
from urllib.parse import parse_qsl, urlsplit

from pydantic import SecretStr

from omnisync import stopping
from omnisync.catalogs import HttpCatalog
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
from omnisync.secrets import redact
from omnisync.sources.values import cell

NAME = "products API"  # what problems name as their file: "products API:17" is the 17th item
STOPPED = "while reading the catalogue API"
MISSING: Final = object()  # what ``find`` gives for a path the value does not have
Params = list[tuple[str, str | int]]


def find(value: Any, path: tuple[str, ...]) -> Any:
    """The value at a dotted path (``images.0`` is index 0 of a list); MISSING when a key or
    index is not there (a JSON null is there: None)."""
    for key in path:
        if isinstance(value, dict) and key in value:
            value = value[key]
        elif isinstance(value, list) and key.isdigit() and key.isascii() and int(key) < len(value):
            value = value[int(key)]
        else:
            return MISSING
    return value


def lookup(value: Any, path: tuple[str, ...]) -> Any:
    """The value at a dotted path; None when absent."""
    found = find(value, path)
    return None if found is MISSING else found


def dotted(path: str) -> tuple[str, ...]:
    return tuple(path.split(".")) if path else ()


def kind(value: Any) -> str:
    kinds = {dict: "an object", list: "a list", str: "a string", bool: "true or false"}
    return "null" if value is None else kinds.get(type(value), "a number")


class PageReader:
    """The API's items, in order, with their position in the whole stream (from 1)."""

    def __init__(self, settings: HttpCatalog, config: Path, sleep: Sleep | None) -> None:
        self.settings, self.config, self.sleep = settings, config, sleep or stopping.pause
        url = urlsplit(settings.url)
        self.base, self.path = f"{url.scheme}://{url.netloc}", url.path or "/"
        self.query = parse_qsl(url.query, keep_blank_values=True)  # kept: params would drop it
        if url.password is not None:
            message = "write credentials in headers as env:NAME, never in the URL"
            raise ConfigError(str(config), [("catalog.url", message)])
        self.host = url.hostname or ""

    def items(self) -> Generator[tuple[int, Any], None, None]:
        """Each item with its position; one page is fetched (and held) at a time."""
        line = 0
        for page in self._pages():
            for item in page:
                line += 1
                yield line, item

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
        """``page`` and ``offset``: until an empty page; the same page again is an error."""
        p, previous, offset = self.settings.pagination, None, 0
        for number in itertools.count(1):
            at = p.first_page + number - 1 if p.style == "page" else offset
            where = p.page_param if p.style == "page" else p.offset_param
            answer = self._answer(api, [(where, at), (p.size_param, p.page_size)], number)
            items = self._items(answer, number)
            if not items:
                return
            if items == previous:  # the API ignores the parameter: it would never end
                message = f"page {number} is page {number - 1} again; check catalog.pagination"
                raise SourceError(NAME, None, message)
            yield items
            previous, offset = items, offset + len(items)

    def _by_cursor(self, api: Api) -> Iterator[list[Any]]:
        """``cursor``: until the answer has no next cursor; a cursor given twice is an error."""
        p, cursor, seen = self.settings.pagination, "", set[str]()
        for number in itertools.count(1):
            answer = self._answer(api, [(p.cursor_param, cursor)] if cursor else [], number)
            cursor = cell(lookup(answer, dotted(p.next_cursor)))
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
        items = lookup(answer, dotted(self.settings.items))
        if isinstance(items, list):
            return items
        where = f"{self.settings.items!r}" if self.settings.items else "the answer"
        keys = ""
        if isinstance(answer, dict):
            keys = f" (its keys: {', '.join(key[:40] for key in list(answer)[:10])})"
        message = f"page {number}: {where} is {kind(items)}, not a list of items{keys}"
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
