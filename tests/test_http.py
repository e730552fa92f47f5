"""The HTTP policy, with respx (no network) and a fake sleep that records every wait."""

from __future__ import annotations

import os
import signal
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
import respx

from omnisync import stopping
from omnisync.errors import ChannelRejected, ChannelUnavailable, Deferred
from omnisync.http import MAX_ATTEMPTS, Api, Budget, RateLimiter, backoff, retry_after

BASE = "https://api.example.test"


class FakeClock:
    def __init__(self) -> None:
        self.now, self.sleeps = 0.0, list[float]()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def api(clock: FakeClock, budget: float = 600, limiter: RateLimiter | None = None) -> Api:
    return Api(
        "ozon",
        BASE,
        {"Api-Key": "k"},
        sleep=clock.sleep,
        limiter=limiter,
        budget=Budget(budget, clock=clock),
    )


@respx.mock
def test_retry_after_in_seconds_is_waited_out_exactly() -> None:
    route = respx.post(f"{BASE}/v2/products/stocks").mock(side_effect=[
        httpx.Response(429, headers={"Retry-After": "7"}),
        httpx.Response(429, headers={"Retry-After": "2"}),
        httpx.Response(200, json={"result": []}),
    ])  # fmt: skip
    clock = FakeClock()
    response = api(clock).request("POST", "/v2/products/stocks", json={})
    assert response.status_code == 200 and route.call_count == 3
    assert clock.sleeps == [7.0, 2.0]


def test_retry_after_as_an_http_date() -> None:
    now = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    header = format_datetime(now + timedelta(seconds=30), usegmt=True)
    response = httpx.Response(503, headers={"Retry-After": header})
    assert retry_after(response, now) == 30.0
    assert retry_after(httpx.Response(503, headers={"Retry-After": "soon"})) is None
    assert retry_after(httpx.Response(503)) is None


@respx.mock
def test_5xx_without_retry_after_backs_off_with_full_jitter_then_gives_up() -> None:
    respx.get(f"{BASE}/x").mock(return_value=httpx.Response(502, text="bad gateway"))
    clock = FakeClock()
    with pytest.raises(ChannelUnavailable, match="HTTP 502: bad gateway; gave up after 6"):
        api(clock).request("GET", "/x")
    assert len(clock.sleeps) == MAX_ATTEMPTS - 1
    assert all(0 <= wait <= min(30, 0.5 * 2**n) for n, wait in enumerate(clock.sleeps, 1))


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
@respx.mock
def test_client_errors_are_not_retried(status: int) -> None:
    route = respx.post(f"{BASE}/x").mock(return_value=httpx.Response(status, json={"e": 1}))
    clock = FakeClock()
    with pytest.raises(ChannelRejected, match=f"HTTP {status}"):
        api(clock).request("POST", "/x")
    assert route.call_count == 1 and clock.sleeps == []


@respx.mock
def test_connection_errors_are_retried() -> None:
    route = respx.get(f"{BASE}/x").mock(
        side_effect=[httpx.ConnectError("refused"), httpx.Response(200)]
    )
    assert api(FakeClock()).request("GET", "/x").status_code == 200
    assert route.call_count == 2


@respx.mock
def test_read_timeouts_are_retried_only_for_idempotent_calls() -> None:
    route = respx.post(f"{BASE}/x").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(ChannelUnavailable, match="not idempotent"):
        api(FakeClock()).request("POST", "/x", idempotent=False)
    assert route.call_count == 1
    route.side_effect = [httpx.ReadTimeout("slow"), httpx.Response(200)]
    assert api(FakeClock()).request("POST", "/x").status_code == 200


@respx.mock
def test_a_wait_past_the_budget_defers_instead_of_sleeping() -> None:
    respx.post(f"{BASE}/x").mock(return_value=httpx.Response(429, headers={"Retry-After": "120"}))
    clock = FakeClock()
    with pytest.raises(Deferred, match="deferred to the next run"):
        api(clock, budget=60).request("POST", "/x")
    assert clock.sleeps == []


def test_rate_limiter_spaces_requests_at_the_documented_rate() -> None:
    clock = FakeClock()
    limiter = RateLimiter(per_minute=80, clock=clock)  # Ozon stocks: 80 requests a minute
    waits = []
    for _ in range(4):
        wait = limiter.delay()
        waits.append(round(wait, 3))
        clock.now += wait
    assert waits == [0.0, 0.75, 0.75, 0.75]


@respx.mock
def test_requests_go_through_the_limiter() -> None:
    respx.get(f"{BASE}/x").mock(return_value=httpx.Response(200))
    clock = FakeClock()
    client = api(clock, limiter=RateLimiter(per_minute=60, clock=clock))
    for _ in range(3):
        client.request("GET", "/x")
    assert clock.sleeps == [1.0, 1.0]


def test_backoff_is_bounded_by_the_cap() -> None:
    assert all(0 <= backoff(n) <= 30 for n in range(1, 20))


@respx.mock
def test_a_dropped_connection_is_retried_for_idempotent_calls() -> None:
    route = respx.post(f"{BASE}/x").mock(
        side_effect=[httpx.RemoteProtocolError("gone"), httpx.Response(200)]
    )
    assert api(FakeClock()).request("POST", "/x").status_code == 200
    assert route.call_count == 2


@respx.mock
def test_a_redirect_is_an_error_not_a_success() -> None:
    respx.post(f"{BASE}/x").mock(return_value=httpx.Response(301, headers={"Location": "/y"}))
    with pytest.raises(ChannelRejected, match="HTTP 301"):
        api(FakeClock()).request("POST", "/x")


@respx.mock
def test_an_answer_that_is_not_json_is_a_channel_error() -> None:
    respx.post(f"{BASE}/x").mock(return_value=httpx.Response(200, text="<html>oops</html>"))
    with pytest.raises(ChannelUnavailable, match="not JSON"):
        api(FakeClock()).json("POST", "/x")


@respx.mock
def test_a_stop_signal_cuts_a_long_retry_after_wait_short() -> None:
    """SIGTERM during a 120 s Retry-After wait: the wait ends and the items are deferred,
    well inside the grace period before a SIGKILL."""
    respx.post(f"{BASE}/x").mock(return_value=httpx.Response(429, headers={"Retry-After": "120"}))
    client = Api("ozon", BASE, {})  # the real, stoppable sleep
    timer = threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGTERM))
    began = time.monotonic()
    with stopping.graceful(), pytest.raises(Deferred, match="stopped by a signal"):
        timer.start()
        client.request("POST", "/x")
    assert time.monotonic() - began < 60  # not the 120 s asked for
