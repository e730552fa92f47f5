"""Every secret value omnisync loaded, so any text can be scrubbed before it is shown.

A config's ``env:NAME`` secret is read from the environment only when it is first used — when
a client connects — so commands that connect nowhere (validate, build, diff, status) run
without the credentials. It registers here as it is read. Logs, reports, dry-run output,
stored errors and error messages go through :func:`redact`: a token echoed back by a
marketplace in an error body — as it is, JSON-escaped, percent-encoded or in base64 — never
reaches a terminal or a file.
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Iterator
from typing import Annotated, Any
from urllib.parse import quote, quote_plus

from pydantic import BaseModel, BeforeValidator, PlainSerializer, SecretStr

MASK = "***"
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Masking a shorter base64 run would mangle ordinary text (ids, hashes) more than it protects.
MIN_BASE64_RUN = 8


class _Registry:
    def __init__(self) -> None:
        self.secrets: set[str] = set()
        self.pattern: re.Pattern[str] | None = None  # every form of every secret, longest first


_registry = _Registry()


def register(value: str) -> None:
    if len(value) >= 4 and value not in _registry.secrets:  # shorter would mangle plain text
        _registry.secrets.add(value)
        _registry.pattern = None


def redact(text: str) -> str:
    if not _registry.secrets:
        return text
    if _registry.pattern is None:
        _registry.pattern = _compile(_registry.secrets)
    return _registry.pattern.sub(MASK, text)


def _compile(secrets: set[str]) -> re.Pattern[str]:
    forms = {form for secret in secrets for form in _forms(secret)}
    return re.compile("|".join(_form_pattern(f) for f in sorted(forms, key=len, reverse=True)))


def _form_pattern(form: str) -> str:
    """The form, with the hex digits of its %XX escapes in either case (``%2f`` = ``%2F``)."""
    parts = re.split(r"(%[0-9A-F]{2})", form)
    return "".join(
        f"%(?i:{part[1:]})" if i % 2 else re.escape(part) for i, part in enumerate(parts)
    )


def _forms(secret: str) -> set[str]:
    """How a server may echo a secret: as it is, in a JSON string, in a URL or form body, in
    base64 (a Basic header, a data blob), and JSON-escaped again where ``/`` becomes ``\\/``."""
    forms = {
        secret,
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        quote(secret),
        quote(secret, safe=""),
        quote_plus(secret),
    }
    forms |= set(_base64_forms(secret.encode("utf-8")))
    forms |= {form.replace("/", "\\/") for form in forms}
    return forms


def _base64_forms(raw: bytes) -> Iterator[str]:
    """The secret alone in base64 (padded or not), and the run of characters that encodes it
    inside longer base64 text (``user:token`` in a Basic header): base64 turns 3 bytes into 4
    characters, so the secret lands at one of three alignments; in each, the characters whose
    6 bits all come from the secret are the same whatever surrounds it."""
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        alone = encode(raw).decode("ascii")
        yield alone
        yield alone.rstrip("=")
        for shift in range(3):
            encoded = encode(bytes(shift) + raw).decode("ascii")
            first, end = -(-8 * shift // 6), 8 * (shift + len(raw)) // 6
            if end - first >= MIN_BASE64_RUN:
                yield encoded[first:end]


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


def resolve(value: Any) -> None:
    """Read every ``env:`` secret in ``value`` now: a run that will connect to several
    channels stops on a missing variable before it sends anything to any of them."""
    for _, secret in env_secrets(value):
        secret.get_secret_value()


def _masked(value: SecretStr) -> str:
    return str(value)  # pydantic's own would read the value: a config dump must not need it


# A config field holding a secret: written ``env:NAME``, held as a SecretStr (an EnvSecret).
Secret = Annotated[
    SecretStr, BeforeValidator(_env_reference), PlainSerializer(_masked, when_used="json")
]
