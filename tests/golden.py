"""Golden-file comparison with a readable unified diff and an update switch."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

GOLDEN = Path(__file__).parent / "golden"


def assert_golden(actual: bytes, name: str, update: bool) -> None:
    path = GOLDEN / name
    if update or not path.exists():
        if not update:
            pytest.fail(f"{path} does not exist; run pytest --update-golden to create it")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(actual)
        return
    expected = path.read_bytes()
    if actual == expected:
        return
    diff = difflib.unified_diff(
        expected.decode("utf-8", "replace").splitlines(keepends=True),
        actual.decode("utf-8", "replace").splitlines(keepends=True),
        fromfile=f"golden/{name}",
        tofile="actual",
        n=2,
    )
    pytest.fail(
        f"{name} differs from the golden file (pytest --update-golden accepts the change):\n"
        + "".join(list(diff)[:200]),
        pytrace=False,
    )
