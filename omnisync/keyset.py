"""Which keys a run has seen, in 8 bytes a key.

A run remembers every SKU (repeats are reported) and every channel item id (ids must be
unique per channel). A Python ``set`` of strings costs about 110 bytes a key: 110 MB per
channel for a million SKUs. :class:`KeySet` keeps 64-bit fingerprints (the interpreter's own
string hash, computed once per string) in an open-addressing table at most half full: 16 MB for
a million keys, and about as fast.

The price is a fingerprint shared by two different keys, with probability about n²/2⁶⁵ for n
keys (3·10⁻⁸ for a million): the later key is then reported as a repeat (a visible problem,
never a silent loss), where a set of strings would have kept it.
"""

from __future__ import annotations

from array import array

EMPTY = 0  # a free slot; a key hashing to 0 is stored as 1


class KeySet:
    def __init__(self, bits: int = 16) -> None:
        self._mask = (1 << bits) - 1
        self._table = array("q", bytes(8 << bits))
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def __contains__(self, key: object) -> bool:
        return self._table[self._slot(hash(key) or 1)] != EMPTY

    def add(self, key: str) -> bool:
        """Record ``key``; True when it was not there yet."""
        fingerprint = hash(key) or 1
        slot = self._slot(fingerprint)
        if self._table[slot] != EMPTY:
            return False
        self._table[slot] = fingerprint
        self._count += 1
        if self._count * 2 > self._mask:
            self._grow()
        return True

    def _slot(self, fingerprint: int) -> int:
        """Where ``fingerprint`` is, or the free slot where it belongs (linear probing)."""
        table, mask = self._table, self._mask
        slot = fingerprint & mask
        while table[slot] != EMPTY and table[slot] != fingerprint:
            slot = (slot + 1) & mask
        return slot

    def _grow(self) -> None:
        old = self._table
        self._mask = self._mask * 2 + 1
        self._table = array("q", bytes(8 * (self._mask + 1)))
        for fingerprint in old:
            if fingerprint != EMPTY:
                self._table[self._slot(fingerprint)] = fingerprint
