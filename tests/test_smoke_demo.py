from pathlib import Path

from conftest import DEMO_CONFIG

from omnisync import pipeline
from omnisync.config import load_config


def test_demo_config_builds_both_feeds(tmp_path: Path) -> None:
    config = load_config(DEMO_CONFIG).model_copy(update={"output_dir": tmp_path})
    report = pipeline.build(config)
    assert [s.published for s in report.channels] == [True, True]
    assert (tmp_path / "google.xml").stat().st_size > 0
