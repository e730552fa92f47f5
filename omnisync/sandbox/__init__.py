"""Local emulator of the marketplace APIs (``omnisync sandbox``)."""
