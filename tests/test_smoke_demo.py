from pathlib import Path

from conftest import DEMO_CONFIG

from omnisync import pipeline
from omnisync.config import load_config


def test_demo_config_publishes_every_channel(tmp_path: Path) -> None:
    config = load_config(DEMO_CONFIG).model_copy(update={"output_dir": tmp_path})
    report = pipeline.build(config)
    assert {s.channel: s.published for s in report.channels} == {
        name: True for name in config.channels
    }
    assert all(path.stat().st_size > 0 for s in report.channels for path in s.paths)
