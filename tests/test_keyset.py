"""KeySet answers as a set of strings does (fingerprint collisions aside), through growth."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from omnisync.keyset import KeySet


@given(st.lists(st.text(max_size=6), max_size=300))
def test_keyset_answers_like_a_set(keys: list[str]) -> None:
    seen, expected = KeySet(bits=2), set[str]()  # a tiny table: it grows many times
    for key in keys:
        assert (key in seen) == (key in expected)
        assert seen.add(key) == (key not in expected)
        expected.add(key)
        assert key in seen
    assert len(seen) == len(expected)


def test_a_million_keys_take_eight_bytes_each_in_a_half_full_table() -> None:
    seen = KeySet()
    for n in range(1_000_000):
        seen.add(f"SKU-{n:07d}")
    assert len(seen) == 1_000_000
    assert "SKU-0999999" in seen and "SKU-1000000" not in seen
    assert seen._table.itemsize * len(seen._table) == 16 * 2**20  # 2²¹ slots of 8 bytes
