"""omnisync: one central catalogue, every sales channel."""

__version__ = "0.1.0"
