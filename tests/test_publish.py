"""Atomic publication and the publish gate."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import DEMO_CONFIG

from omnisync.channels.capabilities import FileFeed
from omnisync.channels.google.channel import GoogleMerchant
from omnisync.config import load_config
from omnisync.pipeline import Run, build
from omnisync.publish import AtomicFile, gate_refusal, items_in


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


def test_the_remembered_count_is_what_counting_each_published_file_gives(tmp_path: Path) -> None:
    """Every channel of the demo: the count a feed is published with is the count its channel
    reads back from the file, so the next gate may trust it instead of parsing."""
    config = load_config(DEMO_CONFIG)
    config = config.model_copy(update={"output_dir": tmp_path, "state": tmp_path / "s.db"})
    report = build(config)
    run = Run(config, (), None, None)
    checked = 0
    for lane in run.lanes:
        channel = lane.channel
        if not isinstance(channel, FileFeed) or not channel.writes_files():
            continue
        for output in channel.outputs():
            path = tmp_path / output
            assert items_in(path) == channel.count_items(output, path), output
            checked += 1
    assert checked >= len([s for s in report.channels if s.published])


def test_a_changed_or_foreign_file_is_counted_again(tmp_path: Path) -> None:
    target = tmp_path / "feed.xml"
    with AtomicFile(target) as out:
        out.stream.write(b"<rss><item/></rss>")
        out.commit(items=1)
    assert items_in(target) == 1
    target.write_bytes(b"<rss><item/><item/></rss>")  # replaced in place by someone else
    assert items_in(target) is None
    (tmp_path / "other.xml").write_bytes(b"<rss/>")
    assert items_in(tmp_path / "other.xml") is None


def test_the_gate_uses_the_remembered_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = load_config(DEMO_CONFIG)
    config = config.model_copy(update={"output_dir": tmp_path, "state": tmp_path / "s.db"})
    build(config, ["google"])
    counted: list[str] = []
    monkeypatch.setattr(GoogleMerchant, "count_items", lambda self, o, p: counted.append(o) or 0)
    assert build(config, ["google"]).channels[0].published
    assert counted == []
    (tmp_path / "google.xml").touch()  # a new mtime: the remembered count no longer holds
    build(config, ["google"])
    assert counted == ["google.xml"]
