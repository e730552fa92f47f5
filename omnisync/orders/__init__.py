"""Marketplace orders: one model, effectively-once ingest, reservations."""
