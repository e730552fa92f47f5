"""Stable fingerprints for incremental planning (docs/architecture.md, "Incremental planning").

Unlike :mod:`omnisync.keyset` (the interpreter's hash, fresh in every process), these are kept
in the state file from one run to the next, so they are computed the same way everywhere.
"""

from __future__ import annotations

import zlib
from hashlib import blake2b


def sku_fp(sku: str) -> int:
    """A SKU's 63-bit fingerprint (fits SQLite's signed integers). Two SKUs sharing one only
    cost speed: the input print, compared first, covers the SKU's bytes too."""
    digest = blake2b(sku.encode("utf-8", "surrogateescape"), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


def print_of(data: bytes, crc: int = 0, length: int = 0) -> tuple[int, int]:
    """Fold ``data`` into a running (CRC-32, length): chained, it equals the pair of the
    concatenation."""
    return zlib.crc32(data, crc), length + len(data)


def packed(crc: int, length: int) -> int:
    """The 64-bit input print. CRC-32 catches every change within 4 consecutive bytes and the
    length every change of length; any other change slips through with probability 2⁻³². What
    it would hide of a pushed item is re-sent at reassertion (``reassert_after``); a SKU the
    channel filters out has no item to reassert, and stays filtered until its rows change again
    or a run reads everything (``push --full``). Never 0, which marks "read it next run"."""
    return crc << 32 | (length & 0xFFFFFFFF) or 1
