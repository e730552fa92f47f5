"""Every secret value omnisync loaded, so any text can be scrubbed before it is shown.

Config's ``env:`` secrets register here as they are read. Logs, reports, dry-run output and
error messages go through :func:`redact` at the edge (cli/console) — a token echoed back by a
marketplace in an error body never reaches a terminal or a file.
"""

from __future__ import annotations

import os
from typing import Annotated

from pydantic import BeforeValidator, SecretStr

_SECRETS: set[str] = set()
MASK = "***"


def register(value: str) -> None:
    if len(value) >= 4:  # masking shorter strings would mangle ordinary text
        _SECRETS.add(value)


def redact(text: str) -> str:
    for secret in sorted(_SECRETS, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def _env_secret(value: object) -> str:
    """``env:NAME`` → the variable's value, which pydantic then wraps in a SecretStr."""
    if not isinstance(value, str) or not value.startswith("env:"):
        raise ValueError("write secrets as env:NAME and set NAME in the environment")
    name = value[4:]
    if name not in os.environ:
        raise ValueError(f"environment variable {name} is not set")
    secret = os.environ[name].strip()  # a trailing newline from `cat token` is not the token
    if not secret or not secret.isascii() or not secret.isprintable():
        raise ValueError(
            f"environment variable {name} is empty or holds characters a token "
            "cannot have (the value is not shown)"
        )
    register(secret)
    return secret


# A config field holding a secret: written ``env:NAME``, held as a SecretStr.
Secret = Annotated[SecretStr, BeforeValidator(_env_secret)]
