"""In-store displays and kiosks: per store, a JSON document and a self-contained HTML page.

Each store's page lists the channel's products with the price shown online, the quantity in
this store, the other stores (name and city) and the online shop where it is also available,
whether it can be picked up here, and the rating when ``catalog.reviews`` is given. Items on
this store's shelf come first. The page loads nothing from elsewhere but the products' pictures
(``image_url``, lazily, each in a fixed box that stays empty when the picture cannot come), so
it works offline on a kiosk.
HTML is rendered by Jinja2 with autoescaping; JSON by the json module — escaping is never ours.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from tempfile import SpooledTemporaryFile
from typing import Annotated, Any, BinaryIO, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import Environment, PackageLoader, StrictUndefined
from pydantic import AfterValidator, Field, field_validator, model_validator

from omnisync.channels.base import Channel, ChannelConfig, Record
from omnisync.channels.capabilities import FeedWriter, FileFeed
from omnisync.channels.words import local_time, plural
from omnisync.checks import currency_mismatch, split_url
from omnisync.models import Location, Problem, Product
from omnisync.text import CENT, xml_safe

UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
# The stores' clock when a channel names none: Kazakhstan's, like the KZT and Russian defaults
# (one zone, UTC+5, for the whole country since 1 March 2024; tzdata 2024a).
DEFAULT_TIMEZONE = "Asia/Almaty"
NOT_ZONES = frozenset({"localtime", "posixrules"})  # files in the zone folder, not IANA names


def known_zone(name: str) -> str:
    """An IANA time zone name (Asia/Almaty, Europe/Moscow), checked against the zone data."""
    try:
        if name in NOT_ZONES:
            raise ZoneInfoNotFoundError(name)
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(
            f"{name!r} is not an IANA time zone name; e.g. Asia/Almaty, Europe/Moscow"
        ) from None
    return name


TimeZone = Annotated[str, AfterValidator(known_zone)]


class StoreDisplayConfig(ChannelConfig):
    type: Literal["store_display"]
    # Location codes of the stores that get a page; default: every location of type store.
    stores: list[str] | None = Field(default=None, min_length=1)
    title: str = "Каталог"
    currency: str = Field(default="KZT", pattern=r"^[A-Z]{3}$")
    timezone: TimeZone = DEFAULT_TIMEZONE  # the clock the page's times are written on

    @field_validator("stores")
    @classmethod
    def _unique(cls, stores: list[str] | None) -> list[str] | None:
        if stores is not None and len(set(stores)) != len(stores):
            raise ValueError("a store is listed twice")
        return stores

    @model_validator(mode="after")
    def _no_locations(self) -> StoreDisplayConfig:
        if self.locations is not None:
            raise ValueError(
                "locations: a display shows every location's stock; choose the "
                "stores that get a page with stores"
            )
        return self


def file_stem(code: str) -> str:
    """A location code as a file name. Codes come from the catalogue: one that is not already a
    safe name gets its unsafe characters replaced and a short hash of the code appended, so two
    codes never share a file ("ALM/1" and "ALM.1" differ)."""
    if not UNSAFE.search(code) and code:
        return code
    digest = hashlib.blake2b(code.encode("utf-8"), digest_size=4).hexdigest()
    return f"{UNSAFE.sub('_', code)}-{digest}"


def output_names(channel: str, code: str) -> tuple[str, str]:
    """(JSON, HTML) output names of one store's display."""
    stem = f"{channel}/{file_stem(code)}"
    return f"{stem}.json", f"{stem}.html"


def picture(url: str) -> str:
    """The product's picture as a page may load it: a web address (http or https), else none.
    Anything else (``javascript:``, ``data:``, a local path, control characters) never reaches
    an ``src``."""
    url = url.strip()
    if not url[:8].lower().startswith(("http://", "https://")):  # no parse for most
        return ""
    if not url.isprintable():  # a control character (ESC, a line break) is no address
        return ""
    parts = split_url(url)
    return url if parts is not None and parts.netloc else ""


def shown(location: Location) -> Location:
    """A location as the page shows it: its name, city and address from locations.csv without
    the characters XML forbids (an ESC byte, say), like every text from the catalogue. The code
    stays as it is: it keys the stock (``units``) and names the files (``file_stem``)."""
    return replace(
        location,
        name=xml_safe(location.name),
        city=xml_safe(location.city),
        address=xml_safe(location.address),
    )


def price_text(amount: Decimal | None, currency: str) -> str:
    """``15990`` → ``15 990 ₸`` for people; other currencies keep their code."""
    if amount is None:
        return ""
    whole = amount == amount.to_integral_value()
    number = f"{amount:,.0f}" if whole else f"{amount.quantize(CENT):,.2f}"
    return number.replace(",", "\u00a0") + (" ₸" if currency == "KZT" else f" {currency}")


class PerStoreFiles(Channel, FileFeed):
    """One file pair per store: the configured ``stores``, or every location of type store.
    Shared by the shelf displays and the pickup board."""

    def store_codes(self) -> list[str]:
        stores: list[str] | None = getattr(self.config, "stores", None)
        if stores is not None:
            return list(stores)
        return [c for c, loc in self.context.locations.items() if loc.type == "store"]

    def outputs(self) -> list[str]:
        return [name for code in self.store_codes() for name in output_names(self.name, code)]

    def config_issues(self) -> list[tuple[str, str]]:
        issues = super().config_issues()
        if not self.store_codes():
            message = "no stores: list them, or give locations.csv rows of type store"
            issues.append(("stores", message))
        return issues


class StoreDisplay(PerStoreFiles):
    config_model = StoreDisplayConfig
    config: StoreDisplayConfig
    reads = frozenset({"reviews"})  # the rating a shelf shows

    def to_record(self, product: Product) -> Record:
        record = self.new_record(product)
        record.fields = {
            "sku": record.key,
            "title": self.title(record, product),
            "brand": xml_safe(product.brand),
            "image_url": picture(product.image_url),
            "price": product.selling_price,
            "old_price": product.price if product.on_sale else None,
            # Shown in the channel's currency only: a row in another one (or an invalid code)
            # is refused, as Satu and Kaspi refuse it (checks.currency_mismatch), not shown.
            "currency": self.config.currency,
            "_row_currency": product.currency,
            "units": {code: self.units_at(product, code) for code in self.context.locations},
            "rating": product.rating,
            "review_count": product.review_count,
        }
        return record

    def validate(self, record: Record) -> list[Problem]:
        found = []
        if not record.fields["title"].strip():
            found.append(self.problem(record, "title", "title_missing", "title is empty"))
        if record.fields["price"] <= 0:
            found.append(
                self.problem(record, "price", "price_not_positive", "price must be greater than 0")
            )
        mismatch = currency_mismatch(
            record.fields["_row_currency"], self.config.currency, "this display shows prices in"
        )
        if mismatch:
            found.append(self.problem(record, "currency", "currency_mismatch", mismatch))
        return [*record.notes, *found]

    def open_writer(self, streams: Mapping[str, BinaryIO]) -> FeedWriter:
        locations = {code: shown(loc) for code, loc in self.context.locations.items()}
        stores = [locations[code] for code in self.store_codes()]
        return StoreWriter(self.name, stores, locations, streams, self._page_data())

    def _page_data(self) -> dict[str, str]:
        zone = ZoneInfo(self.config.timezone)
        return {
            "title": self.config.title,
            "timezone": self.config.timezone,
            "generated_at": self.context.now.astimezone(zone).isoformat(timespec="minutes"),
            "updated": local_time(self.context.now, zone),
        }

    def count_items(self, output: str, path: Path) -> int:
        json_path = path.with_suffix(".json")  # the HTML page lists what the JSON holds
        try:
            return len(json.loads(json_path.read_text(encoding="utf-8"))["products"])
        except (OSError, ValueError, KeyError, TypeError):
            return 0


def store_view(
    fields: dict[str, Any], store: Location, locations: Mapping[str, Location]
) -> dict[str, Any]:
    """One product as one store's display shows it."""
    units: dict[str, int | None] = fields["units"]
    here = units.get(store.code)
    elsewhere = [
        {"code": loc.code, "name": loc.name, "city": loc.city, "quantity": units[loc.code]}
        for loc in locations.values()
        if loc.type == "store" and loc.code != store.code and (units.get(loc.code) or 0) > 0
    ]
    warehouses = [units[c] for c, loc in locations.items() if loc.type == "warehouse"]
    online = None if any(u is None for u in warehouses) else sum(u or 0 for u in warehouses) > 0
    return {
        "sku": fields["sku"], "title": fields["title"], "brand": fields["brand"],
        "image_url": fields["image_url"],
        "price": _amount(fields["price"]), "currency": fields["currency"],
        "old_price": _amount(fields["old_price"]),
        "quantity_here": here, "pickup": bool(store.pickup and here),
        "elsewhere": elsewhere, "online": online,
        "rating": None if fields["rating"] is None else str(fields["rating"]),
        "review_count": fields["review_count"],
    }  # fmt: skip


class StoreWriter:
    """Writes every store's JSON and HTML side by side, one product at a time."""

    def __init__(
        self,
        channel: str,
        stores: list[Location],
        locations: Mapping[str, Location],
        streams: Mapping[str, BinaryIO],
        page: dict[str, str],
    ) -> None:
        self.stores, self.locations, self.page = stores, locations, page
        self.names = {s.code: output_names(channel, s.code) for s in stores}
        self.pages = {
            code: StorePage(streams[j], streams[h]) for code, (j, h) in self.names.items()
        }
        self.written = 0
        env = Environment(
            loader=PackageLoader("omnisync", "templates/store_display"),
            autoescape=True,
            undefined=StrictUndefined,
            keep_trailing_newline=True,
        )
        env.globals["plural"] = plural
        self.head, self.item, self.foot = (
            env.get_template(f"{part}.html.j2") for part in ("head", "item", "foot")
        )

    def __enter__(self) -> StoreWriter:
        for store in self.stores:
            page = self.pages[store.code]
            header = {
                "store": _store_json(store, self.page["timezone"]),
                "generated_at": self.page["generated_at"],
            }
            page.json_out.write(
                json.dumps(header, ensure_ascii=False)[:-1].encode() + b', "products": ['
            )
            page.html_out.write(self.head.render(store=store, **self.page).encode())
        return self

    def write(self, record: Record) -> None:
        for store in self.stores:
            view = store_view(record.fields, store, self.locations)
            self.pages[store.code].add(
                stock_rank(view["quantity_here"]),
                json.dumps(view, ensure_ascii=False).encode(),
                self.item.render(p=_html_view(view)).encode(),
            )
        self.written += 1

    def __exit__(self, *exc: object) -> None:
        try:
            if exc[0] is not None:
                return  # the files are discarded
            for store in self.stores:
                page = self.pages[store.code]
                page.finish()
                page.json_out.write(b"\n]}\n")
                page.html_out.write(self.foot.render(count=self.written, **self.page).encode())
        finally:
            for page in self.pages.values():
                page.close()

    def counts(self) -> Mapping[str, int]:
        return {name: self.written for pair in self.names.values() for name in pair}


def stock_rank(quantity_here: int | None) -> int:
    """Where an item goes on a store's page: 0 on the shelf here, 1 stock not tracked, 2 none
    here. A shopper at the kiosk looks for what they can take home now."""
    if quantity_here is None:
        return 1
    return 0 if quantity_here > 0 else 2


class StorePage:
    """One store's JSON and HTML items, in stock first. Items on the shelf here are written as
    they come; the others wait, per rank, in spooled files (in memory up to ``SPOOL`` bytes,
    then on disk: a large catalogue is never held whole) and follow at the end — each group
    keeps the catalogue's order."""

    def __init__(self, json_out: BinaryIO, html_out: BinaryIO) -> None:
        self.json_out, self.html_out = json_out, html_out
        self.items = 0
        self.later = [(_spool(), _spool()) for _ in LATER_RANKS]  # (JSON lines, HTML)

    def add(self, rank: int, json_item: bytes, html_item: bytes) -> None:
        if rank == 0:
            self._json(json_item)
            self.html_out.write(html_item)
            return
        json_spool, html_spool = self.later[LATER_RANKS.index(rank)]
        json_spool.write(json_item + b"\n")  # json.dumps escapes newlines: one item a line
        html_spool.write(html_item)

    def finish(self) -> None:
        for json_spool, html_spool in self.later:
            json_spool.seek(0)
            for line in json_spool:
                self._json(line.rstrip(b"\n"))
            html_spool.seek(0)
            shutil.copyfileobj(html_spool, self.html_out)

    def close(self) -> None:
        for json_spool, html_spool in self.later:
            json_spool.close()
            html_spool.close()

    def _json(self, item: bytes) -> None:
        self.json_out.write((b",\n  " if self.items else b"\n  ") + item)
        self.items += 1


LATER_RANKS = (1, 2)
SPOOL = 1 << 20  # bytes of one store's later items kept in memory


def _spool() -> SpooledTemporaryFile[bytes]:
    return SpooledTemporaryFile(max_size=SPOOL, mode="w+b")


def _amount(value: Decimal | None) -> str | None:
    return None if value is None else str(value.quantize(CENT))


def _store_json(store: Location, timezone: str) -> dict[str, Any]:
    return {
        "code": store.code,
        "name": store.name,
        "city": store.city,
        "address": store.address,
        "pickup": store.pickup,
        "timezone": timezone,
    }


def _html_view(view: dict[str, Any]) -> dict[str, Any]:
    rating = view["rating"]
    stars = "" if rating is None else "★" * round(float(rating)) + "☆" * (5 - round(float(rating)))
    return {
        **view,
        "stars": stars,
        "price_text": price_text(Decimal(view["price"]), view["currency"]),
        "old_price_text": price_text(Decimal(view["old_price"]), view["currency"])
        if view["old_price"]
        else "",
    }
