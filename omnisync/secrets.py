"""Every secret value omnisync loaded, so any text can be scrubbed before it is shown.

Config's ``env:`` secrets register here as they are read. Logs, reports, dry-run output and
error messages go through :func:`redact` at the edge (cli/console) — a token echoed back by a
marketplace in an error body never reaches a terminal or a file.
"""

from __future__ import annotations

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
