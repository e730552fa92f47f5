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

from sqlalchemy import Connection, Engine, text

from omnisync.config import Config, SqlExport
from omnisync.errors import ConfigError
from omnisync.sources.sql import engine_for
from omnisync.store import Store
from omnisync.store.order_views import stored_order

ORDER_COLUMNS = (
    "order_key", "channel", "account", "external_id", "code", "status", "channel_status",
    "created_at", "updated_at", "delivery_mode", "location", "pickup", "total", "customer",
)  # fmt: skip
LINE_COLUMNS = ("order_key", "line", "sku", "channel_sku", "quantity", "unit_price")


def schema(export: SqlExport) -> list[str]:
    """The two tables (portable SQL: SQLite and PostgreSQL alike)."""
    return [
        f"CREATE TABLE IF NOT EXISTS {export.orders_table} (order_key VARCHAR(300) PRIMARY KEY, "
        "channel VARCHAR(64), account VARCHAR(64), external_id VARCHAR(128), code VARCHAR(128), "
        "status VARCHAR(32), channel_status VARCHAR(64), created_at VARCHAR(32), "
        "updated_at VARCHAR(32), delivery_mode VARCHAR(32), location VARCHAR(64), "
        "pickup BOOLEAN, total NUMERIC(14, 2), customer TEXT)",
        f"CREATE TABLE IF NOT EXISTS {export.lines_table} (order_key VARCHAR(300), line INTEGER, "
        "sku VARCHAR(128), channel_sku VARCHAR(128), quantity INTEGER, "
        "unit_price NUMERIC(14, 2), PRIMARY KEY (order_key, line))",
    ]


def send(config: Config, store: Store, rows: Sequence[Any], written: list[int]) -> None:
    """Write the orders the outbox ``rows`` (id, channel, account, external id) name, each
    appended to ``written`` once committed. A database error (DBAPIError) stops there: the
    rest stays unsent for the next run."""
    export = config.exports.sql
    assert export is not None
    engine = _engine(config, export)
    try:
        with engine.begin() as db:
            for statement in schema(export):
                db.execute(text(statement))
        for row_id, channel, account, external_id in rows:
            order = stored_order(store.db, (channel, account, external_id))
            if order is not None:
                with engine.begin() as db:
                    _write(db, export, order)
            written.append(row_id)
    finally:
        engine.dispose()


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
