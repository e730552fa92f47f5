"""The central store: one SQLite file with the catalogue snapshot, stock per location, the push
ledger and run records. See ``schema`` for the tables and ``Store`` for the way in."""

from omnisync.store.db import Store, open_store, stored

__all__ = ["Store", "open_store", "stored"]
