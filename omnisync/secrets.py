"""Every secret value omnisync loaded, so any text can be scrubbed before it is shown.

A config's ``env:NAME`` secret is read from the environment only when it is first used — when
a client connects — so commands that connect nowhere (validate, build, diff, status) run
without the credentials. It registers here as it is read. Logs, reports, dry-run output,
stored errors and error messages go through :func:`redact`: a token echoed back by a
marketplace in an error body never reaches a terminal or a file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, PlainSerializer, SecretStr

MASK = "***"
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SECRETS: set[str] = set()


def register(value: str) -> None:
    if len(value) >= 4:  # masking shorter strings would mangle ordinary text
        _SECRETS.add(value)


def redact(text: str) -> str:
    for secret in sorted(_SECRETS, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    return text


class EnvSecret(SecretStr):
    """A secret written ``env:NAME``: the variable is read (and checked, and registered for
    redaction) when the value is first asked for, i.e. when a client connects. ``key`` is the
    config key that names it, for the message when it is not set."""

    def __init__(self, variable: str, key: str = "") -> None:
        super().__init__("")
        self.variable, self.key = variable, key
        self._value: str | None = None

    def get_secret_value(self) -> str:
        if self._value is None:
            self._value = read_env(self.variable, self.key)
        return self._value

    def _display(self) -> str:
        return "**********"  # as a set SecretStr shows, whether or not it has been read

    def __bool__(self) -> bool:
        return True  # there is a reference; whether the variable is set is for get_secret_value

    def __len__(self) -> int:
        return len(self.get_secret_value())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EnvSecret) and other.variable == self.variable

    def __hash__(self) -> int:
        return hash(("env", self.variable))


def read_env(variable: str, key: str = "") -> str:
    """The variable's value, stripped (a trailing newline from ``cat token`` is not the token),
    registered for redaction; SecretUnset (exit 2) when it is unset or cannot be a token."""
    # errors.py imports this module (for redact), so its error class is fetched when needed.
    from omnisync.errors import SecretUnset

    if variable not in os.environ:
        raise SecretUnset(variable, key, "is not set")
    secret = os.environ[variable].strip()
    if not secret or not secret.isascii() or not secret.isprintable():
        raise SecretUnset(
            variable, key, "is empty or holds characters a token cannot have (not shown)"
        )
    register(secret)
    return secret


def _env_reference(value: object) -> EnvSecret:
    """``env:NAME`` → a reference to the variable; only the syntax is checked here."""
    if not isinstance(value, str) or not value.startswith("env:"):
        raise ValueError("write secrets as env:NAME and set NAME in the environment")
    if not ENV_NAME.fullmatch(value[4:]):
        raise ValueError("env:NAME: NAME is letters, digits and _, not starting with a digit")
    return EnvSecret(value[4:])


def env_secrets(value: Any, key: tuple[str, ...] = ()) -> Iterator[tuple[str, EnvSecret]]:
    """Every ``env:`` secret held in ``value`` (a model, dict or list) with its dotted key."""
    if isinstance(value, EnvSecret):
        yield ".".join(key), value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from env_secrets(getattr(value, name), (*key, name))
    elif isinstance(value, dict):
        for name, item in value.items():
            yield from env_secrets(item, (*key, str(name)))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from env_secrets(item, (*key, str(index)))


def _masked(value: SecretStr) -> str:
    return str(value)  # pydantic's own would read the value: a config dump must not need it


# A config field holding a secret: written ``env:NAME``, held as a SecretStr (an EnvSecret).
Secret = Annotated[
    SecretStr, BeforeValidator(_env_reference), PlainSerializer(_masked, when_used="json")
]
