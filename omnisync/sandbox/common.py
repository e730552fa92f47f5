"""Helpers shared by the sandbox's channel emulators."""

from __future__ import annotations

from typing import Any

Answer = tuple[int, Any, dict[str, str]]


def error(status: int, message: str, headers: dict[str, str] | None = None) -> Answer:
    return status, {"error": {"code": status, "message": message}}, headers or {}


def missing_auth(headers: dict[str, str], *names: str) -> Answer | None:
    absent = [name for name in names if not headers.get(name.lower(), "").strip()]
    if absent:
        return error(401, f"missing or empty header(s): {', '.join(absent)}")
    return None


def bearer(headers: dict[str, str]) -> Answer | None:
    value = headers.get("authorization", "")
    if not value.startswith("Bearer ") or not value[7:].strip():
        return error(401, "missing Authorization: Bearer <token>")
    return None
