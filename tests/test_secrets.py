"""Secrets: ``env:`` credentials read only by the commands that connect, and never shown —
not even in the escaped or encoded forms a server may echo them in."""

from __future__ import annotations

import base64
import json
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote, quote_plus

import httpx
import pytest
from conftest import SANDBOX_ENV, csv_text, good_row, sandbox_state
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from omnisync import secrets
from omnisync.cli import app
from omnisync.config import load_config
from omnisync.errors import SecretUnset
from omnisync.sandbox.server import Sandbox
from omnisync.secrets import MASK, EnvSecret, redact, register

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


def test_a_push_to_every_channel_sends_nothing_when_one_secret_is_unset(
    sandbox_demo: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every pushed channel's secrets are read before the first request: a missing one must
    not leave the channels before it pushed and the rest not."""
    monkeypatch.delenv("SATU_TOKEN")
    result = invoke("push", "--config", sandbox_demo)
    assert result.exit_code == 2, result.stderr
    assert "SATU_TOKEN" in result.stderr
    state = httpx.get(f"{sandbox.url}/_sandbox/state").json()
    for bucket in ("ozon_stocks", "ozon_prices", "google_products", "satu_products"):
        assert not state.get(bucket), bucket


@pytest.mark.parametrize("command", [("sync",), ("orders", "pull")])
def test_a_pull_with_one_secret_unset_touches_no_marketplace(
    sandbox_demo: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, command: tuple[str, ...]
) -> None:
    """Reading Kaspi's orders acknowledges them at Kaspi: a run that then stops on Satu's
    unset token would have acted at one marketplace and pushed the reservations to none."""
    monkeypatch.delenv("SATU_TOKEN")
    result = invoke(*command, "--config", sandbox_demo)
    assert result.exit_code == 2, result.stderr
    assert "SATU_TOKEN" in result.stderr
    state = sandbox_state(sandbox)
    assert not state.get("status_calls") and not state.get("ozon_stocks")


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


# --- redaction of echoed forms ---------------------------------------------------------------


@contextmanager
def isolated_registry() -> Iterator[None]:
    """Secrets registered here are forgotten after (random ones would mask other tests' text)."""
    saved = secrets._registry
    secrets._registry = secrets._Registry()
    try:
        yield
    finally:
        secrets._registry = saved


# Tokens as an environment variable may hold them: printable ASCII, here with every character
# that JSON, URLs or form bodies escape. '*' is left out: the mask itself is made of it.
TOKENS = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="*"),
    min_size=4,
    max_size=40,
)


def _lower_hex(encoded: str) -> str:
    return re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), encoded)


ECHOES = {
    "json": lambda t: json.dumps(t)[1:-1],
    "json with \\/": lambda t: json.dumps(t)[1:-1].replace("/", "\\/"),
    "quote": quote,
    "quote safe=''": lambda t: quote(t, safe=""),
    "quote_plus": quote_plus,
    "percent, lower-case hex": lambda t: _lower_hex(quote(t, safe="")),
    "base64": lambda t: base64.b64encode(t.encode()).decode(),
    "base64 unpadded": lambda t: base64.b64encode(t.encode()).decode().rstrip("="),
    "urlsafe base64": lambda t: base64.urlsafe_b64encode(t.encode()).decode(),
    "urlsafe unpadded": lambda t: base64.urlsafe_b64encode(t.encode()).decode().rstrip("="),
}


@pytest.mark.parametrize("form", ECHOES)
@given(token=TOKENS)
def test_every_echoed_form_of_a_secret_is_masked(form: str, token: str) -> None:
    echoed = ECHOES[form](token)
    with isolated_registry():
        register(token)
        shown = redact(f'{{"error": "invalid key {echoed}", "code": 401}}')
    assert echoed not in shown and token not in shown
    assert MASK in shown


def _decodings(text: str) -> Iterator[bytes]:
    """Whatever the base64 runs left in ``text`` decode to, at every alignment."""
    for run in re.findall(r"[A-Za-z0-9+/_-]+", text):
        run = run.translate(str.maketrans("-_", "+/"))
        for start in range(4):
            usable = run[start:]
            if len(usable) % 4 == 1:  # a lone character holds no whole byte
                usable = usable[:-1]
            yield base64.b64decode(usable + "=" * (-len(usable) % 4))


@given(
    token=TOKENS.filter(lambda t: len(t) >= 7),  # shorter: a run too short to mask safely
    user=st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=12),
    after=st.binary(max_size=6),
    urlsafe=st.booleans(),
)
def test_a_secret_inside_longer_base64_is_masked(
    token: str, user: str, after: bytes, urlsafe: bool
) -> None:
    encode = base64.urlsafe_b64encode if urlsafe else base64.b64encode
    header = f"Authorization: Basic {encode(f'{user}:{token}'.encode() + after).decode()}"
    assert any(token.encode() in blob for blob in _decodings(header))  # the check can see it
    with isolated_registry():
        register(token)
        shown = redact(header)
    assert not any(token.encode() in blob for blob in _decodings(shown)), shown


def test_ordinary_text_is_left_alone() -> None:
    with isolated_registry():
        register("sk_live_51Hx/q+Z")
        text = "SKU-1 price 15990 KZT; base64 aGVsbG8gd29ybGQ= stays"
        assert redact(text) == text


def test_a_percent_encoded_echo_never_reaches_the_ledger_or_the_output(
    tmp_path: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = 'sat/u+tok en"&=%?'
    monkeypatch.setenv("SATU_TOKEN", token)  # the sandbox takes any bearer token
    echoed = f"token {quote_plus(token)} ({quote(token, safe='')}) is not allowed to change B"
    httpx.post(f"{sandbox.url}/_sandbox/faults", json={"reject": {"B": echoed}})
    rows = [good_row(sku=sku) for sku in ("A", "B")]
    (tmp_path / "products.csv").write_text(csv_text(rows), encoding="utf-8")
    (tmp_path / "omnisync.yaml").write_text(
        "catalog: {products: products.csv}\nstate: state.db\noutput_dir: out\n"
        f"channels: {{satu: {{type: satu, base_url: '{sandbox.url}', token: env:SATU_TOKEN}}}}\n",
        encoding="utf-8",
    )
    result = invoke("push", "--config", tmp_path / "omnisync.yaml")
    assert result.exit_code == 3, result.stderr
    with sqlite3.connect(tmp_path / "state.db") as db:
        (error,) = db.execute("SELECT error FROM push_ledger WHERE sku = 'B'").fetchone()
        stored = " ".join(str(row) for row in db.execute("SELECT * FROM push_ledger, runs"))
    assert error.startswith("token ***") and "is not allowed to change B" in error
    for shown in (stored, result.stdout, result.stderr):
        assert quote_plus(token) not in shown and quote(token, safe="") not in shown
