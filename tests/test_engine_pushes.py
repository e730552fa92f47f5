"""Push planning in the engine (Ozon) against the per-item path, the reference: for any
catalogue and any ledger an earlier run left, the same plan (each item's action and payload),
the same counts and problems. The engine plans its plain rows as frames; the tests check it
took them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import Workspace, good_row, sandbox_state
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_engine_feeds import (
    LOCATIONS,
    catalogues,
    catalogues_with_sides,
    comparable,
    served,
    write_sides,
)
from test_engine_rules import RULES

from omnisync import push
from omnisync.channels.capabilities import ItemResult, PushItem
from omnisync.config import load_config
from omnisync.sandbox.server import Sandbox
from omnisync.store.db import open_store
from omnisync.store.ledger import Ledger

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
OZON = {
    "type": "ozon",
    "base_url": "http://127.0.0.1:9",
    "client_id": "1",
    "api_key": "env:TEST_OZON_KEY",
    "currency": "KZT",
}


def planned(config: Path, engine: bool, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A dry run's plan, report and whether the engine served it."""
    with served(monkeypatch, engine) as used:
        result = push.push(load_config(config), dry_run=True, now=NOW)
    (stats,) = result.pushes
    return {
        "changes": sorted(
            (c["stream"], c["key"], c["action"], c["payload"]) for c in stats.changes
        ),
        "planned": stats.planned,
        "problems": [p.as_dict() for p in result.run.problems],
        "channels": [
            (s.items_total, s.items_valid, s.errors, s.warnings) for s in result.run.channels
        ],
        "products": result.run.products,
        "engine": used == [True],
    }


def both(config: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    engine = planned(config, True, monkeypatch)
    reference = planned(config, False, monkeypatch)
    assert {**engine, "engine": None} == {**reference, "engine": None}
    return engine


SATU = {
    "type": "satu",
    "currency": "KZT",
    "base_url": "http://127.0.0.1:9",
    "token": "env:TEST_SATU_TOKEN",
}


def acknowledge(
    config: Path,
    items: list[PushItem],
    at: datetime = NOW,
    account: tuple[str, str] = ("ozon", "1"),
) -> None:
    """The ledger as a run that sent ``items`` and had each accepted left it."""
    loaded = load_config(config)
    store = open_store(loaded.state)
    try:
        ledger = Ledger(store, *account, at, timedelta(hours=24))
        ledger.plan_removals([])
        for item in items:
            ledger.consider(item)
        ledger.settle()
        batch = [item for item, _ in ledger.planned()]
        ledger.sending(batch)
        ledger.record(batch, [ItemResult(item.key, True) for item in batch])
    finally:
        store.close()


def stock(sku: str, warehouse: int, units: int) -> PushItem:
    payload = {"offer_id": sku, "warehouse_id": warehouse, "stock": units}
    return PushItem("stock", f"{sku}@{warehouse}", sku, payload)


def price(sku: str, amount: str, old: str = "0.00") -> PushItem:
    payload = {"offer_id": sku, "price": amount, "old_price": old, "currency_code": "KZT"}
    return PushItem("price", sku, sku, payload)


def one_warehouse(workspace: Workspace) -> Path:
    """Ozon with location W as its warehouse 7; the stock is the quantity column."""
    (workspace.root / "locations.csv").write_text(LOCATIONS, encoding="utf-8")
    channels = {"ozon": {**OZON, "warehouses": {"W": 7}}}
    return workspace.write_config(channels, locations="locations.csv")


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_OZON_KEY", "secret")
    monkeypatch.setenv("TEST_SATU_TOKEN", "secret")
    monkeypatch.setenv("TEST_GOOGLE_TOKEN", "secret")


def test_plain_rows_are_planned_by_the_engine_and_only_changes_kept(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [good_row(sku=f"K-{n}", price="15990", quantity=str(n)) for n in range(4)]
    workspace.write_products(rows)
    config = one_warehouse(workspace)
    # K-0 as it is now; K-1 with other stock; K-2 not yet; GONE-1 left the catalogue.
    acknowledge(config, [
        stock("K-0", 7, 0), price("K-0", "15990.00"), stock("K-1", 7, 9),
        price("K-1", "15990.00"), stock("GONE-1", 7, 3),
    ])  # fmt: skip
    result = both(config, monkeypatch)
    assert result["engine"]
    actions = {(stream, key): action for stream, key, action, _ in result["changes"]}
    assert actions == {
        ("stock", "K-1@7"): "update",
        ("stock", "K-2@7"): "create",
        ("price", "K-2"): "create",
        ("stock", "K-3@7"): "create",
        ("price", "K-3"): "create",
        ("stock", "GONE-1@7"): "delete",
    }
    assert result["planned"]["unchanged"] == 3  # K-0's two items and K-1's price


def test_an_item_acknowledged_long_ago_is_reasserted(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace.write_products([good_row(sku="K-0", price="100", quantity="2")])
    config = one_warehouse(workspace)
    acknowledge(config, [stock("K-0", 7, 2), price("K-0", "100.00")], NOW - timedelta(days=2))
    result = both(config, monkeypatch)
    assert result["engine"]
    assert sorted(action for *_, action, _ in result["changes"]) == ["reassert", "reassert"]


# Ledgers an earlier run may have left: items of the drawn SKUs with this or other payloads.
EARLIER = st.lists(
    st.tuples(
        st.sampled_from(["S-0", "S-1", "S-2", "GONE-1"]),
        st.sampled_from([1, 2]),
        st.sampled_from([0, 5, 7]),
        st.sampled_from(["15990.00", "14990.00", "1.50"]),
    ),
    max_size=6,
)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=catalogues(),
    earlier=EARLIER,
    warehouses=st.sampled_from([{"W": 1}, {"W": 1, "S1": 2}]),
    rules=RULES,
)
def test_any_catalogue_and_ledger_plan_as_the_per_item_path_plans(
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    rows: Any,
    earlier: Any,
    warehouses: dict[str, int],
    rules: dict[str, Any],
) -> None:
    """No stock file: Ozon takes the quantity column for one warehouse, and refuses it for
    two (an error, so the SKU is held). Its rules filter, price and hold stock back."""
    space = Workspace(tmp_path_factory.mktemp("ozon"))
    space.write_products(rows, list(rows[0]))
    (space.root / "locations.csv").write_text(LOCATIONS, encoding="utf-8")
    config = space.write_config(
        {"ozon": {**OZON, "warehouses": warehouses, "rules": rules}}, locations="locations.csv"
    )
    acknowledge(config, _items(earlier))
    both(config, monkeypatch)


# Satu's items an earlier run may have acknowledged.
SATU_EARLIER = st.lists(
    st.tuples(
        st.sampled_from(["S-0", "S-1", "S-2", "GONE-1"]),
        st.sampled_from([15990, 15990.5, 100]),
        st.sampled_from([None, 0, 5]),
    ),
    max_size=5,
)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=catalogues(), earlier=SATU_EARLIER, rules=RULES)
def test_satus_api_plans_as_the_per_item_path_plans(
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    rows: Any,
    earlier: Any,
    rules: dict[str, Any],
) -> None:
    space = Workspace(tmp_path_factory.mktemp("satu"))
    space.write_products(rows, list(rows[0]))
    config = space.write_config({"satu": {**SATU, "rules": rules}})
    items = {}
    for sku, amount, units in earlier:
        payload: dict[str, Any] = {"id": sku, "price": amount, "presence": "available"}
        if units is not None:
            payload["quantity_in_stock"] = units
        items[sku] = PushItem("product", sku, sku, payload)
    acknowledge(config, list(items.values()), account=("satu", "127.0.0.1:9"))
    both(config, monkeypatch)


def test_satus_plain_rows_are_planned_by_the_engine(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [good_row(sku=f"K-{n}", price="15990.5", quantity=str(n)) for n in range(3)]
    workspace.write_products(rows)
    result = both(workspace.write_config({"satu": SATU}), monkeypatch)
    assert result["engine"]
    assert result["changes"][0] == (
        "product", "K-0", "create",
        {"id": "K-0", "presence": "not_available", "price": 15990.5, "quantity_in_stock": 0},
    )  # fmt: skip


def test_any_catalogue_with_stock_files_plans_as_the_per_item_path_plans(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    served: list[bool] = []

    @settings(
        max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(drawn=catalogues_with_sides(), earlier=EARLIER)
    def check(drawn: Any, earlier: Any) -> None:
        space = Workspace(tmp_path_factory.mktemp("ozon-sides"))
        write_sides(space, {**drawn, "locations": True})
        config = space.write_config(
            {"ozon": {**OZON, "warehouses": {"W": 1, "S1": 2}}},
            stock="stock.csv",
            locations="locations.csv",
        )
        acknowledge(config, _items(earlier))
        engine = planned(config, True, monkeypatch)
        assert comparable(engine) == comparable(planned(config, False, monkeypatch))
        served.append(engine["engine"])

    check()
    assert sum(served) > len(served) / 2


def _items(earlier: list[tuple[str, int, int, str]]) -> list[PushItem]:
    found: dict[tuple[str, str], PushItem] = {}
    for sku, warehouse, units, amount in earlier:
        for item in (stock(sku, warehouse, units), price(sku, amount)):
            found[item.stream, item.key] = item
    return list(found.values())


def test_a_sync_writes_and_plans_satu_in_one_engine_pass(
    tmp_path: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``sync`` builds Satu's file and plans its API in one lane: the engine writes the one and
    plans the other from the same plain rows, as the per-item path does (a row with a problem
    goes per item for both)."""
    rows = [good_row(sku=f"K-{n}", quantity=str(n)) for n in range(3)]
    rows.append(good_row(sku="K-X", image_url="https://c.kz/i.pdf"))  # the feed refuses it
    shop = {"name": "Shop", "company": "Shop LLP", "url": "https://shop.example.kz"}
    satu = {**SATU, "base_url": sandbox.url, "token": "env:SATU_TOKEN", "shop": shop}
    seen = []
    for engine in (True, False):
        space = Workspace(tmp_path / str(engine))
        space.root.mkdir()
        space.write_products(rows)
        config = space.write_config({"satu": satu})
        with served(monkeypatch, engine) as used:
            result = push.push(load_config(config), now=NOW, every_file=True)
        (stats,) = result.pushes
        feed = (space.root / "out" / "satu.xml").read_bytes()
        held = sandbox_state(sandbox)["satu_products"]
        counts = [(s.items_total, s.items_valid, s.errors) for s in result.run.channels]
        seen.append((feed, stats.planned, stats.sent, held, counts, used == [True] or None))
    assert seen[0][:5] == seen[1][:5]
    assert seen[0][5]  # the engine served the first
    assert seen[0][2] == 3 and "K-X" not in seen[0][3]


LOCAL_API = {
    "type": "google_local_inventory",
    "currency": "KZT",
    "stores": {"S1": "s-1", "W": "w"},  # S1 offers pickup (LOCATIONS)
    "api": {
        "base_url": "http://127.0.0.1:9",
        "token_url": "http://127.0.0.1:9/token",
        "account_id": "123",
        "data_source": "456",
        "access_token": "env:TEST_GOOGLE_TOKEN",
    },
}


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=catalogues(), rules=RULES, stock=st.booleans())
def test_local_inventory_api_plans_as_the_per_item_path_plans(
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    rows: Any,
    rules: dict[str, Any],
    stock: bool,
) -> None:
    space = Workspace(tmp_path_factory.mktemp("local"))
    space.write_products(rows, list(rows[0]))
    (space.root / "locations.csv").write_text(LOCATIONS, encoding="utf-8")
    catalog = {"locations": "locations.csv"}
    if stock:
        text = "sku,location,quantity\nS-0,S1,3\nS-0,W,0\nS-1,W,2\n"
        (space.root / "stock.csv").write_text(text, encoding="utf-8")
        catalog["stock"] = "stock.csv"
    config = space.write_config({"local": {**LOCAL_API, "rules": rules}}, **catalog)
    both(config, monkeypatch)


def test_local_inventory_plain_rows_are_planned_by_the_engine(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace.write_products([good_row(sku="K-1", price="15990.5", quantity="2")])
    (workspace.root / "locations.csv").write_text(LOCATIONS, encoding="utf-8")
    result = both(
        workspace.write_config({"local": LOCAL_API}, locations="locations.csv"), monkeypatch
    )
    assert result["engine"]
    assert next((key, payload) for _, key, _, payload in result["changes"]) == (
        "K-1@s-1",
        {
            "storeCode": "s-1",
            "localInventoryAttributes": {
                "availability": "IN_STOCK", "pickupMethod": "BUY", "pickupSla": "SAME_DAY",
                "price": {"amountMicros": "15990500000", "currencyCode": "KZT"},
            },
        },
    )  # fmt: skip


GOOGLE_API = {"type": "google_merchant", "currency": "KZT", "api": LOCAL_API["api"]}


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=catalogues(), rules=RULES, tsv=st.booleans())
def test_merchant_api_plans_as_the_per_item_path_plans(
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    rows: Any,
    rules: dict[str, Any],
    tsv: bool,
) -> None:
    """Text with quotes, markup, line breaks and Cyrillic is escaped as ``json.dumps`` does."""
    space = Workspace(tmp_path_factory.mktemp("merchant"))
    space.write_products(rows, list(rows[0]))
    google = {**GOOGLE_API, "rules": rules, **({"format": "tsv"} if tsv else {})}
    config = space.write_config({"google": google})
    both(config, monkeypatch)


def test_merchant_api_plain_rows_are_planned_by_the_engine(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    title = 'Чайник "Acme" 1.7 L'
    workspace.write_products([good_row(sku="K-1", title=title, sale_price="14990")])
    result = both(workspace.write_config({"google": GOOGLE_API}), monkeypatch)
    assert result["engine"]
    ((stream, key, action, payload),) = result["changes"]
    assert (stream, key, action, payload["offerId"]) == ("product", "K-1", "create", "K-1")
    attributes = payload["productAttributes"]
    assert attributes["title"] == title
    assert attributes["salePrice"] == {"amountMicros": "14990000000", "currencyCode": "KZT"}
