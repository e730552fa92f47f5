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
``type=sale`` beyond this summary are unconfirmed (channels.md §6.5). Public shop modules
describe the same: checkauth answers success / cookie name / value and init zip / file_limit
(https://minicode.ru/интеграция-с-1с/), query hands out orders and success confirms them
(https://root-i.work/en/docs/administrirovanie/moduli/sinhronizatsiia-s-1s); Bitrix's module
talks windows-1251 (https://hmarketing.ru/blog/bitrix/zaprosy-obmena), hence ``encoding``.
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

from omnisync import stopping
from omnisync.config import Config, Exchange
from omnisync.errors import OmnisyncError
from omnisync.logs import log
from omnisync.orders.exports import commerceml, ids_1c, mark_sent
from omnisync.store.db import stored
from omnisync.store.order_views import stored_order

COOKIE = "omnisync_exchange"
SESSIONS = 64  # sessions remembered at once: 1C opens one per exchange
MAX_ORDERS = 500  # orders a query hands out: a long outage is sent over several exchanges
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
        """The orders to send, at most ``MAX_ORDERS`` (the rest go in the next exchange);
        the session remembers them only once the answer is ready."""
        try:
            handed, body = self._documents()
        except Exception as exc:  # 1C tries again later; an error must not pass for orders
            log.warning("1C exchange: the orders could not be prepared: %s", exc)
            return text("failure", f"the orders could not be prepared: {_said(exc)}", status=500)
        with self.lock:
            self.sessions[session] = handed
        return Answer(200, body, f"application/xml; charset={self.exchange.encoding}")

    def _documents(self) -> tuple[list[int], bytes]:
        with stored(self.config.state) as store:
            rows = store.db.execute(
                "SELECT id, channel, account, external_id FROM outbox "
                "WHERE kind = 'exchange' AND sent_at IS NULL ORDER BY id"
            ).fetchall()
            keys = list(dict.fromkeys((c, a, e) for _, c, a, e in rows))[:MAX_ORDERS]
            chosen = set(keys)
            handed = [row_id for row_id, *key in rows if tuple(key) in chosen]
            orders = [o for o in (stored_order(store.db, key) for key in keys) if o is not None]
        ids = ids_1c(self.config, orders)
        exported = self.config.exports
        body = commerceml(orders, exported.currency, ids, self.exchange.encoding, exported.timezone)
        return handed, body

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


def _said(exc: Exception) -> str:
    """What an error says, when it is ours (redacted, one line); else only its kind."""
    return str(exc) if isinstance(exc, OmnisyncError) else type(exc).__name__


def server(config: Config, host: str, port: int) -> ThreadingHTTPServer:
    protocol = Protocol(config)

    class Handler(BaseHTTPRequestHandler):
        server_version = "omnisync-exchange"
        timeout = 30  # an idle or dribbling client does not hold a thread forever

        def do_GET(self) -> None:
            self._discard_body()
            query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
            cookie = _cookie(self.headers.get("Cookie", ""))
            try:
                reply = protocol.answer(query, self.headers.get("Authorization", ""), cookie)
            except Exception as exc:  # whatever happens, 1C gets an answer it understands
                log.warning("1C exchange: %s", _said(exc))
                reply = text("failure", _said(exc), status=500)
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        do_POST = do_GET  # 1C posts some modes: their body is read and dropped (orders go out)

        def _discard_body(self) -> None:
            length = min(int(self.headers.get("Content-Length") or 0), FILE_LIMIT)
            while length > 0:
                chunk = self.rfile.read(min(length, 65536))
                if not chunk:
                    break  # the client closed early
                length -= len(chunk)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the request line carries nothing worth a log line per poll

    return ThreadingHTTPServer((host, port), Handler)


def serve(httpd: ThreadingHTTPServer) -> None:
    """Serve until a stop signal: the first SIGTERM or Ctrl-C ends it (requests under way
    finish), as systemd expects."""
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        while thread.is_alive() and not stopping.requested():
            stopping.pause(0.5)
    finally:
        httpd.shutdown()
        httpd.server_close()


def _cookie(header: str) -> str:
    for part in header.split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE:
            return value
    return ""
