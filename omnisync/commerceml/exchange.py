"""``omnisync exchange serve``: the web-shop side of 1C's exchange protocol for orders
(channels.md §6.5, ``type=sale``), so 1C pulls the stored orders the way it pulls them from a
web shop:

    GET ?type=sale&mode=checkauth   (HTTP Basic)  → success / <cookie name> / <cookie value>
    GET ?type=sale&mode=init                      → zip=no / file_limit=<bytes>
    GET ?type=sale&mode=query                     → CommerceML orders (``Документ``s)
    GET ?type=sale&mode=success                   → the orders of that query marked exported

Orders reach 1C at least once and are marked exported only after 1C said ``success``: each
query hands out the order versions whose ``exchange`` outbox rows are unsent, and remembers
them for its session; ``success`` marks exactly those sent (versions stored meanwhile wait for
the next query). A query repeated without ``success`` sends the same orders again — 1C matches
a ``Документ`` by its ``Ид``, so a repeat updates rather than duplicates. The details of
``type=sale`` beyond this summary are unconfirmed (channels.md §6.5).
"""

from __future__ import annotations

import base64
import hmac
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from omnisync.config import Config, Exchange
from omnisync.orders.exports import commerceml, ids_1c, mark_sent
from omnisync.store.db import stored
from omnisync.store.order_views import stored_order

COOKIE = "omnisync_exchange"
SESSIONS = 64  # sessions remembered at once: 1C opens one per exchange
FILE_LIMIT = 8 * 2**20


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"


def text(*lines: str, status: int = 200) -> Answer:
    return Answer(status, ("\n".join(lines) + "\n").encode("utf-8"))


class Protocol:
    """The exchange's answers, apart from HTTP: one instance serves every request."""

    def __init__(self, config: Config) -> None:
        exchange = config.exports.exchange
        assert exchange is not None  # the CLI refuses to serve without it
        self.config, self.exchange = config, exchange
        self.sessions: OrderedDict[str, list[int]] = OrderedDict()
        self.lock = threading.Lock()

    def answer(self, query: dict[str, str], authorization: str, cookie: str) -> Answer:
        if query.get("type") != "sale":
            return text("failure", "omnisync exchanges orders only: type=sale", status=400)
        mode = query.get("mode", "")
        if mode == "checkauth":
            return self._checkauth(authorization)
        if cookie not in self.sessions:
            return text("failure", "not authorized: call mode=checkauth first", status=401)
        if mode == "init":
            return text("zip=no", f"file_limit={FILE_LIMIT}")
        if mode == "query":
            return self._query(cookie)
        if mode == "success":
            return self._success(cookie)
        return text("failure", f"mode={mode} is not supported: orders go out only", status=400)

    def _checkauth(self, authorization: str) -> Answer:
        if not _allowed(authorization, self.exchange):
            return text("failure", "wrong user or password", status=401)
        session = secrets.token_urlsafe(24)
        with self.lock:
            self.sessions[session] = []
            while len(self.sessions) > SESSIONS:
                self.sessions.popitem(last=False)
        return text("success", COOKIE, session)

    def _query(self, session: str) -> Answer:
        with stored(self.config.state) as store:
            rows = store.db.execute(
                "SELECT id, channel, account, external_id FROM outbox "
                "WHERE kind = 'exchange' AND sent_at IS NULL ORDER BY id"
            ).fetchall()
            keys = list(dict.fromkeys((c, a, e) for _, c, a, e in rows))
            orders = [o for o in (stored_order(store.db, key) for key in keys) if o is not None]
        with self.lock:
            self.sessions[session] = [row[0] for row in rows]
        encoding = self.exchange.encoding
        body = commerceml(
            orders, self.config.exports.currency, ids_1c(self.config, orders), encoding
        )
        return Answer(200, body, f"application/xml; charset={encoding}")

    def _success(self, session: str) -> Answer:
        with self.lock:
            handed, self.sessions[session] = self.sessions[session], []
        if handed:
            with stored(self.config.state) as store:
                mark_sent(store, handed)
        return text("success")


def _allowed(authorization: str, exchange: Exchange) -> bool:
    """HTTP Basic, compared in constant time."""
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return False
    wanted = exchange.password.get_secret_value()
    same_user = hmac.compare_digest(user.encode(), exchange.user.encode())
    return hmac.compare_digest(password.encode(), wanted.encode()) and same_user


def server(config: Config, host: str, port: int) -> ThreadingHTTPServer:
    protocol = Protocol(config)

    class Handler(BaseHTTPRequestHandler):
        server_version = "omnisync-exchange"

        def do_GET(self) -> None:
            query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
            cookie = _cookie(self.headers.get("Cookie", ""))
            reply = protocol.answer(query, self.headers.get("Authorization", ""), cookie)
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        do_POST = do_GET  # 1C posts some modes; a body is never read (orders go out only)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the request line carries nothing worth a log line per poll

    return ThreadingHTTPServer((host, port), Handler)


def _cookie(header: str) -> str:
    for part in header.split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE:
            return value
    return ""
