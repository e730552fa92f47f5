"""Orders back where the ERP keeps them (``exports: {sql: …}``): two tables in its database,
written from the outbox — once per order version, updated in place, resent after a failure.
Against a real PostgreSQL server (tests/pgserver.py)."""

from __future__ import annotations

import itertools
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import DEMO_CONFIG
from sqlalchemy import create_engine, text

from omnisync import pipeline
from omnisync.config import load_config
from omnisync.errors import ConfigError
from omnisync.http import Budget
from omnisync.orders import exports, pull
from omnisync.report import RunReport
from omnisync.sandbox.server import Sandbox
from omnisync.sources.sql import engine_url
from omnisync.store import open_store

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
SINCE = NOW - timedelta(days=40)
_TABLES = itertools.count()


def setup(root: Path, sandbox: Sandbox, url: str) -> tuple[Path, str]:
    """The demo against the sandbox, its orders exported into fresh tables at ``url``."""
    shutil.copytree(DEMO_CONFIG.parent / "demo", root / "demo")
    text_ = DEMO_CONFIG.read_text(encoding="utf-8").replace("http://127.0.0.1:8765", sandbox.url)
    data: dict[str, Any] = yaml.safe_load(text_)
    table = f"erp_orders_{next(_TABLES)}"
    data.update(output_dir="out", state="state.db", exports={
        "sql": {"url": url, "orders_table": table, "lines_table": f"{table}_lines"}})  # fmt: skip
    for channel in ("kaspi", "satu", "ozon"):
        data["channels"][channel]["requests_per_minute"] = 6000
    path = root / "omnisync.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    pipeline.import_catalog(load_config(path))
    return path, table


def query(url: str, sql: str) -> list[Any]:
    engine = create_engine(engine_url(url, DEMO_CONFIG))
    try:
        with engine.begin() as db:
            result = db.execute(text(sql))
            return list(result) if result.returns_rows else []
    finally:
        engine.dispose()


def test_every_order_lands_once_with_its_lines(
    tmp_path: Path, sandbox: Sandbox, postgres_url: str
) -> None:
    path, table = setup(tmp_path, sandbox, postgres_url)
    report = pull.pull(load_config(path), since=SINCE, now=NOW)
    assert not [p for p in report.run.problems if p.code == "export_failed"]
    orders = query(postgres_url, f"SELECT order_key, status, total FROM {table}")
    assert len(orders) == 26 == len({key for key, _, _ in orders})
    store = open_store(tmp_path / "state.db")
    try:
        stored_lines = store.db.execute("SELECT count(*) FROM order_lines").fetchone()[0]
        unsent = store.db.execute(
            "SELECT count(*) FROM outbox WHERE kind = 'sql' AND sent_at IS NULL"
        ).fetchone()[0]
    finally:
        store.close()
    assert query(postgres_url, f"SELECT count(*) FROM {table}_lines")[0][0] == stored_lines
    assert unsent == 0
    # The totals are the sum of their lines, as numbers in the database.
    mismatched = query(postgres_url, (
        f"SELECT o.order_key FROM {table} o JOIN {table}_lines l USING (order_key) "
        "GROUP BY o.order_key, o.total HAVING o.total <> sum(l.quantity * l.unit_price)"
    ))  # fmt: skip
    assert mismatched == []
    pull.pull(load_config(path), since=SINCE, now=NOW)  # nothing new: nothing duplicated
    assert query(postgres_url, f"SELECT count(*) FROM {table}")[0][0] == 26


def test_an_order_written_again_keeps_the_columns_the_erp_added(
    tmp_path: Path, sandbox: Sandbox, postgres_url: str
) -> None:
    path, table = setup(tmp_path, sandbox, postgres_url)
    pull.pull(load_config(path), ["satu"], since=SINCE, now=NOW)
    query(postgres_url, f"ALTER TABLE {table} ADD COLUMN processed BOOLEAN DEFAULT false")
    query(postgres_url, f"UPDATE {table} SET processed = true")
    store = open_store(tmp_path / "state.db")
    try:
        with store.transaction() as db:
            db.execute("UPDATE orders SET status = 'cancelled'")
            db.execute("UPDATE outbox SET sent_at = NULL WHERE kind = 'sql'")
        sent = exports.relay(load_config(path), store, Budget(), RunReport())
    finally:
        store.close()
    assert sent["sql"] > 0
    rows = query(postgres_url, f"SELECT DISTINCT status, processed FROM {table}")
    assert rows == [("cancelled", True)]


def test_a_database_that_is_down_is_reported_and_written_next_run(
    tmp_path: Path, sandbox: Sandbox, postgres_url: str
) -> None:
    path, table = setup(tmp_path, sandbox, postgres_url)
    down = load_config(path)
    sql = down.exports.sql.model_copy(update={"url": "postgresql://x@/erp?host=/nonexistent"})  # type: ignore[union-attr]
    down = down.model_copy(update={"exports": down.exports.model_copy(update={"sql": sql})})
    failed = pull.pull(down, ["satu"], since=SINCE, now=NOW)
    assert [p.code for p in failed.run.problems if p.code == "export_failed"] == ["export_failed"]
    assert failed.exit_code == 3
    store = open_store(tmp_path / "state.db")
    try:
        unsent = store.db.execute(
            "SELECT count(*) FROM outbox WHERE kind = 'sql' AND sent_at IS NULL"
        ).fetchone()[0]
        assert unsent > 0
        sent = exports.relay(load_config(path), store, Budget(), RunReport())
    finally:
        store.close()
    assert sent["sql"] == unsent
    assert query(postgres_url, f"SELECT count(*) FROM {table}")[0][0] == 6


def test_a_sql_export_needs_a_database(tmp_path: Path) -> None:
    (tmp_path / "p.csv").write_text("sku,title,price,url,image_url\n", encoding="utf-8")
    config = tmp_path / "omnisync.yaml"
    config.write_text(
        "catalog: {products: p.csv}\nexports: {sql: {orders_table: orders}}\n"
        "channels: {google: {type: google_merchant}}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"exports\.sql\.url"):
        load_config(config)


def test_an_order_the_database_refuses_does_not_hold_up_the_others(
    tmp_path: Path, sandbox: Sandbox, postgres_url: str
) -> None:
    """A value the ERP's column cannot hold (here a quantity past INTEGER) fails that order,
    reported with its key; every other order is written, and it is tried again next run."""
    path, table = setup(tmp_path, sandbox, postgres_url)
    pull.pull(load_config(path), ["satu"], since=SINCE, now=NOW)
    query(postgres_url, f"DELETE FROM {table}")
    store = open_store(tmp_path / "state.db")
    try:
        with store.transaction() as db:
            key = db.execute("SELECT channel, account, external_id FROM orders LIMIT 1").fetchone()
            db.execute("UPDATE order_lines SET quantity = 10000000000 WHERE external_id = ?",
                       (key[2],))  # fmt: skip
            db.execute("UPDATE outbox SET sent_at = NULL WHERE kind = 'sql'")
        report = RunReport()
        exports.relay(load_config(path), store, Budget(), report)
        unsent = store.db.execute(
            "SELECT DISTINCT external_id FROM outbox WHERE kind = 'sql' AND sent_at IS NULL"
        ).fetchall()
    finally:
        store.close()
    [failed] = [p for p in report.problems if p.code == "export_failed"]
    assert failed.message.startswith(":".join(key) + ": ")
    assert query(postgres_url, f"SELECT count(*) FROM {table}")[0][0] == 5
    assert unsent == [(key[2],)]


def test_orders_are_stored_while_the_catalogue_database_is_down(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    """An order not stored reserves nothing: the next push would sell its units again. So a
    pull goes on without the catalogue, taking each line's SKU as it is, and says so."""
    path, _ = setup(tmp_path, sandbox, "sqlite:///unused.db")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["catalog"] = {"source": "sql", "url": "postgresql://erp@/erp?host=/nonexistent",
                       "products_query": "SELECT 1", "locations": "demo/locations.csv"}  # fmt: skip
    del data["exports"]
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    report = pull.pull(load_config(path), ["satu"], since=SINCE, now=NOW)
    [warning] = [p for p in report.run.problems if p.code == "catalogue_unavailable"]
    assert "cannot connect" in warning.message and warning.severity == "warning"
    assert not [p for p in report.run.problems if p.code == "unknown_sku"]
    store = open_store(tmp_path / "state.db")
    try:
        assert store.db.execute("SELECT count(*) FROM orders").fetchone()[0] == 6
        assert store.db.execute("SELECT count(*) FROM reservations").fetchone()[0] > 0
    finally:
        store.close()
