"""The one place omnisync talks HTTP: clients, timeouts, retries, Retry-After, rate limits.

Policy (reliability.md → Retries): connection errors are always retried (the request never
left); 408, 429 and 5xx are retried with full-jitter exponential backoff; a ``Retry-After``
header (seconds or an HTTP date) is honoured instead of the backoff; read timeouts are retried
only for idempotent calls. Other 4xx answers are not retried. A wait that would pass the run's
time budget raises :class:`~omnisync.errors.Deferred` instead of sleeping: the items are pushed
on the next run. Every (channel, account) has its own client-side rate limiter.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from omnisync.errors import ChannelRejected, ChannelUnavailable, Deferred

# httpx logs every request URL at INFO; URLs carry no secrets here, but keep it quiet anyway.
logging.getLogger("httpx").setLevel(logging.WARNING)

TIMEOUT = httpx.Timeout(connect=10.0, read=60.0, write=60.0, pool=10.0)
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
        sleep: Sleep = time.sleep,
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
            response = self.client.request(method, path, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise _Retryable(None, exc) from exc  # the request never left
        except httpx.TransportError as exc:  # timeouts, dropped connections: maybe applied
            if idempotent:
                raise _Retryable(None, exc) from exc
            raise ChannelUnavailable(
                self.channel,
                f"{method} {path}: {exc}; not retried because the call is not idempotent",
            ) from exc
        except (httpx.InvalidURL, httpx.UnsupportedProtocol, ValueError) as exc:
            # e.g. a header value httpx refuses: say what went wrong, never the value
            raise ChannelRejected(
                self.channel, f"{method} {path}: cannot send the request ({type(exc).__name__})"
            ) from None
        return self._check(method, path, response)

    def _check(self, method: str, path: str, response: httpx.Response) -> httpx.Response:
        if response.status_code in RETRY_STATUSES:
            raise _Retryable(response)
        if response.status_code >= 300:  # redirects are not followed: a moved API is an error
            raise ChannelRejected(
                self.channel, f"{method} {path}: {_describe(response)}", response.status_code
            )
        return response

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """``request`` and the answer's JSON; an answer that is not JSON is a channel error."""
        response = self.request(method, path, **kwargs)
        try:
            return response.json()
        except ValueError:
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
        self.sleep(seconds)


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

        try:
            response = httpx.request(
                method, url, content=body, headers=headers, timeout=timeout or self.timeout
            )
        except httpx.HTTPError as exc:
            raise exceptions.TransportError(str(exc)) from exc  # type: ignore[no-untyped-call]
        return _AuthResponse(response)


class _AuthResponse:
    def __init__(self, response: httpx.Response) -> None:
        self.status, self.headers, self.data = (
            response.status_code,
            dict(response.headers),
            response.content,
        )
