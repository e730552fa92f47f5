"""Secrets: ``env:`` credentials read only by the commands that connect, and never shown —
not even in the escaped or encoded forms a server may echo them in."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from conftest import SANDBOX_ENV
from typer.testing import CliRunner, Result

from omnisync import secrets
from omnisync.cli import app
from omnisync.config import load_config
from omnisync.errors import SecretUnset
from omnisync.sandbox.server import Sandbox
from omnisync.secrets import MASK, EnvSecret, redact

runner = CliRunner()


def invoke(*args: object) -> Result:
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture
def no_channel_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """None of the demo's credentials in the environment (conftest sets them by default)."""
    for name in SANDBOX_ENV:
        monkeypatch.delenv(name, raising=False)


# --- read only when a command connects -----------------------------------------------------


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("validate",), 1),  # 1: the demo catalogue's deliberately bad rows, not a secret
        (("build", "--channel", "meta"), 0),
        (("diff",), 0),
        (("status",), 0),
    ],
)
def test_commands_that_connect_nowhere_need_no_channel_secrets(
    sandbox_demo: Path, no_channel_secrets: None, args: tuple[str, ...], code: int
) -> None:
    result = invoke(*args, "--config", sandbox_demo)
    assert result.exit_code == code, result.stderr
    assert "environment variable" not in result.stderr


def test_a_push_that_needs_an_unset_secret_names_it_and_exits_2(
    sandbox_demo: Path, sandbox: Sandbox, no_channel_secrets: None
) -> None:
    result = invoke("push", "--config", sandbox_demo, "--channel", "satu")
    assert result.exit_code == 2, result.stderr
    (line,) = result.stderr.splitlines()
    assert "SATU_TOKEN" in line and "channels.satu.token" in line
    assert "set it in the environment" in line and "fix the configuration" not in line
    assert not httpx.get(f"{sandbox.url}/_sandbox/state").json().get("satu_products")


def test_config_keys_name_each_secret(sandbox_demo: Path) -> None:
    found = {s.variable: s.key for s in _env_secrets(sandbox_demo)}
    assert found["OZON_API_KEY"] == "channels.ozon.api_key"
    assert found["GOOGLE_TOKEN"] == "channels.google.api.access_token"


def _env_secrets(config: Path) -> list[EnvSecret]:
    return [s for _, s in secrets.env_secrets(load_config(config))]


def test_a_secret_is_read_when_used_and_redacted_from_then_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret = EnvSecret("OMNISYNC_TEST_LAZY", key="channels.x.token")
    monkeypatch.setenv("OMNISYNC_TEST_LAZY", "lazy-9f3e-token\n")
    assert redact("lazy-9f3e-token") == "lazy-9f3e-token"  # not read yet
    assert secret.get_secret_value() == "lazy-9f3e-token"
    assert redact("got lazy-9f3e-token") == f"got {MASK}"
    assert str(secret) == "**********" and "lazy" not in repr(secret)


def test_an_unusable_value_is_refused_without_showing_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMNISYNC_TEST_LAZY", "токен-123")
    with pytest.raises(SecretUnset) as info:
        EnvSecret("OMNISYNC_TEST_LAZY", key="channels.x.token").get_secret_value()
    assert "channels.x.token: environment variable OMNISYNC_TEST_LAZY is empty" in str(info.value)
    assert "токен" not in str(info.value) and info.value.exit_code == 2
