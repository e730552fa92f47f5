"""The channel registry: built-in types, lookup errors and third-party entry points."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import pytest
from conftest import Workspace, good_row

from omnisync import pipeline
from omnisync.channels import registry
from omnisync.channels.base import Channel, ChannelConfig, Record
from omnisync.channels.kaspi import Kaspi
from omnisync.config import load_config
from omnisync.errors import ConfigError
from omnisync.models import Problem, Product, Severity

GROUP = "omnisync.channels"
NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


class EchoConfig(ChannelConfig):
    type: Literal["echo"]
    prefix: str = "E-"


class Echo(Channel):
    """A minimal third-party channel: one warning per item, so its run is visible."""

    config_model = EchoConfig
    config: EchoConfig

    def to_record(self, product: Product) -> Record:
        return Record(key=self.config.prefix + product.sku, fields={"title": product.title})

    def validate(self, record: Record) -> list[Problem]:
        message = f"echo saw {record.fields['title']}"
        return [self.problem(record, "title", "echo_seen", message, Severity.WARNING)]


class FakeEntryPoint:
    def __init__(self, name: str, target: object) -> None:
        self.name, self.target = name, target
        self.loads = 0

    def load(self) -> object:
        self.loads += 1
        return self.target


@pytest.fixture
def plugins(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[FakeEntryPoint]]:
    """Entry points the registry will see; append FakeEntryPoints before the first lookup."""
    found: list[FakeEntryPoint] = []
    groups: list[str] = []

    def entry_points(*, group: str) -> list[FakeEntryPoint]:
        groups.append(group)
        return list(found) if group == GROUP else []

    registry.channel_types.cache_clear()
    monkeypatch.setattr(registry, "entry_points", entry_points)
    yield found
    registry.channel_types.cache_clear()
    assert set(groups) <= {GROUP}


# --- built-in types -----------------------------------------------------------------------------


def test_builtin_names() -> None:
    assert set(registry.BUILTIN) == {
        "google_merchant",
        "google_local_inventory",
        "kaspi",
        "meta",
        "ozon",
        "pickup_board",
        "satu",
        "store_display",
    }


@pytest.mark.parametrize("name", sorted(registry.BUILTIN))
def test_builtin_is_a_channel_with_a_literal_type(name: str) -> None:
    cls = registry.BUILTIN[name]
    assert isinstance(cls, type) and issubclass(cls, Channel)
    assert issubclass(cls.config_model, ChannelConfig)
    annotation = cls.config_model.model_fields["type"].annotation
    assert get_origin(annotation) is Literal
    assert get_args(annotation) == (name,)


@pytest.mark.parametrize("name", sorted(registry.BUILTIN))
def test_builtin_lookup(name: str) -> None:
    assert registry.lookup(name) is registry.BUILTIN[name]


def test_builtin_config_model_rejects_another_type_name() -> None:
    with pytest.raises(ValueError, match="kaspi"):
        registry.BUILTIN["kaspi"].config_model.model_validate(
            {"type": "meta", "company": "c", "merchant_id": "1", "stores": {"A": "PP1"}}
        )


def test_lookup_unknown_type_lists_the_known_ones() -> None:
    with pytest.raises(KeyError) as caught:
        registry.lookup("nope")
    message = caught.value.args[0]
    assert "'nope'" in message
    for name in registry.BUILTIN:
        assert name in message


# --- third-party channels -----------------------------------------------------------------------


def test_entry_point_channel_is_found(plugins: list[FakeEntryPoint]) -> None:
    plugins.append(FakeEntryPoint("echo", Echo))
    assert registry.lookup("echo") is Echo
    assert set(registry.channel_types()) == {*registry.BUILTIN, "echo"}


def test_entry_point_is_loaded_once(plugins: list[FakeEntryPoint]) -> None:
    entry = FakeEntryPoint("echo", Echo)
    plugins.append(entry)
    registry.lookup("echo")
    registry.lookup("echo")
    registry.lookup("kaspi")
    assert entry.loads == 1


def test_unknown_type_message_lists_plugins(plugins: list[FakeEntryPoint]) -> None:
    plugins.append(FakeEntryPoint("echo", Echo))
    with pytest.raises(KeyError, match="echo"):
        registry.lookup("nope")


def test_plugin_cannot_shadow_a_builtin(plugins: list[FakeEntryPoint]) -> None:
    plugins.append(FakeEntryPoint("kaspi", Echo))
    plugins.append(FakeEntryPoint("google_merchant", Echo))
    assert registry.lookup("kaspi") is Kaspi
    assert registry.channel_types() == registry.BUILTIN


def echo_config(workspace: Workspace, channel: dict[str, Any]) -> Path:
    workspace.write_products(
        [good_row(), good_row(sku="OTHER-1", brand="Sonora", url="https://shop.example.kz/p/o")]
    )
    return workspace.write_config(channels={"mine": channel})


def test_plugin_channel_runs_in_validate(
    workspace: Workspace, plugins: list[FakeEntryPoint]
) -> None:
    plugins.append(FakeEntryPoint("echo", Echo))
    config = load_config(echo_config(workspace, {"type": "echo", "prefix": "X-"}))
    assert isinstance(config.channels["mine"], EchoConfig)
    report = pipeline.validate(config, now=NOW)
    (stats,) = report.channels
    assert (stats.channel, stats.items_total, stats.warnings, stats.errors) == ("mine", 2, 2, 0)
    seen = sorted((p.channel, p.sku, p.code) for p in report.problems)
    assert seen == [("mine", "X-KETTLE-1", "echo_seen"), ("mine", "X-OTHER-1", "echo_seen")]


def test_plugin_channel_gets_the_common_rules(
    workspace: Workspace, plugins: list[FakeEntryPoint]
) -> None:
    plugins.append(FakeEntryPoint("echo", Echo))
    channel = {"type": "echo", "rules": {"exclude": {"brand": ["sonora"]}}}
    report = pipeline.validate(load_config(echo_config(workspace, channel)), now=NOW)
    (stats,) = report.channels
    assert (stats.items_total, stats.filtered) == (1, 1)
    assert [p.sku for p in report.problems] == ["E-KETTLE-1"]


def test_plugin_config_model_is_validated_with_key_paths(
    workspace: Workspace, plugins: list[FakeEntryPoint]
) -> None:
    plugins.append(FakeEntryPoint("echo", Echo))
    path = echo_config(workspace, {"type": "echo", "prefx": "X-", "prefix": 5})
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert sorted(p for p, _ in caught.value.issues) == [
        "channels.mine.prefix",
        "channels.mine.prefx",
    ]


def test_plugin_type_is_unknown_without_its_entry_point(
    workspace: Workspace, plugins: list[FakeEntryPoint]
) -> None:
    path = echo_config(workspace, {"type": "echo"})
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    ((where, message),) = caught.value.issues
    assert where == "channels.mine.type"
    assert "unknown channel type 'echo'" in message
    assert "kaspi" in message
