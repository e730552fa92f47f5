"""Catalogue sources: each reads the central system and yields products one at a time."""
