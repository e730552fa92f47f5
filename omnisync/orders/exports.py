"""Orders into the central system: the outbox relay (reliability.md → outbox, idempotent relay).

Ingest writes an outbox row per export kind and order version in the same transaction as the
order; this relay sends what is unsent, and only then marks it sent:

* ``ndjson`` and ``commerceml`` files are rewritten whole from the store (atomically), so
  writing them again after a crash changes nothing — the relay is idempotent by construction;
* ``sql`` writes each order into the ERP's tables (``sqlexport``): rewriting an order changes
  nothing, so it is idempotent too;
* ``webhook`` POSTs each order version with an ``Idempotency-Key`` that is the row's key, the
  same on every retry, so the receiver can drop a duplicate (as stripe-python does).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from lxml import etree
from pydantic import SecretStr

from omnisync import faults, stopping
from omnisync.catalogs import CommerceMLCatalog
from omnisync.config import Config
from omnisync.errors import ChannelError, OmnisyncError
from omnisync.http import Api, Budget
from omnisync.models import EMPTY, Problem
from omnisync.orders import sqlexport
from omnisync.publish import AtomicFile
from omnisync.report import RunReport
from omnisync.sources.commerceml import CommerceMLSource
from omnisync.store import Store
from omnisync.store.order_views import list_orders
from omnisync.text import xml_safe

PULLED = frozenset({"exchange"})  # sent when 1C asks (commerceml/exchange.py), not relayed
STATUS_1C = {"new": "Новый", "accepted": "Подтвержден", "shipped": "Отгружен",
             "delivered": "Выполнен", "cancelled": "Отменен"}  # fmt: skip


def relay(config: Config, store: Store, budget: Budget, report: RunReport) -> dict[str, int]:
    """Send every unsent outbox row; returns rows sent per kind."""
    sent = {}
    for kind in (k for k in config.exports.kinds() if k not in PULLED):
        rows = store.db.execute(
            "SELECT id, key, payload FROM outbox WHERE kind = ? AND sent_at IS NULL ORDER BY id",
            (kind,),
        ).fetchall()
        if rows:
            done = _send(config, store, kind, rows, budget, report)
            mark_sent(store, done)
            sent[kind] = len(done)
    return sent


def _send(
    config: Config, store: Store, kind: str, rows: list[Any], budget: Budget, report: RunReport
) -> list[int]:
    """One export kind; a file that cannot be written (an unmounted 1C share), or 1C's export
    that cannot be read to name the lines, is reported and stays unsent — it must not stop the
    stock push that follows in ``sync``."""
    if kind == "webhook":
        return _webhook(config, rows, budget, report)
    if kind == "sql":
        return _database(config, store, rows, report)
    try:
        return _file(config, store, kind, rows)
    except (OSError, OmnisyncError) as exc:
        target = getattr(config.exports, kind)
        reason = exc.strerror or exc if isinstance(exc, OSError) else exc
        message = f"{target}: {reason}; written again next run"
        report.add(Problem(code="export_failed", channel=kind, field=str(target), message=message))
        return []


def _file(config: Config, store: Store, kind: str, rows: list[Any]) -> list[int]:
    orders = list_orders(store.path)
    target: Path = getattr(config.exports, kind)
    if kind == "ndjson":
        body = ndjson(orders)
    else:
        exported = config.exports
        body = commerceml(
            orders, exported.currency, ids_1c(config, orders), "utf-8", exported.timezone
        )
    with AtomicFile(target) as out:
        out.stream.write(body)
        out.commit()
    return [row[0] for row in rows]


def ids_1c(config: Config, orders: list[dict[str, Any]]) -> dict[str, str]:
    """SKU → the 1C Ид order lines must carry, when the catalogue is 1C's own export; else
    none (lines then carry the SKU, which 1C matches by its article where set up to)."""
    if not isinstance(config.catalog, CommerceMLCatalog):
        return {}
    skus = {line["sku"] for order in orders for line in order["lines"] if line["sku"]}
    return CommerceMLSource(config.catalog, config.path).offer_ids(skus) if skus else {}


def _database(config: Config, store: Store, rows: list[Any], report: RunReport) -> list[int]:
    """The orders into the ERP's tables; a database that is down is reported, and what was not
    written stays unsent — like a file export, it must not stop the stock push after it."""
    ids = {row[0] for row in rows}
    keys = [
        key
        for key in store.db.execute(
            "SELECT id, channel, account, external_id FROM outbox WHERE kind = 'sql' "
            "AND sent_at IS NULL ORDER BY id"
        )
        if key[0] in ids
    ]
    return sqlexport.send(config, store, keys, report)


def _webhook(config: Config, rows: list[Any], budget: Budget, report: RunReport) -> list[int]:
    hook = config.exports.webhook
    assert hook is not None
    headers = {"Content-Type": "application/json"}
    if hook.token is not None:
        token: SecretStr = hook.token
        headers["Authorization"] = f"Bearer {token.get_secret_value()}"
    api, done = Api("webhook", hook.url, headers, budget=budget), []
    try:
        for row_id, key, payload in rows:
            if stopping.requested():  # the rest keeps its outbox rows for the next run
                break
            try:
                api.request(
                    "POST", hook.url, content=payload.encode(), headers={"Idempotency-Key": key}
                )
                faults.point("export.after_send")
            except ChannelError as exc:
                report.add(
                    Problem(
                        code="export_failed",
                        channel="webhook",
                        field=key,
                        message=f"{exc}; sent again with the same key next run",
                    )
                )
                break  # keep the order: later versions wait for this one
            done.append(row_id)
    finally:
        api.close()
    return done


def mark_sent(store: Store, ids: list[int]) -> None:
    now = datetime.now(UTC).isoformat(timespec="seconds")
    with store.transaction() as db:
        db.executemany(
            "UPDATE outbox SET sent_at = ?, attempts = attempts + 1 WHERE id = ?",
            [(now, row_id) for row_id in ids],
        )


def ndjson(orders: list[dict[str, Any]]) -> bytes:
    lines = (json.dumps(order, ensure_ascii=False, sort_keys=True) for order in orders)
    return "".join(f"{line}\n" for line in lines).encode("utf-8")


def commerceml(
    orders: list[dict[str, Any]],
    currency: str,
    ids: Mapping[str, str] = EMPTY,
    encoding: str = "utf-8",
    timezone: str = "UTC",
) -> bytes:
    """CommerceML 2 ``orders.xml`` (channels.md §6.4): one ``Документ`` per order, its ``Сумма``
    the sum of its lines' ``Сумма``; a line's ``Ид`` is the 1C Ид ``ids`` has for its SKU."""
    root = etree.Element(
        "КоммерческаяИнформация",
        ВерсияСхемы="2.05",
        ДатаФормирования=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
    )
    for order in orders:
        _document(etree.SubElement(root, "Документ"), order, currency, ids, ZoneInfo(timezone))
    body = etree.tostring(root, xml_declaration=True, encoding=encoding, pretty_print=True)
    assert isinstance(body, bytes)  # an encoding was given
    return body


def _document(
    doc: Any, order: dict[str, Any], currency: str, ids: Mapping[str, str], zone: ZoneInfo
) -> None:
    created = datetime.fromisoformat(order["created_at"]).astimezone(zone)
    lines = [(line, Decimal(line["unit_price"]) * line["quantity"]) for line in order["lines"]]
    for tag, text in (
        ("Ид", f"{order['channel']}-{order['external_id']}"),
        ("Номер", order["code"]),
        ("Дата", created.strftime("%Y-%m-%d")),
        ("Время", created.strftime("%H:%M:%S")),
        ("ХозОперация", "Заказ товара"),
        ("Роль", "Продавец"),
        ("Валюта", currency),
        ("Курс", "1"),
        ("Сумма", _money(sum((s for _, s in lines), Decimal(0)))),
    ):
        _leaf(doc, tag, text)
    _buyer(etree.SubElement(etree.SubElement(doc, "Контрагенты"), "Контрагент"), order)
    goods = etree.SubElement(doc, "Товары")
    for line, total in lines:
        item = etree.SubElement(goods, "Товар")
        for tag, text in (
            ("Ид", ids.get(line["sku"] or "") or line["sku"] or line["channel_sku"]),
            ("Артикул", line["sku"] or line["channel_sku"]),
            ("Наименование", line["sku"] or line["channel_sku"]),
            ("ЦенаЗаЕдиницу", _money(Decimal(line["unit_price"]))),
            ("Количество", str(line["quantity"])),
            ("Сумма", _money(total)),
        ):
            _leaf(item, tag, text)
    props = etree.SubElement(doc, "ЗначенияРеквизитов")
    for name, value in (
        ("Статус заказа", STATUS_1C.get(order["status"], order["status"])),
        ("Канал продаж", order["channel"]),
    ):
        prop = etree.SubElement(props, "ЗначениеРеквизита")
        _leaf(prop, "Наименование", name)
        _leaf(prop, "Значение", value)


def _buyer(buyer: Any, order: dict[str, Any]) -> None:
    """The buyer as 1C's Контрагент (Роль Покупатель, checklist §6.5): marketplaces give a
    name at most, so the Ид is per order and 1C may merge buyers by name."""
    name = str(order["customer"].get("name") or "").strip() or f"Покупатель {order['channel']}"
    for tag, text in (
        ("Ид", f"{order['channel']}-{order['external_id']}-buyer"),
        ("Наименование", name),
        ("Роль", "Покупатель"),
        ("ПолноеНаименование", name),
    ):
        _leaf(buyer, tag, text)


def _leaf(parent: Any, tag: str, text: str) -> None:
    """A channel's text (a buyer's name, an order code) may hold characters XML forbids: one
    such character must not stop every order from reaching 1C."""
    etree.SubElement(parent, tag).text = xml_safe(str(text))


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))
