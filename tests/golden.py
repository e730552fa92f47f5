"""Golden-file comparison with a readable unified diff and an update switch."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

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


def assert_demo_feeds(report: Any, out: Path, files: int = 12) -> None:
    """Every feed a demo variant published in ``out`` is byte-equal to the CSV demo's golden
    file (six files and three stores' json + html by default)."""
    compared = 0
    for stats in report.channels:
        assert stats.published, stats.channel
        for path in stats.paths:
            relative = path.relative_to(out).as_posix()
            assert path.read_bytes() == (GOLDEN / "demo" / relative).read_bytes(), relative
            compared += 1
    assert compared == files
