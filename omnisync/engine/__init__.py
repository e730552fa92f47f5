"""The columnar engine (issue 17): Polars, set up once for the whole process.

Every module that uses Polars imports it from here (``from omnisync.engine import pl``), so
the settings below are in the environment before Polars reads them. Why each one:
docs/architecture.md, "Engine choice".
"""

from __future__ import annotations

import os


def _default(name: str, value: str) -> None:
    """Polars reads these when it first needs them; a user's own setting wins. An empty one
    counts as unset: Polars panics on it."""
    if not os.environ.get(name):
        os.environ[name] = value


# 1 MiB CSV chunks: the default 32 MiB read-ahead is what made memory grow with the file
# (measured: 297 → 523 MB from 100k to 1M SKUs; 185 → 225 MB at 1 MiB).
_default("POLARS_CSV_CHUNK_SIZE", str(1 << 20))
# The engine's threads are how a run uses both cores (no forked workers of our own).
_default("POLARS_MAX_THREADS", str(max(1, min(os.cpu_count() or 1, 4))))

import polars as pl  # noqa: E402 (after the settings above)

__all__ = ["pl"]
