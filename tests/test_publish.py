"""Atomic publication and the publish gate."""

from __future__ import annotations

from pathlib import Path

import pytest

from omnisync.publish import AtomicFile, gate_refusal


def test_commit_replaces_the_file_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "feed.xml"
    target.write_bytes(b"old")
    with AtomicFile(target) as out:
        out.stream.write(b"new")
        out.commit()
    assert target.read_bytes() == b"new"
    assert list(tmp_path.iterdir()) == [target]
    assert target.stat().st_mode & 0o777 == 0o644


def test_a_failure_while_writing_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "feed.xml"
    target.write_bytes(b"old complete feed")
    with pytest.raises(RuntimeError), AtomicFile(target) as out:
        out.stream.write(b"half of a new")
        raise RuntimeError("source died")
    assert target.read_bytes() == b"old complete feed"
    assert list(tmp_path.iterdir()) == [target]


def test_without_commit_nothing_is_published(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "feed.tsv"
    with AtomicFile(target) as out:
        out.stream.write(b"never published")
    assert not target.exists()
    assert list(target.parent.iterdir()) == []


@pytest.mark.parametrize(
    ("previous", "new", "max_drop", "refused"),
    [
        (0, 1, 0.5, False),  # a first feed
        (100, 50, 0.5, False),  # exactly half is allowed
        (100, 49, 0.5, True),
        (100, 90, 0.05, True),
        (100, 1, 1.0, False),  # gate switched off
        (10, 200, 0.5, False),  # growth is always fine
    ],
)
def test_gate(previous: int, new: int, max_drop: float, refused: bool) -> None:
    reason = gate_refusal(previous, new, max_drop, "no valid items")
    assert (reason is not None) == refused
    if refused:
        assert reason is not None and f"from {previous} to {new} items" in reason
        assert "--force" in reason


@pytest.mark.parametrize(
    ("previous", "kept"), [(0, "nothing was published"), (10, "the old file is kept")]
)
def test_an_empty_feed_is_refused_unless_allowed(previous: int, kept: str) -> None:
    reason = gate_refusal(previous, 0, 1.0, "no valid items")
    assert reason is not None and reason.startswith(f"no valid items, so {kept}")
    assert "allow_empty" in reason and "--force" in reason
    assert gate_refusal(previous, 0, 1.0, None) is None
