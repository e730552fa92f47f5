"""The SKUs order lines are looked up in: a CSV catalogue's SKU column sorted in the engine,
with the membership of a set of its SKUs (as the per-row reader strips them)."""

from __future__ import annotations

from pathlib import Path

from conftest import csv_text, good_row
from hypothesis import given
from hypothesis import strategies as st

from omnisync.engine import pl
from omnisync.engine.keys import SortedKeys
from omnisync.sources.csvfile import CsvSource

TEXT = st.text(alphabet=st.sampled_from(["A", "a", "-", "1", "я", " ", "ß"]), max_size=4)


@given(st.lists(TEXT, max_size=30), st.lists(TEXT, max_size=10))
def test_sorted_keys_hold_what_a_set_holds(keys: list[str], asked: list[str]) -> None:
    found = SortedKeys(pl.Series(keys, dtype=pl.String))
    expected = {key for key in keys if key}
    assert [key in found for key in keys + asked] == [key in expected for key in keys + asked]
    assert 7 not in found  # type: ignore[operator]


def test_a_csv_catalogues_skus_are_the_engines_sorted_column(tmp_path: Path) -> None:
    rows = [good_row(sku=sku) for sku in ("B-2", " A-1 ", "C-3")]
    (tmp_path / "products.csv").write_text(csv_text(rows), encoding="utf-8")
    known = CsvSource(tmp_path / "products.csv").sku_set(lambda _: None)
    assert isinstance(known, SortedKeys)
    assert ["A-1" in known, "B-2" in known, " A-1 " in known, "D-4" in known] == [
        True, True, False, False,
    ]  # fmt: skip


@given(st.lists(TEXT, max_size=30), st.lists(TEXT, max_size=10))
def test_a_page_of_keys_is_looked_up_at_once_as_one_by_one(
    keys: list[str], asked: list[str]
) -> None:
    found = SortedKeys(pl.Series(keys, dtype=pl.String))
    assert found.among(keys + asked) == {key for key in keys + asked if key in found}
