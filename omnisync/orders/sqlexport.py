"""Orders back into the ERP's database (``exports: {sql: …}``): two tables omnisync owns in it,
created when missing, one row per order and one per order line.

Relayed from the outbox like every export (reliability.md → outbox): each unsent row names an
order; the order is written as the store holds it now, in one transaction per order, and only
then marked sent. Writing an order again changes nothing (its row is updated in place, its
lines replaced), so a crash between the write and the mark is harmless. The order's row is
updated, never deleted and re-inserted: columns the ERP adds to the table (a "processed" flag)
keep their values.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Engine, exc, text

from omnisync.config import Config, SqlExport
from omnisync.errors import ConfigError
from omnisync.models import Problem
from omnisync.report import RunReport
from omnisync.sources.sql import engine_for, reason
from omnisync.store import Store
from omnisync.store.order_views import stored_order

ORDER_COLUMNS = (
    "order_key", "channel", "account", "external_id", "code", "status", "channel_status",
    "created_at", "updated_at", "delivery_mode", "location", "pickup", "total", "customer",
)  # fmt: skip
LINE_COLUMNS = ("order_key", "line", "sku", "channel_sku", "quantity", "unit_price")


def schema(export: SqlExport) -> list[str]:
    """The two tables (portable SQL: SQLite and PostgreSQL alike). Text columns are TEXT: a
    marketplace's delivery option or status name has no length limit we could rely on."""
    return [
        f"CREATE TABLE IF NOT EXISTS {export.orders_table} (order_key VARCHAR(300) PRIMARY KEY, "
        "channel TEXT, account TEXT, external_id TEXT, code TEXT, status TEXT, "
        "channel_status TEXT, created_at TEXT, updated_at TEXT, delivery_mode TEXT, "
        "location TEXT, pickup BOOLEAN, total NUMERIC(14, 2), customer TEXT)",
        f"CREATE TABLE IF NOT EXISTS {export.lines_table} (order_key VARCHAR(300), line INTEGER, "
        "sku TEXT, channel_sku TEXT, quantity INTEGER, unit_price NUMERIC(14, 2), "
        "PRIMARY KEY (order_key, line))",
    ]


def send(config: Config, store: Store, rows: Sequence[Any], report: RunReport) -> list[int]:
    """Write the orders the outbox ``rows`` (id, channel, account, external id) name; the ids
    of those committed. An order the database refuses (a value it cannot hold) is reported and
    stays unsent, and the others go on; a database that is down or refuses every write stops
    the relay there — the rest is written next run."""
    export = config.exports.sql
    assert export is not None
    engine, written = _engine(config, export), []
    try:
        with engine.begin() as db:
            for statement in schema(export):
                db.execute(text(statement))
        versions: dict[tuple[str, str, str], list[int]] = {}
        for row_id, *key in rows:  # an order's versions: written once, as it is now
            versions.setdefault((key[0], key[1], key[2]), []).append(row_id)
        for key, ids in versions.items():
            if _sent(engine, export, store.db, key, report):
                written.extend(ids)
    except exc.DBAPIError as err:
        report.add(_failed("", f"{reason(err)}; written again next run"))
    finally:
        engine.dispose()
    return written


def _sent(
    engine: Engine, export: SqlExport, db: Any, key: tuple[str, str, str], report: RunReport
) -> bool:
    order = stored_order(db, key)
    if order is None:
        return True  # nothing left to write
    try:
        with engine.begin() as target:
            _write(target, export, order)
    except (exc.DataError, exc.IntegrityError) as err:  # this order only
        report.add(_failed(":".join(key), f"{reason(err)}; tried again next run"))
        return False
    return True


def _failed(order: str, message: str) -> Problem:
    return Problem(code="export_failed", channel="sql", field="exports.sql",
                   sku=None, message=f"{order + ': ' if order else ''}{message}")  # fmt: skip


def _engine(config: Config, export: SqlExport) -> Engine:
    url, password = export.url, export.password
    if url is None:  # the catalogue's database
        url, password = (
            getattr(config.catalog, "url", None),
            getattr(config.catalog, "password", None),
        )
    if url is None:
        raise ConfigError(str(config.path), [("exports.sql.url", "set the database to write to")])
    return engine_for(url, password, config.path)


def _write(db: Connection, export: SqlExport, order: dict[str, Any]) -> None:
    key = f"{order['channel']}:{order['account']}:{order['external_id']}"
    # Numbers travel as text: SQLite's driver takes no Decimal, and PostgreSQL casts it exactly.
    values = {**{c: order.get(c) for c in ORDER_COLUMNS[1:]}, "order_key": key}
    values["customer"] = json.dumps(order["customer"], ensure_ascii=False, sort_keys=True)
    assignments = ", ".join(f"{c} = :{c}" for c in ORDER_COLUMNS[1:])
    update = f"UPDATE {export.orders_table} SET {assignments} WHERE order_key = :order_key"
    if db.execute(text(update), values).rowcount == 0:
        db.execute(insert(export.orders_table, ORDER_COLUMNS), values)
    db.execute(text(f"DELETE FROM {export.lines_table} WHERE order_key = :k"), {"k": key})
    lines = [
        {"order_key": key, "line": n, "sku": line["sku"], "channel_sku": line["channel_sku"],
         "quantity": line["quantity"], "unit_price": line["unit_price"]}
        for n, line in enumerate(order["lines"], 1)
    ]  # fmt: skip
    if lines:
        db.execute(insert(export.lines_table, LINE_COLUMNS), lines)


def insert(table: str, columns: Sequence[str]) -> Any:
    """``INSERT INTO table (a, b) VALUES (:a, :b)`` (``table`` is a checked identifier)."""
    names, marks = ", ".join(columns), ", ".join(f":{c}" for c in columns)
    return text(f"INSERT INTO {table} ({names}) VALUES ({marks})")
