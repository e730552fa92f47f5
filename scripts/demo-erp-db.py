"""Fill a database with the demo catalogue as an ERP keeps it (its own table and column
names, numbers as numbers, stock by shop), for configs/demo-sql.yaml:

    python scripts/demo-erp-db.py sqlite:///feeds/erp.db
    python scripts/demo-erp-db.py postgresql://user@host/erp

The tables are dropped and made again. tests/test_sql_source.py fills PostgreSQL with it."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine, text

from omnisync.sources.sql import database_url
from omnisync.sources.values import RowError, parse_money

DEMO = Path(__file__).resolve().parent.parent / "configs" / "demo"
GOODS = {  # ERP column → products.csv column
    "article": "sku", "name": "title", "description": "description", "brand": "brand",
    "barcode": "gtin", "vendor_code": "mpn", "price": "price", "promo_price": "sale_price",
    "currency": "currency", "page_url": "url", "image": "image_url",
    "extra_images": "additional_image_urls", "category_path": "category",
    "google_category": "google_category", "condition": "condition", "model": "item_group_id",
    "color": "color", "size": "size", "material": "material",
}  # fmt: skip
MONEY = ("price", "promo_price")
SCHEMA = [
    "CREATE TABLE goods (id INTEGER PRIMARY KEY, "
    + ", ".join(f"{c} NUMERIC(12, 2)" if c in MONEY else f"{c} TEXT" for c in GOODS) + ")",
    "CREATE TABLE shops (code VARCHAR(16) PRIMARY KEY, title TEXT, kind VARCHAR(16), city TEXT, "
    "address TEXT, pickup BOOLEAN)",
    "CREATE TABLE stock (goods_id INTEGER, shop VARCHAR(16), qty INTEGER)",
    "CREATE TABLE city_prices (goods_id INTEGER, kaspi_city VARCHAR(16), price NUMERIC(12, 2))",
    "CREATE TABLE ratings (goods_id INTEGER, stars NUMERIC(3, 1), votes INTEGER)",
]


def rows(name: str) -> list[dict[str, str]]:
    with (DEMO / name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def money(raw: str) -> str | None:
    """A price an ERP could hold: a number (text for the driver) or none."""
    try:
        return str(parse_money(raw, "price")) if raw else None
    except RowError:
        return None  # "договорная": the ERP's price field would be empty


def fill(url: str) -> None:
    engine = create_engine(database_url(url, Path.cwd() / "x"))
    with engine.begin() as db:
        for table in ("goods", "shops", "stock", "city_prices", "ratings"):
            db.execute(text(f"DROP TABLE IF EXISTS {table}"))
        for statement in SCHEMA:
            db.execute(text(statement))
        ids = _goods(db)
        _insert(db, "shops", [
            {"code": r["code"], "title": r["name"], "kind": r["type"], "city": r["city"],
             "address": r["address"], "pickup": r["pickup"] == "yes"} for r in rows("locations.csv")
        ])  # fmt: skip
        _insert(db, "stock", [{"goods_id": ids[r["sku"]], "shop": r["location"],
                               "qty": int(r["quantity"])} for r in rows("stock.csv")])  # fmt: skip
        _insert(db, "city_prices", [{"goods_id": ids[r["sku"]], "kaspi_city": r["city_id"],
                                     "price": money(r["price"])} for r in rows("city_prices.csv")])  # fmt: skip
        _insert(db, "ratings", [{"goods_id": ids[r["sku"]], "stars": r["rating"],
                                 "votes": int(r["count"])} for r in rows("reviews.csv")])  # fmt: skip
    engine.dispose()


def _goods(db: Connection) -> dict[str, int]:
    """Every products.csv row, in its order (the ERP's ids): the first id of a SKU wins."""
    ids: dict[str, int] = {}
    records = []
    for number, row in enumerate(rows("products.csv"), 1):
        record: dict[str, Any] = {"id": number, **{c: row[k] or None for c, k in GOODS.items()}}
        for column in MONEY:
            record[column] = money(row[GOODS[column]])
        records.append(record)
        ids.setdefault(row["sku"].strip(), number)
    _insert(db, "goods", records)
    return ids


def _insert(db: Connection, table: str, records: list[dict[str, Any]]) -> None:
    columns = list(records[0])
    db.execute(
        text(f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
             f"({', '.join(':' + c for c in columns)})"),  # fmt: skip
        records,
    )


if __name__ == "__main__":
    fill(sys.argv[1])
