"""The ``catalog:`` section: one settings model per kind of central system, picked by
``source`` (``csv`` when omitted). README → "Catalogue sources" documents every key."""

from __future__ import annotations

import re
import string
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from omnisync.paths import InputFile


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CatalogConfig(StrictModel):
    # csv: read the files below. sqlite: read the central store's snapshot (the files below are
    # then what `omnisync catalog import` loads into it).
    source: Literal["csv", "sqlite"] = "csv"
    products: InputFile | None = None
    stock: InputFile | None = None
    locations: InputFile | None = None
    city_prices: InputFile | None = None  # sku,city_id,price
    reviews: InputFile | None = None  # sku,rating,count
    delimiter: Literal[",", ";", "\t", "|"] = ","

    @model_validator(mode="after")
    def _csv_needs_products(self) -> CatalogConfig:
        if self.source == "csv" and self.products is None:
            raise ValueError("products: a CSV catalogue needs its products file")
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
    delimiter: Literal[",", ";", "\t", "|"] = ","  # of those two CSV files

    @field_validator("url_template")
    @classmethod
    def _one_known_field(cls, value: str) -> str:
        names = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
        if not names or not names <= URL_FIELDS:
            raise ValueError("use {sku}, {slug} or {id}, e.g. https://shop.example.kz/p/{sku}")
        return value


CATALOG_TAGS = frozenset({"csv", "commerceml"})


def _tag(value: Any) -> str:
    source = value.get("source") if isinstance(value, dict) else getattr(value, "source", None)
    return "commerceml" if source == "commerceml" else "csv"  # csv's model reports a typo


Catalog = Annotated[
    Annotated[CatalogConfig, Tag("csv")] | Annotated[CommerceMLCatalog, Tag("commerceml")],
    Discriminator(_tag),
]
