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

from omnisync.orders.sqlexport import insert
from omnisync.sources.sql import engine_url
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
    + ", ".join(f"{c} NUMERIC(12, 2)" if c in MONEY else f"{c} TEXT" for c in GOODS)
    + ")",
    "CREATE TABLE shops (code VARCHAR(16) PRIMARY KEY, title TEXT, kind VARCHAR(16), city TEXT, "
    "address TEXT, pickup BOOLEAN)",
    "CREATE TABLE stock (goods_id INTEGER, shop VARCHAR(16), qty INTEGER)",
    "CREATE TABLE city_prices (goods_id INTEGER, kaspi_city VARCHAR(16), price NUMERIC(12, 2))",
    "CREATE TABLE ratings (goods_id INTEGER, stars NUMERIC(3, 1), votes INTEGER)",
]


SIDES = [  # table, file, ERP column → (CSV column, value)
    ("stock", "stock.csv", {"shop": ("location", str), "qty": ("quantity", int)}),
    ("city_prices", "city_prices.csv", {"kaspi_city": ("city_id", str), "price": ("price", str)}),
    ("ratings", "reviews.csv", {"stars": ("rating", str), "votes": ("count", int)}),
]


def _shop(row: dict[str, str]) -> dict[str, Any]:
    return {
        "code": row["code"],
        "title": row["name"],
        "kind": row["type"],
        "city": row["city"],
        "address": row["address"],
        "pickup": row["pickup"] == "yes",
    }


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
    engine = create_engine(engine_url(url, Path.cwd() / "x"))
    with engine.begin() as db:
        for table in ("goods", "shops", "stock", "city_prices", "ratings"):
            db.execute(text(f"DROP TABLE IF EXISTS {table}"))
        for statement in SCHEMA:
            db.execute(text(statement))
        ids = _goods(db)
        _insert(db, "shops", [_shop(r) for r in rows("locations.csv")])
        for table, file, columns in SIDES:
            records = [
                {
                    "goods_id": ids[r["sku"]],
                    **{c: convert(r[k]) for c, (k, convert) in columns.items()},
                }
                for r in rows(file)
            ]
            _insert(db, table, records)
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
    db.execute(insert(table, list(records[0])), records)


if __name__ == "__main__":
    fill(sys.argv[1])
