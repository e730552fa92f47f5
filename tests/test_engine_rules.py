"""Channel rules in the engine (filters, price and stock rules) against the per-item path: for
any catalogue, channels and rules hypothesis draws, the same feeds, problems and counts; and
the engine applied them itself."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from conftest import Workspace, good_row
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_engine_feeds import CHANNEL_SETS, LOCATIONS, both, catalogues

from omnisync.engine import pl
from omnisync.engine.rules import adjusted
from omnisync.rules import PriceRule, adjust_price

FILTERS = st.fixed_dictionaries(
    {},
    optional={
        "category": st.lists(st.sampled_from(["A", "A > B", "Бытовая техника", "B"]), max_size=2),
        "brand": st.lists(
            st.sampled_from(["Acme", "acme", "A&B", "STRASSE", "Straße"]), max_size=2
        ),
        "sku": st.lists(st.sampled_from(["S-*", "*1", "S-?", "X*", "*"]), max_size=2),
        "in_stock": st.booleans(),
        "min_price": st.sampled_from(["0", "15000", "15990.005", "16000"]),
    },
)
PRICES = st.fixed_dictionaries(
    {},
    optional={
        "markup_percent": st.sampled_from(["0", "12.5", "-10", "33.333", "-100", "7.25"]),
        "add": st.sampled_from(["0", "-20000", "99.99", "0.005", "-0.5"]),
        "round_to": st.sampled_from(["10", "0.05", "100", "0.3", "1"]),
        "rounding": st.sampled_from(["nearest", "up", "down"]),
    },
)
STOCK = st.fixed_dictionaries(
    {},
    optional={
        "buffer": st.integers(0, 3),
        "allocate_percent": st.sampled_from(["100", "50", "33.3", "0"]),
        "max": st.integers(0, 5),
        "floor": st.integers(0, 2),
    },
)
TEMPLATES = st.fixed_dictionaries(
    {},
    optional={
        "title": st.sampled_from(
            ["{brand} {title}", "{title} {material}", "{missing}", "  {color}  {size} ",
             "{{x}} {title}", "{price} {title}", "{title}\n{mpn}"]
        ),
        "url": st.sampled_from(["{url}?utm=1", "http://u:p@x/{sku}", "{material}"]),
        "item_group_id": st.sampled_from(["{brand}", "G-{sku}", "{color}"]),
        "description": st.sampled_from(["{description} {material}", "<b>{title}</b>"]),
        "brand": st.sampled_from(["{brand}", "{material}"]),
    },
)  # fmt: skip
CATEGORIES = st.dictionaries(
    st.sampled_from(["A", "A > B", "A>B", "Бытовая техника", "Бытовая техника > Кухня"]),
    st.sampled_from(["1", "505771", "x&y", ""]),
    max_size=3,
)
RULES = st.fixed_dictionaries(
    {},
    optional={
        "include": FILTERS,
        "exclude": FILTERS,
        "price": PRICES,
        "stock": STOCK,
        "fields": TEMPLATES,
        "categories": CATEGORIES,
    },
)


@pytest.mark.parametrize("channels", list(CHANNEL_SETS))
def test_any_rules_give_what_the_per_item_rules_give(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch, channels: str
) -> None:
    served: list[bool] = []

    @settings(
        max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(rows=catalogues(), rules=RULES)
    def check(rows: Any, rules: dict[str, Any]) -> None:
        space = Workspace(tmp_path_factory.mktemp("rules"))
        space.write_products(rows, list(rows[0]))
        (space.root / "locations.csv").write_text(LOCATIONS, encoding="utf-8")
        ruled = {name: {**cfg, "rules": rules} for name, cfg in CHANNEL_SETS[channels].items()}
        served.append(
            both(space.write_config(ruled, locations="locations.csv"), monkeypatch)["engine"]
        )

    check()
    # The engine applies the rules of most (Kaspi leaves price rules to the per-item path).
    assert sum(served) > len(served) / 2


def test_filters_price_and_stock_rules_are_applied_by_the_engine(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [
        good_row(sku="K-1", price="15990", quantity="5"),
        good_row(sku="K-2", price="9990", quantity="1"),
        good_row(sku="REF-3", price="5000", quantity="9"),
    ]
    workspace.write_products(rows)
    rules = {
        "exclude": {"sku": ["REF-*"]},
        "price": {"markup_percent": "10", "round_to": "100", "rounding": "up"},
        "stock": {"buffer": 1, "floor": 0},
    }
    meta = {"type": "meta", "currency": "KZT", "rules": rules}
    result = both(workspace.write_config({"meta": meta}), monkeypatch)
    assert result["engine"]
    feed = result["feeds"]["meta.csv"].decode()
    assert "17600.00 KZT" in feed and "11000.00 KZT" in feed  # 15990 and 9990, +10 %, up to 100
    assert "REF-3" not in feed
    assert result["channels"] == [(2, 2, 0, 0)]
    lines = {line.split(",")[0]: line for line in feed.splitlines()[1:]}
    assert lines["K-1"].endswith(",4") or ",4," in lines["K-1"]  # 5 on hand less the buffer of 1


@given(
    cents=st.integers(1, 10**15),
    markup=st.decimals(-100, 1000, places=3),
    add=st.decimals(-(10**6), 10**6, places=3),
    step=st.none() | st.decimals(Decimal("0.01"), 1000, places=2),
    rounding=st.sampled_from(["nearest", "up", "down"]),
)
def test_a_price_rule_rounds_as_decimal_does(
    cents: int, markup: Decimal, add: Decimal, step: Decimal | None, rounding: str
) -> None:
    rule = PriceRule(markup_percent=markup, add=add, round_to=step, rounding=rounding)
    expected = adjust_price(Decimal(cents) / 100, rule)
    found = pl.select(adjusted(pl.lit(cents, pl.Int128), rule)).item()
    assert Decimal(found) / 100 == expected
