"""``catalog: {source: sql}``: the catalogue read with the user's queries from a real database —
PostgreSQL (a throwaway server from Debian's package, tests/pgserver.py) and SQLite."""

from __future__ import annotations

import importlib.util
import threading
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import DEMO_CONFIG
from golden import assert_demo_feeds
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from omnisync import pipeline
from omnisync.catalogs import SqlCatalog
from omnisync.cli import app
from omnisync.config import Config, load_config
from omnisync.errors import ConfigError, SourceUnavailable
from omnisync.models import Problem
from omnisync.sources import sidefiles
from omnisync.sources.sql import SqlSource, cell, engine_url
from omnisync.store.reservations import load_reserved

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
DEMO_SQL = DEMO_CONFIG.parent / "demo-sql.yaml"


def _erp_db() -> Any:
    spec = importlib.util.spec_from_file_location(
        "erp", DEMO_CONFIG.parent.parent / "scripts" / "demo-erp-db.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def demo_config(url: str, out: Path, **catalog: Any) -> Config:
    config = load_config(DEMO_SQL)
    settings = config.catalog.model_copy(update={"url": url, **catalog})
    return config.model_copy(update={"catalog": settings, "output_dir": out, "state": out / "s.db"})


@pytest.fixture(scope="module")
def erp(postgres_url: str) -> str:
    """The demo catalogue in PostgreSQL, as an ERP keeps it."""
    _erp_db().fill(postgres_url)
    return postgres_url


def test_the_demo_runs_from_postgresql_with_the_same_feeds_as_from_csv(
    erp: str, tmp_path: Path
) -> None:
    report = pipeline.build(demo_config(erp, tmp_path), now=NOW)
    assert_demo_feeds(report, tmp_path)
    assert {p.code for p in report.problems if p.file == "products_query"} >= {"duplicate_sku"}


def test_the_demo_runs_from_sqlite_with_the_same_feeds(tmp_path: Path) -> None:
    _erp_db().fill(f"sqlite:///{tmp_path / 'erp.db'}")
    report = pipeline.build(demo_config(f"sqlite:///{tmp_path / 'erp.db'}", tmp_path), now=NOW)
    assert_demo_feeds(report, tmp_path)


def test_rows_stream_from_a_server_side_cursor(erp: str) -> None:
    """While the first product is in hand, PostgreSQL is serving the query in FETCH batches
    from a declared cursor: the client never asked for the whole result."""
    query = "SELECT 'SKU-' || n AS sku, 'T' AS title, n AS price, 'https://x.kz/' || n AS url, " \
            "'https://x.kz/i.jpg' AS image_url FROM generate_series(1, 50000) AS n"  # fmt: skip
    settings = SqlCatalog(source="sql", url=erp, products_query=query)
    products = SqlSource(settings, DEMO_SQL).read(lambda p: None)
    first = next(products)
    engine = create_engine(engine_url(erp, DEMO_SQL))
    with engine.connect() as other:
        running = other.execute(text(
            "SELECT query FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND query <> ''"
        )).scalars().all()  # fmt: skip
    engine.dispose()
    assert first.sku == "SKU-1"
    assert any(q.startswith("FETCH FORWARD") for q in running), running
    assert sum(1 for _ in products) == 49_999
    products.close()


def test_a_side_query_in_another_order_is_indexed_with_a_warning(
    erp: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Disorder the read-ahead window covers is merged; beyond it the run is redone indexed."""
    monkeypatch.setattr(sidefiles, "WINDOW", 2)
    stock = "SELECT g.article AS sku, s.shop AS location, s.qty AS quantity " \
            "FROM stock s JOIN goods g ON g.id = s.goods_id ORDER BY g.id DESC"  # fmt: skip
    report = pipeline.build(demo_config(erp, tmp_path, stock_query=stock), now=NOW)
    assert [p.file for p in report.problems if p.code == "side_file_order"] == ["stock_query"]
    assert_demo_feeds(report, tmp_path)


def test_a_missing_column_names_the_query_and_says_to_alias(erp: str) -> None:
    settings = SqlCatalog(source="sql", url=erp, products_query="SELECT article AS sku FROM goods")
    with pytest.raises(ConfigError, match=r"catalog\.products_query: .*title.*AS"):
        list(SqlSource(settings, DEMO_SQL).read(lambda p: None))


def test_a_query_the_database_refuses_is_a_config_error(erp: str) -> None:
    settings = SqlCatalog(source="sql", url=erp, products_query="SELECT * FROM no_such_table")
    with pytest.raises(ConfigError, match=r"catalog\.products_query: .*no_such_table"):
        list(SqlSource(settings, DEMO_SQL).read(lambda p: None))


def test_an_unreachable_database_exits_3_and_never_shows_its_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ERP_PASSWORD", "s3cret-pass-9f2")
    config = tmp_path / "omnisync.yaml"
    config.write_text(
        "catalog:\n  source: sql\n  url: postgresql://erp@/erp?host=/nonexistent&port=5999\n"
        "  password: env:ERP_PASSWORD\n  products_query: SELECT 1\n"
        "channels:\n  google: {type: google_merchant, currency: KZT}\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["build", "--config", str(config)])
    assert result.exit_code == 3, result.output
    assert "products_query: cannot connect" in result.output
    assert "s3cret-pass-9f2" not in result.output
    assert not (tmp_path / "out" / "google.xml").exists()


def test_a_connection_lost_mid_read_publishes_nothing(erp: str, tmp_path: Path) -> None:
    (tmp_path / "google.xml").write_bytes(b"the feed of the last good run")
    query = "SELECT 'S' || n AS sku, 'T' AS title, 1 AS price, 'https://x.kz/p' AS url, " \
            "'https://x.kz/i.jpg' AS image_url, pg_sleep(CASE WHEN n = 3000 THEN 30 ELSE 0 END) " \
            "AS pause FROM generate_series(1, 5000) AS n"  # fmt: skip
    config = demo_config(erp, tmp_path, products_query=query, stock_query=None,
                         city_prices_query=None, reviews_query=None)  # fmt: skip
    config = config.model_copy(update={"channels": {"google": config.channels["google"]}})
    killer = threading.Timer(2.0, _terminate_sleepers, args=(erp,))
    killer.start()
    try:
        with pytest.raises(SourceUnavailable, match="broke off"):
            pipeline.build(config, now=NOW)
    finally:
        killer.cancel()
    assert (tmp_path / "google.xml").read_bytes() == b"the feed of the last good run"


def _terminate_sleepers(url: str) -> None:
    engine = create_engine(engine_url(url, DEMO_SQL))
    with engine.connect() as db:
        db.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE query LIKE 'FETCH%' AND pid <> pg_backend_pid()"))  # fmt: skip
    engine.dispose()


@pytest.mark.parametrize(
    ("value", "text_"),
    [(None, ""), (Decimal("14990.00"), "14990"), (Decimal("15990.50000000"), "15990.5"),
     (Decimal("1E+3"), "1000"), (True, "true"),
     (12, "12"), (15990.5, "15990.5"), (date(2026, 5, 1), "2026-05-01"), (b"\xd0\x90", "А")],
)  # fmt: skip
def test_database_values_become_the_text_a_csv_cell_would_hold(value: object, text_: str) -> None:
    assert cell(value) == text_


def test_problems_name_the_query_and_row(erp: str) -> None:
    problems: list[Problem] = []
    settings = SqlCatalog(
        source="sql", url=erp,
        products_query="SELECT article AS sku, name AS title, price, page_url AS url, "
                       "image AS image_url FROM goods ORDER BY id",
    )  # fmt: skip
    products = list(SqlSource(settings, DEMO_SQL).read(problems.append))
    missing = next(p for p in problems if p.code == "missing_value")
    assert (missing.file, missing.line, missing.sku) == ("products_query", 6, "BAD-PRICE-TEXT")
    assert len(products) == 64 and products[0].price == Decimal("39990.00")


def test_an_order_delivered_before_the_read_no_longer_reserves_stock(tmp_path: Path) -> None:
    """The database's stock is as of the read: a sale delivered before it is in it already,
    while an open order still holds its units (with no snapshot time, a delivered order would
    hold them forever and the channels would show less and less)."""
    from test_reservations import order, take

    state = tmp_path / "state.db"
    take(state, order("1", "delivered", 2), order("2", "new", 1))
    _erp_db().fill(f"sqlite:///{tmp_path / 'erp.db'}")
    url = f"sqlite:///{tmp_path / 'erp.db'}"
    settings = SqlCatalog(source="sql", url=url, products_query="SELECT 1")
    assert load_reserved(state, SqlSource(settings, DEMO_SQL).snapshot_time()) == {"A": {"WH-1": 1}}
    assert load_reserved(state, None) == {"A": {"WH-1": 3}}


def test_a_sqlite_query_mistake_is_a_config_error_not_an_outage(tmp_path: Path) -> None:
    """SQLite says OperationalError for a typo too: it is the configuration's (exit 2)."""
    url = f"sqlite:///{tmp_path / 'erp.db'}"
    _erp_db().fill(url)
    for query in ("SELEC 1", "SELECT * FROM no_such", "SELECT nope FROM goods"):
        settings = SqlCatalog(source="sql", url=url, products_query=query)
        with pytest.raises(ConfigError, match=r"catalog\.products_query"):
            list(SqlSource(settings, DEMO_SQL).read(lambda p: None))


def test_a_missing_sqlite_file_is_named_and_never_made(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'typo.db'}"
    settings = SqlCatalog(source="sql", url=url, products_query="SELECT 1")
    with pytest.raises(ConfigError, match=r"catalog\.url: no database file .*typo\.db"):
        SqlSource(settings, DEMO_SQL)
    assert not (tmp_path / "typo.db").exists()


@pytest.mark.parametrize(
    ("url", "message"),
    [("mysql://erp@db/erp", "postgresql://"), ("postgresql://erp@db:po/erp", "postgresql://"),
     ("nonsense", "postgresql://"), ("postgresql://erp:hunter2@db/erp", "password: env:NAME")],
)  # fmt: skip
def test_a_engine_url_omnisync_cannot_open_is_refused_on_load(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SqlCatalog(source="sql", url=url, products_query="SELECT 1")
    from omnisync.config import SqlExport

    with pytest.raises(ValueError, match=message):
        SqlExport(url=url)
