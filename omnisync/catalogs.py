"""The ``catalog:`` section: one settings model per kind of central system, picked by
``source`` (``csv`` when omitted). README → "Catalogue sources" documents every key."""

from __future__ import annotations

import re
import string
from collections.abc import Iterable
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    SecretStr,
    Tag,
    field_validator,
    model_validator,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from omnisync.checks import CREDENTIALS, url_credentials
from omnisync.paths import InputFile
from omnisync.secrets import Secret


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def text_encoding(value: str) -> str:
    """An encoding Python can decode text files in, by any of its names (utf-8, windows-1251,
    cp1251, …): a typo is a config error now, not an unreadable catalogue later."""
    try:
        # Not b"": decoding nothing never looks the name up. rot13, base64 and the like are
        # codecs too, but not text encodings: decode() refuses them with a LookupError as well.
        b"sku".decode(value, "replace")
    except LookupError:
        raise ValueError(
            f"{value!r} is not a text encoding; use e.g. utf-8 or windows-1251"
        ) from None
    return value


Encoding = Annotated[str, AfterValidator(text_encoding)]


Delimiter = Literal[",", ";", "\t", "|"]
# A file's own delimiter, by the key that names the file: ERPs export stock and prices with
# other tools than the products, and each writes its own.
CsvFileKey = Literal["products", "stock", "locations", "city_prices", "reviews"]


def _delimited_files(settings: BaseModel, keys: Iterable[str]) -> None:
    unset = [key for key in keys if getattr(settings, key) is None]
    if unset:
        raise ValueError(f"delimiters: no {unset[0]} file is configured to read with it")


class CatalogConfig(StrictModel):
    # csv: read the files below. sqlite: read the central store's snapshot (the files below are
    # then what `omnisync catalog import` loads into it).
    source: Literal["csv", "sqlite"] = "csv"
    products: InputFile | None = None
    stock: InputFile | None = None
    locations: InputFile | None = None
    city_prices: InputFile | None = None  # sku,city_id,price
    reviews: InputFile | None = None  # sku,rating,count
    delimiter: Delimiter = ","  # every file's, unless delimiters gives the file its own
    delimiters: dict[CsvFileKey, Delimiter] = {}  # e.g. {stock: ";"}
    encoding: Encoding = "utf-8"  # of every file; UTF-8 may start with a BOM

    @model_validator(mode="after")
    def _csv_needs_products(self) -> CatalogConfig:
        if self.source == "csv" and self.products is None:
            raise ValueError("products: a CSV catalogue needs its products file")
        _delimited_files(self, self.delimiters)
        return self


URL_FIELDS = frozenset({"sku", "slug", "id"})
CITY_ID = re.compile(r"^\d+$")


class CommerceMLCatalog(StrictModel):
    """A 1C CommerceML 2 exchange set (channels.md §6): ``import.xml`` + ``offers.xml``."""

    source: Literal["commerceml"]
    import_file: InputFile = Field(alias="import")
    offers: InputFile
    price_type: str = Field(min_length=1)  # the ТипЦены (by name) that is the selling price
    sale_price_type: str | None = None  # a ТипЦены for the sale price, when 1C keeps one
    city_price_types: dict[str, Annotated[str, Field(pattern=CITY_ID.pattern)]] = {}
    # 1C exports carry no product URLs: {sku}, {slug} (lower case, '-' between) or {id} (Ид).
    url_template: str
    image_base_url: str = Field(default="", pattern=r"^(https?://\S+/)?$")
    # 1C property, requisite or characteristic name → catalogue field (brand, color, size, mpn,
    # google_category, condition, url, …) or attribute name; added to DEFAULT_PROPERTIES.
    properties: dict[str, str] = {}
    warehouses: dict[str, str] = {}  # Склад Ид → location code (else the Ид is the code)
    locations: InputFile | None = None  # code,name,type,… as for CSV catalogues
    reviews: InputFile | None = None  # sku,rating,count: 1C keeps no reviews
    delimiter: Delimiter = ","  # of those two CSV files, unless delimiters gives one its own
    delimiters: dict[Literal["locations", "reviews"], Delimiter] = {}
    encoding: Encoding = "utf-8"  # of those two CSV files (the XML files declare their own)

    @model_validator(mode="after")
    def _delimited(self) -> CommerceMLCatalog:
        _delimited_files(self, self.delimiters)
        return self

    @field_validator("url_template", "image_base_url")
    @classmethod
    def _no_credentials(cls, value: str) -> str:
        if url_credentials(value):
            raise ValueError(CREDENTIALS)
        return value

    @field_validator("url_template")
    @classmethod
    def _one_known_field(cls, value: str) -> str:
        names = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
        if not names or not names <= URL_FIELDS:
            raise ValueError("use {sku}, {slug} or {id}, e.g. https://shop.example.kz/p/{sku}")
        return value


DATABASES = ("postgresql", "sqlite")  # the drivers omnisync installs: psycopg 3, sqlite3


def database_url(value: str) -> str:
    """A database URL omnisync can open, with no password in it (that is ``password:``)."""
    if re.match(r"^[\w+.-]+://[^/@]*:[^/@]*@", value):
        raise ValueError("write the password as password: env:NAME, not in the URL")
    try:
        backend = make_url(value).get_backend_name()
    except (ArgumentError, ValueError):
        backend = ""
    if backend not in DATABASES:
        raise ValueError("use postgresql://user@host:5432/db or sqlite:///file.db")
    return value


class SqlCatalog(StrictModel):
    """A database, read with the user's queries (README → "SQL databases")."""

    source: Literal["sql"]
    # An SQLAlchemy URL: postgresql://user@host/db or sqlite:///erp.db (relative to this file).
    url: str = Field(min_length=1)
    password: Secret | None = None  # put into the URL when connecting, never written in it
    products_query: str = Field(min_length=1)  # columns named as in products.csv
    stock_query: str | None = None  # sku, location, quantity
    city_prices_query: str | None = None  # sku, city_id, price
    reviews_query: str | None = None  # sku, rating, count
    locations_query: str | None = None  # code, name, type, city, address, pickup
    locations: InputFile | None = None  # or locations.csv

    @field_validator("url")
    @classmethod
    def _database(cls, value: str) -> str:
        return database_url(value)

    @model_validator(mode="after")
    def _one_locations(self) -> SqlCatalog:
        if self.locations is not None and self.locations_query is not None:
            raise ValueError("locations: give locations or locations_query, not both")
        return self


class Pagination(StrictModel):
    """How the API pages its items (README → "HTTP JSON APIs")."""

    style: Literal["page", "offset", "cursor"] = "page"
    page_size: int = Field(default=100, ge=1, le=10_000)
    page_param: str = "page"  # page: ?page=1,2,… (from first_page)
    first_page: int = Field(default=1, ge=0)
    size_param: str = "per_page"  # page and offset: the page size parameter
    offset_param: str = "offset"  # offset: ?offset=0,100,…
    cursor_param: str = "cursor"  # cursor: ?cursor=<the last answer's next cursor>
    next_cursor: str = "next_cursor"  # cursor: dotted path of it in the answer; empty = the end


class StockItems(StrictModel):
    """Per-location stock listed inside each item: ``"stocks": [{"store": "ALM-1", "qty": 3}]``."""

    items: str  # dotted path of the list in an item
    location: str = "location"  # key of the location code in an entry
    quantity: str = "quantity"  # key of the on-hand count in an entry


SENSITIVE = re.compile(r"auth|token|key|secret|cookie|session|pass", re.IGNORECASE)


class HttpCatalog(StrictModel):
    """A paginated JSON API (an ERP's or PIM's), read page by page with the shared retry policy."""

    source: Literal["http"]
    url: str = Field(pattern=r"^https?://\S+$")  # the products endpoint
    headers: dict[str, Secret | str] = {}  # values written env:NAME are secrets
    pagination: Pagination = Pagination()
    items: str = ""  # dotted path of the list of items in an answer; "" = the answer is the list
    # Catalogue column (as in products.csv) → dotted path in an item; sku, title, price, url and
    # image_url are required. Lists become a|b (images) or a > b (category) as in CSV cells.
    fields: dict[str, str]
    stock: StockItems | None = None  # else fields may map quantity (a total)
    locations: InputFile | None = None  # code,name,type,… as for CSV catalogues
    requests_per_minute: float = Field(default=120.0, gt=0)

    @field_validator("headers")
    @classmethod
    def _secret_headers(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name, held in value.items():
            if SENSITIVE.search(name) and not isinstance(held, SecretStr):
                raise ValueError(f"{name}: write credentials as env:NAME, never in the file")
        return value

    @field_validator("fields")
    @classmethod
    def _required_fields(cls, value: dict[str, str]) -> dict[str, str]:
        missing = [f for f in ("sku", "title", "price", "url", "image_url") if f not in value]
        if missing:
            raise ValueError(f"map {', '.join(missing)} to a path in an item, e.g. sku: id")
        return value


CATALOG_TAGS = frozenset({"csv", "commerceml", "sql", "http"})


def _tag(value: Any) -> str:
    source = value.get("source") if isinstance(value, dict) else getattr(value, "source", None)
    return source if source in ("commerceml", "sql", "http") else "csv"  # csv's reports a typo


Catalog = Annotated[
    Annotated[CatalogConfig, Tag("csv")]
    | Annotated[CommerceMLCatalog, Tag("commerceml")]
    | Annotated[SqlCatalog, Tag("sql")]
    | Annotated[HttpCatalog, Tag("http")],
    Discriminator(_tag),
]
