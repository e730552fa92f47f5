"""The engine's feeds (Google XML, Meta CSV) against the per-item mapping, the reference: for
any catalogue and channels, the same bytes, the same problems in the same order, the same
counts. Rows the engine cannot take as plain go through the per-item code; the tests check
the engine took the plain ones."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import Workspace, good_row
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omnisync import lanes, pipeline
from omnisync.channels import yml
from omnisync.config import load_config
from omnisync.engine import run as engine_run

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@contextmanager
def served(monkeypatch: pytest.MonkeyPatch, engine: bool) -> Iterator[list[bool]]:
    """Runs inside on the engine's path when ``engine`` (and it can serve them), else per
    item; the list says, run by run, whether the engine served it."""
    used: list[bool] = []
    plan = engine_run.plan

    def spied(run: Any) -> Any:
        found = plan(run) if engine else None
        used.append(found is not None)
        return found

    with monkeypatch.context() as m:
        m.setattr(engine_run, "plan", spied)
        yield used


def build(config: Path, engine: bool, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The feed's bytes, the report and whether the engine served the run."""
    with served(monkeypatch, engine) as used:
        report = pipeline.build(load_config(config), now=NOW)
    out = config.parent / "out"
    feeds = {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.is_file()}
    for path in out.iterdir():
        path.unlink()
    (config.parent / "out").rmdir()
    return {
        "feeds": feeds,
        "problems": [p.as_dict() for p in report.problems],
        "channels": [(s.items_total, s.items_valid, s.errors, s.warnings) for s in report.channels],
        "products": report.products,
        "engine": used == [True],
    }


def both(config: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    engine = build(config, True, monkeypatch)
    reference = build(config, False, monkeypatch)
    assert {**engine, "engine": None} == {**reference, "engine": None}
    return engine


def comparable(result: dict[str, Any]) -> dict[str, Any]:
    """The products file's problems in order, the side files' as a set: the per-item path
    reads side files alongside the products (their problems interleave with the products'),
    and says when it had to index them instead, which the engine never needs."""
    problems = [p for p in result["problems"] if p["code"] != "side_file_order"]
    own = [p for p in problems if p.get("file") in (None, "products.csv")]
    sides = sorted((p for p in problems if p not in own), key=lambda p: json.dumps(p, default=str))
    return {**result, "problems": own, "side_problems": sides, "engine": None}


def both_with_sides(config: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    engine = build(config, True, monkeypatch)
    reference = build(config, False, monkeypatch)
    assert comparable(engine) == comparable(reference)
    return engine


def test_plain_rows_are_written_by_the_engine(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [good_row(sku=f"K-{n}", quantity=str(n % 3)) for n in range(12)]
    rows[3] = good_row(sku="K-3", title="<b>Kettle</b>")  # one rare row among them
    result = both(workspace.setup(rows), monkeypatch)
    assert result["engine"]
    feed = result["feeds"]["google.xml"].decode()
    assert feed.count("<item>") == 12 and "<g:availability>out_of_stock" in feed
    assert [p["code"] for p in result["problems"]] == ["title_markup_removed"]


VALUES: dict[str, list[str]] = {
    "sku": ["A-1", "a-1", "A-1 ", "STRASSE", "STRAßE", "Ä-1", "x" * 51, "", "A\x1c", "B/2"],
    "title": [
        "Kettle",
        'K "1", a',
        "<b>K</b>",
        "Tom & Jerry",
        "x" * 151,
        "",
        " ",
        "K\x07",
        "K\r\nL",
        "a>b",
    ],
    "description": [
        "Fine.",
        "",
        "<p>Fine</p>",
        "a&b",
        "x" * 5001,
        "line\r\nbreak",
        "a > b",
        "a  b\t c",
        "x" * 10000,
    ],
    "brand": ["Acme", "", "b" * 71, "A&B"],
    "gtin": ["4006381333931", "", "4006381333932", "400-638-133-3931", "12345", "abc"],
    "mpn": ["AK-1", "", "m" * 71],
    "price": [
        "15990",
        "15990.5",
        "15990.50",
        "15990.0",
        "15 990",
        "0",
        "015990",
        "1.500",
        "-5",
        "abc",
        "15990,50",
        "1" * 29,
        "1e30",
    ],
    "sale_price": ["", "14990", "16990", "15990", "0", "14990.10"],
    "currency": ["KZT", "", "kzt", "RUBL"],
    "url": [
        "https://s.kz/p/1",
        "http://u:p@s.kz/",
        "https://s.kz/я",
        "ftp://s.kz",
        "https://s.kz/a b",
    ],
    "image_url": [
        "https://c.kz/i.jpg",
        "https://c.kz/i.pdf",
        "https://c.kz/i,2.png",
        "https://c.kz/route",
        "https://c.kz/i.JPG?x=1",
    ],
    "additional_image_urls": ["", "https://c.kz/2.jpg"],
    "category": ["", "A > B", " A >> B ", "A&B > C"],
    "google_category": ["", "505771", "Дом & сад"],
    "condition": ["new", "", "NEW", "broken"],
    "item_group_id": ["", "G-1", "G 1"],
    "color": ["", "чёрный", "a<b"],
    "size": ["", "M"],
    "quantity": ["", "5", "0", "-1", "1.5", "00"],
    "material": ["", "хлопок", "a<b", 'x "1"', "x\x07"],  # a column of the shop's own
}


@st.composite
def catalogues(draw: st.DrawFn) -> list[dict[str, str]]:
    rows = []
    for n in range(draw(st.integers(1, 8))):
        row = good_row(sku=f"S-{n}") | {"material": ""}
        for field in draw(st.lists(st.sampled_from(sorted(VALUES)), max_size=4, unique=True)):
            row[field] = draw(st.sampled_from(VALUES[field]))
        rows.append(row)
    return rows


GOOGLE = {"type": "google_merchant", "format": "xml", "currency": "KZT"}
META = {"type": "meta", "currency": "KZT"}
# Kaspi reads a store's city: an id, a known city's name, or neither (no price can match it).
LOCATIONS = (
    "code,name,type,pickup,city\nW,Store W,warehouse,no,Астана\n"
    "S1,Store 1,store,yes,750000000\nS2,Store 2,store,no,Nowhere\n"
)
LOCAL = {"type": "google_local_inventory", "currency": "KZT", "stores": {"S1": "s-1", "W": "w"}}
SATU = {
    "type": "satu",
    "currency": "KZT",
    "shop": {"name": "Shop", "company": "Shop LLP", "url": "https://shop.example.kz"},
}
KASPI = {
    "type": "kaspi",
    "company": "Shop",
    "merchant_id": "1",
    "stores": {"S1": "PP1", "W": "PP2"},
}
CHANNEL_SETS = {
    "google": {"google": GOOGLE},
    "meta": {"meta": META},
    "local inventory": {"local": LOCAL},
    "satu": {"satu": SATU},
    "satu, strict ids": {"satu": {**SATU, "strict_ids": True}},
    "kaspi": {"kaspi": KASPI},
    "kaspi, pre-order": {"kaspi": {**KASPI, "pre_order": 3}},
    "google and meta, no currency on meta": {"google": GOOGLE, "meta": {"type": "meta"}},
}


@pytest.mark.parametrize("channels", list(CHANNEL_SETS))
@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=catalogues())
def test_any_catalogue_gives_what_the_per_item_mapping_gives(
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    rows: Any,
    channels: str,
) -> None:
    space = Workspace(tmp_path_factory.mktemp("engine"))
    space.write_products(rows, list(rows[0]))
    (space.root / "locations.csv").write_text(LOCATIONS, encoding="utf-8")  # no stock file
    both(space.write_config(CHANNEL_SETS[channels], locations="locations.csv"), monkeypatch)


def test_meta_rows_are_written_by_the_engine(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [good_row(sku=f"K-{n}", title=f'Kettle "{n}", 1.7 L') for n in range(5)]
    workspace.write_products(rows)
    result = both(workspace.write_config({"meta": META}), monkeypatch)
    assert result["engine"]
    lines = result["feeds"]["meta.csv"].decode().splitlines()
    assert len(lines) == 6 and '"Kettle ""0"", 1.7 L"' in lines[1]


def test_a_reserved_sku_goes_row_by_row_as_the_per_item_path_has_it(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An open order holds more than the catalogue has: the engine leaves the SKU to the
    per-item path, which shows what is left to sell and warns of the oversell."""
    from decimal import Decimal

    from omnisync.orders.model import Order, OrderLine
    from omnisync.store.db import open_store
    from omnisync.store.orders import IngestStats, ingest

    rows = [good_row(sku="S-1", quantity="2"), good_row(sku="S-2", quantity="2")]
    config = workspace.setup(rows)
    placed = Order(
        channel="ozon", account="main", external_id="1", code="1", status="accepted",
        channel_status="accepted", created_at=NOW, updated_at=NOW,
        lines=(OrderLine("S-1", 3, Decimal("100")),), location="WH-1",
    )  # fmt: skip
    store = open_store(load_config(config).state)
    try:
        ingest(store, [placed], lambda code: code, None, IngestStats())
    finally:
        store.close()
    result = both(config, monkeypatch)
    assert result["engine"]
    assert [p["code"] for p in result["problems"]] == ["oversell"]
    feed = result["feeds"]["google.xml"].decode()
    assert feed.count("<g:availability>out_of_stock") == 1


def test_an_id_whose_case_fold_equals_another_is_a_repeat_for_google(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Google compares ids case folded: "STRAßE" folds to "strasse", so it repeats the plain
    "strasse" row before it; the engine must leave both to the per-item path to see it."""
    rows = [good_row(sku="strasse"), good_row(sku="STRAßE"), good_row(sku="K-1")]
    result = both(workspace.setup(rows), monkeypatch)
    assert result["engine"]
    assert "id_not_unique" in [p["code"] for p in result["problems"]]


STOCK_VALUES = {
    "location": ["W", "S1", "S2", "S1 ", "NOPE", ""],
    "quantity": ["1", "0", "", "5", "007", "-2", "1.5", "2.0", "abc", " 3 ", "1" * 16],
}


@st.composite
def catalogues_with_sides(draw: st.DrawFn) -> dict[str, Any]:
    rows = draw(catalogues())
    skus = [row["sku"] for row in rows] + ["GONE-1", "", " S-0 "]
    sku = st.sampled_from(skus)
    stock = draw(
        st.lists(
            st.tuples(sku, *(st.sampled_from(STOCK_VALUES[k]) for k in ("location", "quantity"))),
            max_size=14,
        )
    )
    city = st.tuples(
        sku,
        st.sampled_from(["710000000", "750000000", "999", "abc", ""]),
        st.sampled_from(["100", "100.50", "100.00", "0", "x"]),
    )
    review = st.tuples(sku, st.sampled_from(["4.5", "6", "x"]), st.sampled_from(["3", "-1"]))
    return {
        "rows": rows,
        "stock": stock,
        "locations": draw(st.booleans()),
        "city_prices": draw(st.none() | st.lists(city, max_size=5)),
        "reviews": draw(st.none() | st.lists(review, max_size=4)),
        "counted": draw(st.sampled_from([None, ["S1"], ["S1", "S2"], ["W"]])),
    }


def write_sides(space: Workspace, drawn: dict[str, Any]) -> Path:
    space.write_products(drawn["rows"], list(drawn["rows"][0]))
    catalog = {"stock": "stock.csv"}
    files = {"stock": ("sku,location,quantity", drawn["stock"])}
    for name, header in (("city_prices", "sku,city_id,price"), ("reviews", "sku,rating,count")):
        if drawn[name] is not None:
            files[name] = (header, drawn[name])
            catalog[name] = f"{name}.csv"
    for name, (header, rows) in files.items():
        text = "".join(f"{','.join(row)}\n" for row in rows)
        (space.root / f"{name}.csv").write_text(f"{header}\n{text}", encoding="utf-8")
    if drawn["locations"]:
        (space.root / "locations.csv").write_text(LOCATIONS, encoding="utf-8")
        catalog["locations"] = "locations.csv"
    counted = drawn["counted"] if drawn["locations"] else None  # names locations.csv's codes
    google = {**GOOGLE, "locations": counted} if counted else GOOGLE
    # Their stores name locations.csv's codes.
    local = {"local": LOCAL, "kaspi": KASPI} if drawn["locations"] else {}
    channels = {"google": google, "meta": META, "satu": SATU, **local}
    return space.write_config(channels, **catalog)


def test_any_catalogue_with_side_files_gives_what_the_per_item_path_gives(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    served: list[bool] = []

    @settings(
        max_examples=150,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(drawn=catalogues_with_sides())
    def check(drawn: Any) -> None:
        space = Workspace(tmp_path_factory.mktemp("sides"))
        served.append(both_with_sides(write_sides(space, drawn), monkeypatch)["engine"])

    check()
    # Most drawn catalogues are the engine's (a CR in a cell leaves one to the csv module).
    assert sum(served) > len(served) / 2


def test_stock_is_summed_in_the_engine_over_each_channels_locations(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """K-1 has units only at the warehouse, which the Google channel does not count: out of
    stock there, in stock on Meta (every location); K-2's rows add up; K-3 has no rows."""
    workspace.write_products([good_row(sku=f"K-{n}") for n in (1, 2, 3)])
    stock = "sku,location,quantity\nK-1,W,4\nK-2,S1,1\nK-2,S2,2\nK-2,S1,3\nGONE,W,1\n"
    (workspace.root / "stock.csv").write_text(stock)
    (workspace.root / "locations.csv").write_text(LOCATIONS)
    google = {**GOOGLE, "locations": ["S1", "S2"]}
    config = workspace.write_config(
        {"google": google, "meta": META}, stock="stock.csv", locations="locations.csv"
    )
    result = both_with_sides(config, monkeypatch)
    assert result["engine"]
    feed = result["feeds"]["google.xml"].decode()
    availability = [part.split("<")[0] for part in feed.split("<g:availability>")[1:]]
    assert availability == ["out_of_stock", "in_stock", "out_of_stock"]
    lines = result["feeds"]["meta.csv"].decode().splitlines()
    assert [line.rsplit(",", 1)[1] for line in lines[1:]] == ["4", "6", "0"]
    assert [(p["code"], p["sku"], p["line"]) for p in result["problems"]] == [
        ("stock_unknown_sku", "GONE", 6)
    ]


def test_a_rare_stock_row_sends_its_product_row_by_row_with_all_its_stock(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A quantity written as a decimal, or negative, is read by the per-row code (2.0 is 2;
    a negative one counts as 0, with a warning); the SKU's other rows are summed in the
    engine, and its product gets both."""
    workspace.write_products([good_row(sku="K-1"), good_row(sku="K-2")])
    stock = "sku,location,quantity\nK-1,W,2.0\nK-1,S1,5\nK-2,S1,0\nK-2,S2,-1\n"
    (workspace.root / "stock.csv").write_text(stock)
    (workspace.root / "locations.csv").write_text(LOCATIONS)
    config = workspace.write_config({"meta": META}, stock="stock.csv", locations="locations.csv")
    result = both_with_sides(config, monkeypatch)
    assert result["engine"]
    lines = result["feeds"]["meta.csv"].decode().splitlines()
    assert [line.rsplit(",", 1)[1] for line in lines[1:]] == ["7", "0"]
    assert [(p["code"], p["line"]) for p in result["problems"]] == [("negative_quantity", 5)]


def test_local_inventory_lines_are_written_by_the_engine_per_store(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A line per mapped store with its own units; pickup where locations.csv says so."""
    workspace.write_products([good_row(sku="K-1", sale_price="14990"), good_row(sku="K-2")])
    (workspace.root / "stock.csv").write_text("sku,location,quantity\nK-1,S1,3\nK-2,W,1\n")
    (workspace.root / "locations.csv").write_text(LOCATIONS)
    config = workspace.write_config({"local": LOCAL}, stock="stock.csv", locations="locations.csv")
    result = both_with_sides(config, monkeypatch)
    assert result["engine"]
    assert result["feeds"]["local.tsv"].decode().splitlines()[1:] == [
        "s-1\tK-1\t3\t15990.00 KZT\t14990.00 KZT\tin_stock\tbuy\tsame day",
        "w\tK-1\t0\t15990.00 KZT\t14990.00 KZT\tout_of_stock\tnot supported\t",
        "s-1\tK-2\t0\t15990.00 KZT\t\tout_of_stock\tbuy\tsame day",
        "w\tK-2\t1\t15990.00 KZT\t\tin_stock\tnot supported\t",
    ]
    assert result["channels"] == [(2, 2, 0, 0)]


def test_satu_offers_are_written_by_the_engine_with_their_category_ids(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [
        good_row(sku="K-1", sale_price="14990.50", category="Сад > Инструменты")
        | {"material": "сталь"},
        good_row(sku="K-2", category="Дом") | {"material": ""},
        good_row(sku="K-3", title="<b>K</b>", category="Сад > Инструменты") | {"material": ""},
    ]
    workspace.write_products(rows, list(rows[0]))
    # Every path's id collides: the ids then depend on the order paths reach the tree.
    monkeypatch.setattr(yml, "category_id", lambda path: 100_000_000)
    result = both(workspace.write_config({"satu": SATU}), monkeypatch)
    assert result["engine"]
    feed = result["feeds"]["satu.xml"].decode()
    assert feed.count("<offer ") == 3 and "<price>14990.5</price>" in feed
    assert '<param name="material">сталь</param>' in feed
    ids = [part.split("<")[0] for part in feed.split("<categoryId>")[1:]]
    assert ids[0] == ids[2] != ids[1]
    assert [p["code"] for p in result["problems"]] == ["title_markup_removed"]


def test_kaspi_offers_with_city_prices_are_written_by_the_engine(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """K-2's city price covers the one store that sells it (S1, in 750000000; W is in
    Astana, where it has none, but W has none in stock): no warning, and the engine writes
    it. K-3 is sold at W without an Astana price: the per-item mapping says so."""
    workspace.write_products([good_row(sku=f"K-{n}", price="15990.00") for n in (1, 2, 3)])
    stock = "sku,location,quantity\nK-1,S1,3\nK-2,S1,1\nK-3,W,1\n"
    (workspace.root / "stock.csv").write_text(stock)
    (workspace.root / "locations.csv").write_text(LOCATIONS)
    prices = "sku,city_id,price\nK-2,750000000,14000\nK-3,750000000,14500.00\n"
    (workspace.root / "city_prices.csv").write_text(prices)
    config = workspace.write_config(
        {"kaspi": {**KASPI, "pre_order": 2}},
        stock="stock.csv",
        locations="locations.csv",
        city_prices="city_prices.csv",
    )
    accepted: list[str] = []
    accept = lanes.Lane.accept
    monkeypatch.setattr(
        lanes.Lane, "accept", lambda lane, p, r: accepted.append(p.sku) or accept(lane, p, r)
    )
    result = both_with_sides(config, monkeypatch)
    assert result["engine"]
    assert accepted[: accepted.index("K-1")] == ["K-3"]  # the engine's run, then the reference
    feed = result["feeds"]["kaspi.xml"].decode()
    assert feed.count("<offer ") == 3 and feed.count("<price>15990</price>") == 1
    assert '<availability available="yes" storeId="PP1" stockCount="3" preOrder="2">' in feed
    assert '<cityprice cityId="750000000">14000</cityprice>' in feed
    assert [p["code"] for p in result["problems"]] == ["city_price_missing"]
