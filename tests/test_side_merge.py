"""Side files merged as the products stream (bounded memory) give exactly what indexing them
gives; a side file in another order is detected and the run is redone indexed, with a warning."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from conftest import Workspace, csv_text, good_row
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omnisync.config import load_config
from omnisync.engine import run as engine_run
from omnisync.models import Problem, Product
from omnisync.pipeline import build, validate
from omnisync.sources import sidefiles
from omnisync.sources.csvfile import CsvSource
from omnisync.sources.sidefiles import SideFilesUnordered

LOCATIONS = "code,name,type,city,address,pickup\nWH-1,W,warehouse,A,x,no\nST-1,S,store,A,y,no\n"


def read(folder: Path, merge: bool) -> tuple[list[tuple[object, ...]], Counter[str]]:
    """What each product got from the side files, and the problems as comparable strings."""
    problems: list[Problem] = []
    source = CsvSource(
        folder / "products.csv",
        stock=folder / "stock.csv",
        city_prices=folder / "city_prices.csv",
        reviews=folder / "reviews.csv",
        locations=folder / "locations.csv",
        merge_sides=merge,
    )
    source.locations(problems.append)
    products: list[Product] = list(source.read(problems.append))
    seen = [(p.sku, dict(p.stock or {}), dict(p.city_prices or {}), p.rating, p.review_count)
            for p in products]  # fmt: skip
    return seen, Counter(f"{p.code} {p.sku} {p.file} {p.line} {p.message}" for p in problems)


def write_files(
    folder: Path,
    products: list[tuple[str, str]],
    stock: list[str],
    cities: list[str],
    reviews: list[str] = [],  # noqa: B006 - never changed
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rows = [good_row(sku=sku, price=price) for sku, price in products]
    (folder / "products.csv").write_text(csv_text(rows), "utf-8")
    (folder / "stock.csv").write_text("sku,location,quantity\n" + "".join(stock), "utf-8")
    (folder / "city_prices.csv").write_text("sku,city_id,price\n" + "".join(cities), "utf-8")
    (folder / "reviews.csv").write_text("sku,rating,count\n" + "".join(reviews), "utf-8")
    (folder / "locations.csv").write_text(LOCATIONS, "utf-8")


def sku(n: int) -> str:
    return "" if n < 0 else f"S-{n}"  # -1: a row without a SKU


catalogues = st.tuples(
    # Product rows: SKU (repeats allowed) and a price that may not parse.
    st.lists(st.tuples(st.integers(-1, 30), st.sampled_from(["100", "100", "bad"])),
             min_size=1, max_size=25),
    st.lists(st.tuples(st.integers(-1, 34), st.sampled_from(["WH-1", "ST-1", "XX"]),
                       st.sampled_from(["1", "4", "-2", "x"])), max_size=40),
    st.lists(st.tuples(st.integers(-1, 34), st.sampled_from(["750000000", "7a", "1"]),
                       st.sampled_from(["100", "x"])), max_size=15),
    st.lists(st.tuples(st.integers(-1, 34), st.sampled_from(["4", "7"]),
                       st.sampled_from(["3", "-1"])), max_size=15),
    st.booleans(),  # side rows in the products' order (else shuffled)
    st.integers(1, 4),  # the merge window
    st.randoms(use_true_random=False),
)  # fmt: skip


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(catalogue=catalogues)
def test_merged_reading_equals_indexed_reading_or_says_the_order_differs(
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    catalogue: tuple[Any, ...],
) -> None:
    products, stock, cities, reviews, aligned, window, rnd = catalogue
    order: dict[int, int] = {}
    for i, (n, _) in enumerate(products):
        order.setdefault(n, i)
    sides = (stock, cities, reviews)
    for rows in sides:
        if aligned:  # the ERP's export: the products' order (rows of unknown SKUs anywhere)
            rows.sort(key=lambda row: order.get(row[0], row[0]))
        else:
            rnd.shuffle(rows)
    folder = tmp_path_factory.mktemp("cat")
    write_files(folder, [(sku(n), price) for n, price in products],
                [f"{sku(n)},{loc},{q}\n" for n, loc, q in stock],
                [f"{sku(n)},{c},{price}\n" for n, c, price in cities],
                [f"{sku(n)},{r},{c}\n" for n, r, c in reviews])  # fmt: skip
    monkeypatch.setattr(sidefiles, "WINDOW", window)
    indexed = read(folder, merge=False)
    try:
        merged = read(folder, merge=True)
    except SideFilesUnordered:
        # Rows of unknown SKUs wait in the window to the end: as many as it holds can crowd
        # out a product's rows, and a redo is the right answer then.
        crowded = max(len({row[0] for row in rows if row[0] not in order and row[0] >= 0})
                      for rows in sides)  # fmt: skip
        assert not aligned or crowded >= window, "rows in the products' order were redone"
        return
    assert merged == indexed


def test_a_sparse_stock_file_in_order_is_merged_within_the_window(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Most products have no stock rows; those that do are found a window ahead at most, and
    the window never holds more than its size."""
    skus = [f"S-{n}" for n in range(50)]
    stock = [f"S-{n},WH-1,{n}\n" for n in range(0, 50, 7)] + ["GHOST,WH-1,1\n"]
    write_files(tmp_path, [(s, "100") for s in skus], stock, [])
    monkeypatch.setattr(sidefiles, "WINDOW", 2)
    peaks: list[int] = []
    take = sidefiles.SideIndex.take

    def watched(self: sidefiles.SideIndex[object], sku: str) -> object:
        found = take(self, sku)
        peaks.append(len(self.values))
        return found

    monkeypatch.setattr(sidefiles.SideIndex, "take", watched)
    products, problems = read(tmp_path, merge=True)
    assert [p[1] for p in products if p[1]] == [{"WH-1": n} for n in range(0, 50, 7)]
    assert max(peaks) <= 2
    assert [line.split()[0] for line in problems] == ["stock_unknown_sku"]


def test_a_stock_file_in_another_order_is_indexed_and_the_feed_is_the_same(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Disorder the window covers is merged as it is; beyond it, the run is redone indexed.
    The per-item path's reading: the engine joins the side files whatever their order."""
    monkeypatch.setattr(sidefiles, "WINDOW", 1)
    monkeypatch.setattr(engine_run, "plan", lambda run: None)
    workspace.write_products([good_row(sku=f"KETTLE-{n}") for n in range(1, 6)])
    stock = workspace.root / "stock.csv"
    feed = workspace.root / "out" / "google.xml"
    stock.write_text(
        "sku,quantity,location\n" + "".join(f"KETTLE-{n},{n},WH\n" for n in range(1, 6))
    )
    config = load_config(workspace.write_config(stock="stock.csv"))
    in_order = build(config)
    expected = feed.read_bytes()
    stock.write_text(
        "sku,quantity,location\n" + "".join(f"KETTLE-{n},{n},WH\n" for n in (5, 1, 4, 2, 3))
    )
    redone = build(config)
    assert feed.read_bytes() == expected
    assert in_order.problems == []
    [warning] = redone.problems
    assert (warning.code, warning.severity, warning.file) == (
        "side_file_order",
        "warning",
        "stock.csv",
    )
    assert [s.items_valid for s in redone.channels] == [5]
    assert validate(config).problems == redone.problems
