"""Which channel types exist: the built-in ones plus ``omnisync.channels`` entry points."""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points

from omnisync.channels.base import Channel
from omnisync.channels.google import GoogleMerchant
from omnisync.channels.kaspi import Kaspi
from omnisync.channels.local_inventory import GoogleLocalInventory
from omnisync.channels.meta import MetaCatalog
from omnisync.channels.ozon import Ozon
from omnisync.channels.pickup_board import PickupBoard
from omnisync.channels.satu import Satu
from omnisync.channels.store_display import StoreDisplay

BUILTIN: dict[str, type[Channel]] = {
    "google_merchant": GoogleMerchant,
    "google_local_inventory": GoogleLocalInventory,
    "kaspi": Kaspi,
    "meta": MetaCatalog,
    "ozon": Ozon,
    "pickup_board": PickupBoard,
    "satu": Satu,
    "store_display": StoreDisplay,
}


@cache
def channel_types() -> dict[str, type[Channel]]:
    """Built-in channels, then third-party ones (a plugin cannot shadow a built-in name)."""
    found = dict(BUILTIN)
    for ep in entry_points(group="omnisync.channels"):
        found.setdefault(ep.name, ep.load())
    return found


def lookup(type_name: str) -> type[Channel]:
    """The channel class for ``type_name``; KeyError names every known type."""
    types = channel_types()
    if type_name not in types:
        known = ", ".join(sorted(types))
        raise KeyError(f"unknown channel type {type_name!r}; known: {known}")
    return types[type_name]
