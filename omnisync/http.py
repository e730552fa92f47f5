"""The one place omnisync talks HTTP: clients, timeouts, retries, Retry-After, rate limits.

Policy (reliability.md → Retries): connection errors are always retried (the request never
left); 408, 429 and 5xx are retried with full-jitter exponential backoff; a ``Retry-After``
header (seconds or an HTTP date) is honoured instead of the backoff; read timeouts are retried
only for idempotent calls. Other 4xx answers are not retried. A wait that would pass the run's
time budget raises :class:`~omnisync.errors.Deferred` instead of sleeping: the items are pushed
on the next run. Every (channel, account) has its own client-side rate limiter.

Answers are hostile until read (reliability.md → Security): a body is streamed and refused past
``MAX_BODY``, and must arrive within ``DEADLINE`` of its headers — httpx's read timeout is per
read, so a server dribbling a byte at a time would otherwise hold a run forever. Passing the
deadline counts as a read timeout (retried only for idempotent calls); a body too large or not
JSON is a :class:`~omnisync.errors.ChannelUnavailable` at once (asking again brings the same).
"""

from __future__ import annotations

import json as jsonlib
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, NoReturn

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from omnisync import stopping
from omnisync.errors import ChannelRejected, ChannelUnavailable, Deferred

# httpx logs every request URL at INFO; URLs carry no secrets here, but keep it quiet anyway.
logging.getLogger("httpx").setLevel(logging.WARNING)

TIMEOUT = httpx.Timeout(connect=10.0, read=60.0, write=60.0, pool=10.0)
# A marketplace page (100 orders, 1000 price verdicts) is well under 1 MiB: 32 MiB is room for
# growth, not for a runaway answer. Module constants, so tests can shrink them.
MAX_BODY = 32 * 2**20
ERROR_BODY = 64 * 2**10  # a failed answer is only described: its start is enough
DEADLINE = 120.0  # seconds from the headers to the last byte: MAX_BODY at ~280 KB/s
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
MAX_ATTEMPTS = 6
BACKOFF_BASE, BACKOFF_CAP = 0.5, 30.0
Sleep = Callable[[float], None]


@dataclass
class Budget:
    """The run's time budget: waits beyond ``deadline`` (monotonic seconds) defer instead."""

    seconds: float = 600.0
    clock: Callable[[], float] = time.monotonic
    deadline: float = field(init=False)

    def __post_init__(self) -> None:
        self.deadline = self.clock() + self.seconds

    def allows(self, wait: float) -> bool:
        return self.clock() + wait <= self.deadline


_LIMITERS: dict[tuple[str, str, float], RateLimiter] = {}


def limiter_for(kind: str, account: str, per_minute: float) -> RateLimiter:
    """The one limiter of a marketplace account in this process: every channel pushing to the
    same account shares its quota."""
    key = (kind, account, per_minute)
    if key not in _LIMITERS:
        _LIMITERS[key] = RateLimiter(per_minute)
    return _LIMITERS[key]


class RateLimiter:
    """A token bucket: ``per_minute`` requests a minute, bursts of up to ``burst``."""

    def __init__(
        self, per_minute: float, burst: int = 1, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate, self.capacity, self.clock = per_minute / 60.0, float(burst), clock
        self.tokens, self.updated = float(burst), clock()
        self.lock = threading.Lock()

    def delay(self) -> float:
        """Take a token; the seconds to wait before using it (0 when one is ready)."""
        with self.lock:
            now = self.clock()
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            self.tokens -= 1
            return 0.0 if self.tokens >= 0 else -self.tokens / self.rate


class _Retryable(Exception):
    def __init__(self, response: httpx.Response | None, cause: Exception | None = None) -> None:
        super().__init__(
            str(cause) if cause else f"HTTP {response.status_code if response else ''}"
        )
        self.response, self.cause = response, cause


def retry_after(response: httpx.Response | None, now: datetime | None = None) -> float | None:
    """Seconds the server asked us to wait, from ``Retry-After`` (seconds or HTTP date)."""
    value = response.headers.get("Retry-After") if response is not None else None
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


def backoff(attempt: int, rng: random.Random | None = None) -> float:
    """Full jitter: uniform in [0, min(cap, base * 2^attempt)]."""
    return (rng or random).uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt))


class Api:
    """One channel account's API: base URL, auth headers, limiter, budget, retry policy."""

    def __init__(
        self,
        channel: str,
        base_url: str,
        headers: dict[str, str],
        *,
        limiter: RateLimiter | None = None,
        budget: Budget | None = None,
        sleep: Sleep = stopping.pause,
        client: httpx.Client | None = None,
    ) -> None:
        self.channel, self.limiter, self.sleep = channel, limiter, sleep
        self.budget = budget or Budget()
        self.client = client or httpx.Client(
            base_url=base_url, headers=headers, timeout=TIMEOUT, follow_redirects=False
        )

    def close(self) -> None:
        self.client.close()

    def request(
        self, method: str, path: str, *, idempotent: bool = True, **kwargs: Any
    ) -> httpx.Response:
        """Send with the retry policy; a 2xx response, or a ChannelError."""
        retrying = Retrying(
            retry=retry_if_exception(lambda e: isinstance(e, _Retryable)),
            stop=stop_after_attempt(MAX_ATTEMPTS), wait=self._wait, sleep=self._sleep,
            reraise=True,
        )  # fmt: skip
        try:
            return retrying(self._once, method, path, idempotent, kwargs)
        except _Retryable as exc:
            detail = _describe(exc.response) if exc.response is not None else str(exc.cause)
            raise ChannelUnavailable(
                self.channel, f"{method} {path}: {detail}; gave up after {MAX_ATTEMPTS} attempts"
            ) from None

    def _once(
        self, method: str, path: str, idempotent: bool, kwargs: dict[str, Any]
    ) -> httpx.Response:
        self._throttle()
        try:
            response = self._fetch(method, path, kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise _Retryable(None, exc) from exc  # the request never left
        except httpx.TransportError as exc:  # timeouts (the deadline too), dropped connections
            if idempotent:
                raise _Retryable(None, exc) from exc
            raise ChannelUnavailable(
                self.channel,
                f"{method} {path}: {exc}; not retried because the call is not idempotent",
            ) from exc
        except (httpx.DecodingError, _TooLarge) as exc:  # the same answer again would not help
            raise ChannelUnavailable(self.channel, f"{method} {path}: {exc}") from None
        except (httpx.InvalidURL, httpx.UnsupportedProtocol, ValueError) as exc:
            # e.g. a header value httpx refuses: say what went wrong, never the value
            raise ChannelRejected(
                self.channel, f"{method} {path}: cannot send the request ({type(exc).__name__})"
            ) from None
        return self._check(method, path, response)

    def _fetch(self, method: str, path: str, kwargs: dict[str, Any]) -> httpx.Response:
        """Send, then read the whole answer within the size cap and the deadline."""
        options = {"timeout": _timeout(TIMEOUT.read), **kwargs}  # a caller's timeout wins
        with self.client.stream(method, path, **options) as response:
            body = read_body(response)
        return _loaded(response, body)

    def _check(self, method: str, path: str, response: httpx.Response) -> httpx.Response:
        if response.status_code in RETRY_STATUSES:
            raise _Retryable(response)
        if response.status_code >= 300:  # redirects are not followed: a moved API is an error
            raise ChannelRejected(
                self.channel, f"{method} {path}: {_describe(response)}", response.status_code
            )
        return response

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """``request`` and the answer's JSON; an answer that is not JSON is a channel error.
        NaN and Infinity are not JSON either: a price must never become one."""
        response = self.request(method, path, **kwargs)
        try:
            return jsonlib.loads(response.content, parse_constant=_no_constant)
        except (ValueError, RecursionError):  # RecursionError: nested deeper than Python goes
            raise ChannelUnavailable(
                self.channel, f"{method} {path}: the answer is not JSON ({_describe(response)})"
            ) from None

    def _throttle(self) -> None:
        delay = self.limiter.delay() if self.limiter else 0.0
        if delay:
            self._sleep(delay)

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        asked = retry_after(exc.response) if isinstance(exc, _Retryable) else None
        return asked if asked is not None else backoff(state.attempt_number)

    def _sleep(self, seconds: float) -> None:
        if not self.budget.allows(seconds):
            raise Deferred(
                self.channel,
                f"waiting {seconds:.0f} s would pass the run's time "
                "budget; the rest is deferred to the next run",
            )
        # The default sleep (stopping.pause) ends early on a stop signal, so a long Retry-After
        # wait never outlives the grace period systemd or Kubernetes give before SIGKILL.
        self.sleep(seconds)
        if stopping.requested():
            raise Deferred(self.channel, "stopped by a signal while waiting to retry")


class _TooLarge(Exception):
    def __init__(self, cap: int) -> None:
        super().__init__(f"the answer is larger than {cap:,} bytes; not read further")


def read_body(response: httpx.Response) -> bytes:
    """A streamed answer's (decoded) bytes, read within ``DEADLINE`` and ``MAX_BODY``; a
    failed answer is cut at ``ERROR_BODY`` instead of refused (only its start is shown)."""
    failed, started = response.status_code >= 300, time.monotonic()
    cap = ERROR_BODY if failed else MAX_BODY
    if not failed and _declared_size(response) > cap:
        raise _TooLarge(cap)  # refused before a byte of it is read
    body = bytearray()
    for chunk in response.iter_bytes():
        if time.monotonic() - started > DEADLINE:
            message = f"no complete answer within {DEADLINE:g} s"
            raise httpx.ReadTimeout(message, request=response.request)
        body += chunk
        if len(body) > cap:
            if failed:
                return bytes(body[:cap])
            raise _TooLarge(cap)
    return bytes(body)


def _declared_size(response: httpx.Response) -> int:
    value = response.headers.get("Content-Length", "")
    return int(value) if value.isascii() and value.isdigit() else 0


def _loaded(response: httpx.Response, body: bytes) -> httpx.Response:
    """A read response holding ``body``: decoded already, so without its transfer headers."""
    drop = {"content-encoding", "content-length", "transfer-encoding"}
    headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in drop]
    return httpx.Response(
        response.status_code, headers=headers, content=body, request=response.request,
        extensions=response.extensions,
    )  # fmt: skip


def _timeout(read: float | None) -> httpx.Timeout:
    """No single read waits past the deadline either (a server that stalls, not dribbles)."""
    read = DEADLINE if read is None else min(read, DEADLINE)
    return httpx.Timeout(connect=TIMEOUT.connect, read=read, write=TIMEOUT.write, pool=TIMEOUT.pool)


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON value")


def _describe(response: httpx.Response) -> str:
    body = response.text[:500].strip().replace("\n", " ")
    return f"HTTP {response.status_code}" + (f": {body}" if body else "")


class GoogleAuthRequest:
    """google-auth's transport interface over httpx, so service-account token refreshes go
    through this module like every other call (google-auth ships requests/urllib3 transports
    only)."""

    def __init__(self, timeout: float = 30.0) -> None:
        self.timeout = timeout

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: Any = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> Any:
        from google.auth import exceptions

        limit = _timeout(timeout or self.timeout)
        try:  # the token endpoint's answer is capped and timed like every other
            with httpx.stream(
                method, url, content=body, headers=headers, timeout=limit
            ) as response:
                return _AuthResponse(response.status_code, response.headers, read_body(response))
        except (httpx.HTTPError, _TooLarge) as exc:
            raise exceptions.TransportError(str(exc)) from exc  # type: ignore[no-untyped-call]


class _AuthResponse:
    def __init__(self, status: int, headers: httpx.Headers, data: bytes) -> None:
        self.status, self.headers, self.data = status, dict(headers), data
