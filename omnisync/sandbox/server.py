"""A local emulator of the marketplace APIs omnisync uses, for demos and integration tests.

``omnisync sandbox`` serves it on loopback. It is stateful (it keeps what it received), enforces
the documented limits (batch sizes, rate limits answered with 429 + Retry-After, required auth
headers, per-item errors for unknown SKUs or warehouses) and injects faults on request:
``fail_rate`` answers that share of requests with 503, ``latency_ms`` delays every answer.

Control endpoints for tests: ``GET /_sandbox/identity`` (``{"service": "omnisync-sandbox",
"pid", "instance"}``: a script that started a sandbox checks it is talking to its own, not to
whatever else listens on the port), ``GET /_sandbox/state`` (everything received), ``POST
/_sandbox/faults`` with any of ``{"reject": {"SKU": "message"}}`` (a per-item error for those
SKUs), ``{"poison": ["SKU"]}`` (a 400 for any request naming them), ``{"throttle": N}`` (429 for
the next N calls), ``{"lose": N}`` (apply the next N calls but answer 503), and ``POST
/_sandbox/reset``; ``POST /_sandbox/orders`` with ``{"ozon": N, "skus": [...]}`` adds N Ozon
postings of those SKUs (benchmarks). SKUs starting ``UNKNOWN-`` are products the emulated
seller does not have.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from omnisync.sandbox import google, kaspi, orders, ozon, ozon_fbs, satu
from omnisync.sandbox.orders_seed import ozon_bulk

Answer = tuple[int, dict[str, Any] | list[Any] | None, dict[str, str]]
SERVICE = "omnisync-sandbox"


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


@dataclass
class State:
    """Everything the sandbox knows; one lock guards it (requests run in threads)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    data: dict[str, Any] = field(default_factory=dict)
    reject: dict[str, str] = field(default_factory=dict)  # SKU → per-item error message
    poison: list[str] = field(default_factory=list)  # a request naming one gets a whole 400
    throttle: int = 0  # answer this many next API calls with 429
    lose: int = 0  # apply this many next API calls, then answer 503 (the outcome is lost)
    windows: dict[str, list[float]] = field(default_factory=dict)  # rate-limit windows

    def reset(self) -> None:
        self.data, self.reject, self.poison, self.windows = {}, {}, [], {}
        self.throttle = self.lose = 0

    def bucket(self, name: str) -> dict[str, Any]:
        found: dict[str, Any] = self.data.setdefault(name, {})
        return found

    def rate_limited(self, key: str, per_minute: int, now: float) -> float | None:
        """Seconds to wait when ``key`` used up its ``per_minute`` calls, else None."""
        window = [t for t in self.windows.get(key, []) if now - t < 60]
        if len(window) >= per_minute:
            self.windows[key] = window
            return 60 - (now - window[0])
        self.windows[key] = [*window, now]
        return None


Route = Callable[[State, Request], Answer]
ROUTES: list[tuple[str, str, Route]] = [
    *ozon.ROUTES,
    *satu.ROUTES,
    *google.ROUTES,
    *kaspi.ROUTES,
    *orders.ROUTES,
    *ozon_fbs.ROUTES,
]


class Sandbox:
    def __init__(
        self, port: int = 0, fail_rate: float = 0.0, latency_ms: int = 0, seed: int | None = None
    ) -> None:
        self.state = State()
        self.instance = secrets.token_hex(8)  # tells this sandbox from any other
        self.fail_rate, self.latency = fail_rate, latency_ms / 1000
        self.rng = random.Random(seed)
        self.server = ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        self.server.daemon_threads = True
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        port = self.server.server_address[1]
        return f"http://127.0.0.1:{port}"

    def identity(self) -> dict[str, Any]:
        return {"service": SERVICE, "pid": os.getpid(), "instance": self.instance}

    def start(self) -> Sandbox:
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def answer(self, request: Request) -> Answer:
        if request.path.startswith("/_sandbox/"):
            return self._control(request)
        if self.latency:
            time.sleep(self.latency)
        route = _route(request)
        if route is None:
            return 404, {"error": f"no such endpoint: {request.method} {request.path}"}, {}
        with self.state.lock:
            if self.state.throttle > 0:
                self.state.throttle -= 1
                return 429, {"error": "too many requests"}, {"Retry-After": "1"}
            if self.fail_rate and self.rng.random() < self.fail_rate:
                return 503, {"error": "injected failure"}, {}
            if any(f'"{sku}"' in json.dumps(request.body) for sku in self.state.poison):
                return 400, {"error": "the request holds an item this account refuses"}, {}
            answer = route(self.state, request)
            if self.state.lose > 0:
                self.state.lose -= 1
                return 503, {"error": "applied, but the answer was lost"}, {}
            return answer

    def _control(self, request: Request) -> Answer:
        if request.path == "/_sandbox/identity":
            return 200, self.identity(), {}
        with self.state.lock:
            if request.path == "/_sandbox/state":
                return 200, self.state.data, {}
            if request.path == "/_sandbox/reset":
                self.state.reset()
                return 200, {}, {}
            if request.path == "/_sandbox/orders" and isinstance(request.body, dict):
                bulk = ozon_bulk(int(request.body["ozon"]), list(request.body["skus"]))
                self.state.bucket("orders_ozon").update(bulk)
                return 200, {"ozon": len(bulk)}, {}
            if request.path == "/_sandbox/faults" and isinstance(request.body, dict):
                body = request.body
                self.state.reject.update(body.get("reject", {}))
                self.state.poison.extend(body.get("poison", []))
                self.state.throttle = int(body.get("throttle", self.state.throttle))
                self.state.lose = int(body.get("lose", self.state.lose))
                return 200, {}, {}
        return 404, {"error": "unknown control endpoint"}, {}


def _route(request: Request) -> Route | None:
    for method, pattern, route in ROUTES:
        if method == request.method and _matches(pattern, request.path):
            return route
    return None


def _matches(pattern: str, path: str) -> bool:
    """``{x}`` matches one path segment; ``{x...}`` the rest of the path."""
    parts, given = pattern.strip("/").split("/"), path.strip("/").split("/")
    for index, part in enumerate(parts):
        if part.endswith("...}"):
            return len(given) > index
        if index >= len(given) or not (part.startswith("{") or _same(part, given[index])):
            return False
    return len(parts) == len(given)


def _same(part: str, given: str) -> bool:
    # "{parent}:insert"-style segments: a placeholder before a literal suffix.
    if "{" in part:
        return given.endswith(part.split("}", 1)[1])
    return part == given


def _handler(sandbox: Sandbox) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            split = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:  # XML uploads, OAuth forms
                body = raw.decode("utf-8", "replace")
            request = Request(
                self.command,
                split.path,
                parse_qs(split.query),
                {k.lower(): v for k, v in self.headers.items()},
                body,
            )
            status, payload, headers = sandbox.answer(request)
            data = json.dumps(payload if payload is not None else {}).encode()
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", **headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: the sandbox is a test fixture and a demo prop

    return Handler
