"""``catalog: {source: commerceml}``: a 1C CommerceML 2 exchange set (channels.md §6).

``import.xml`` holds the goods (names, groups, properties, pictures, barcodes), ``offers.xml``
what is sold: one offer per good or per characteristic, with prices by type and stock by
warehouse. Each offer becomes one product. Both files stream through the hardened parser
(``xmlinput.events``: no DOCTYPE, no entities, no network); the goods wait for their offers in
a temporary SQLite index on disk, so memory stays flat whatever the export's size and order.

A partial export (``СодержитТолькоИзменения="true"``) is refused: read as the whole catalogue
it would withdraw every item it leaves out from every channel.
"""

from __future__ import annotations

import tempfile
from collections.abc import Generator, Iterator
from contextlib import closing
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from lxml import etree

from omnisync.catalogs import CommerceMLCatalog
from omnisync.commerceml.goods import Goods, problem
from omnisync.commerceml.parse import Classifier, Good, Offer, Package, local, only_changes
from omnisync.commerceml.products import Maker, sku_of
from omnisync.errors import ConfigError, SourceError
from omnisync.models import Location, Product, Severity
from omnisync.sources.base import ProblemSink, Source
from omnisync.sources.csvrows import CsvTable
from omnisync.sources.locations import read_locations
from omnisync.sources.sidefiles import ReviewIndex
from omnisync.sources.values import RowError, check_id, check_urls, shown
from omnisync.xmlinput import UnsafeXml, events

ROOT = "КоммерческаяИнформация"


class CommerceMLSource(Source):
    def __init__(self, settings: CommerceMLCatalog, config: Path) -> None:
        self.settings, self.config = settings, config
        self.import_file, self.offers = settings.import_file, settings.offers

    def locations(self, on_problem: ProblemSink) -> list[Location]:
        """``catalog.locations`` when given, else one warehouse per ``Склад`` of offers.xml."""
        package = self._package()
        codes = {i: self.settings.warehouses.get(i, i) for i in package.warehouses}
        if self.settings.locations is None:
            return [
                Location(codes[i], name or i, "warehouse") for i, name in package.warehouses.items()
            ]
        table = self._csv(self.settings.locations, "locations")
        found = read_locations(table, on_problem)
        known = {loc.code for loc in found}
        for warehouse, code in codes.items():
            if code not in known:
                on_problem(
                    problem(
                        self.offers.name,
                        None,
                        "unknown_location",
                        "stock",
                        f"Склад {warehouse} ({code}) is not in {self.settings.locations.name}",
                        Severity.WARNING,
                    )
                )
        return found

    def snapshot_time(self) -> datetime | None:
        """When offers.xml (the stock) was written, as for a CSV stock file."""
        stamp = self.offers.stat().st_mtime if self.offers.exists() else None
        return datetime.fromtimestamp(stamp, UTC) if stamp is not None else None

    def read(self, on_problem: ProblemSink) -> Iterator[Product]:
        with tempfile.TemporaryDirectory(prefix="omnisync-1c-") as folder:
            goods = Goods(Path(folder) / "goods.db")
            try:
                classifier = self._goods(goods, on_problem)
                yield from self._products(goods, classifier, on_problem)
            finally:
                goods.close()

    def offer_ids(self, skus: set[str]) -> dict[str, str]:
        """The 1C ``Ид`` (``good#characteristic`` for a variant) of each of ``skus``: what an
        order's lines must name for 1C to match them (channels.md §6.4). Deleted goods and
        offers are skipped, as the feeds skip them."""
        found: dict[str, str] = {}
        with tempfile.TemporaryDirectory(prefix="omnisync-1c-") as folder:
            goods = Goods(Path(folder) / "goods.db")
            try:
                classifier = self._goods(goods, lambda _: None)
                with closing(_events(self.offers, ("Предложение",))) as offers:
                    for event, element in offers:
                        if len(found) == len(skus):
                            break
                        if event == "end":
                            self._match(Offer.read(element, classifier), goods, skus, found)
            finally:
                goods.close()
        return found

    @staticmethod
    def _match(offer: Offer, goods: Goods, skus: set[str], found: dict[str, str]) -> None:
        good = goods.take(offer.good_id)
        if good is not None and not good.deleted and not offer.deleted:
            sku = sku_of(good, offer)
            if sku in skus:
                found.setdefault(sku, offer.own_id)

    def _goods(self, goods: Goods, on_problem: ProblemSink) -> Classifier:
        classifier = Classifier()
        for event, element in _events(self.import_file, ("Каталог", "Классификатор", "Товар")):
            name = local(element.tag)
            if event == "start" and name == "Каталог":
                self._whole(element, self.import_file)
            elif event == "end" and name == "Классификатор":
                classifier.read(element)
            elif event == "end" and name == "Товар":
                goods.add(Good.read(element, classifier), self.import_file.name, on_problem)
        return classifier

    def _products(
        self, goods: Goods, classifier: Classifier, on_problem: ProblemSink
    ) -> Iterator[Product]:
        package, maker = Package(), None
        reviews = self._reviews(on_problem)
        tags = ("ПакетПредложений", "ТипыЦен", "Склады", "Предложения", "Предложение")
        for event, element in _events(self.offers, tags):
            name = local(element.tag)
            if event == "start" and name == "ПакетПредложений":
                self._whole(element, self.offers)
            elif event == "end" and name in ("ТипыЦен", "Склады"):
                package.read(element)
            elif event == "start" and name == "Предложения":
                maker = self._maker(package, classifier)
            elif event == "end" and name == "Предложение" and maker is not None:
                product = self._product(maker, goods, Offer.read(element, classifier), on_problem)
                if product is not None:
                    yield self._reviewed(product, reviews)
        goods.report_unoffered(self.import_file.name, on_problem)
        if reviews is not None:
            reviews.report_leftovers(on_problem)

    def _product(
        self, maker: Maker, goods: Goods, offer: Offer, on_problem: ProblemSink
    ) -> Product | None:
        good = goods.take(offer.good_id)
        file = self.offers.name
        if good is None:
            message = f"offer {offer.id!r}: import.xml has no Товар with Ид {offer.good_id!r}"
            on_problem(problem(file, offer.line, "unknown_good", "Ид", message, sku=offer.article))
            return None
        if good.deleted:
            return None  # reported once, with the good
        sku = sku_of(good, offer)
        if offer.deleted:
            message = "marked deleted in 1C: left out of every channel"
            on_problem(
                problem(file, offer.line, "deleted_item", "Статус", message, Severity.WARNING, sku)
            )
            return None
        try:
            product = maker.product(good, offer, sku, file, on_problem)
            # As for a table's row: ids feeds would clean into twins, and a picture path or a
            # property mapped to url that carries a user name or password.
            check_id(product.sku, "sku")
            check_id(product.item_group_id, "item_group_id")
            check_urls(product.url, product.image_url, product.additional_image_urls)
            return product
        except RowError as err:
            message = f"{err.field}: {err}"
            on_problem(problem(file, offer.line, err.code, err.field, message, sku=shown(sku)))
            return None

    def _maker(self, package: Package, classifier: Classifier) -> Maker:
        """Price types are looked up by name once the package header is read."""
        wanted = [("price_type", self.settings.price_type)]
        if self.settings.sale_price_type:
            wanted.append(("sale_price_type", self.settings.sale_price_type))
        wanted += [("city_price_types", name) for name in self.settings.city_price_types]
        names = sorted(n for n, _ in package.price_types.values())
        issues = [
            (
                f"catalog.{key}",
                f"{name!r} is not a ТипЦены in {self.offers.name}; it has: "
                f"{', '.join(names) or 'none'}",
            )
            for key, name in wanted
            if package.price_type(name) is None
        ]
        if issues:
            raise ConfigError(str(self.config), issues)
        return Maker(self.settings, package, classifier)

    def _package(self) -> Package:
        """The offers' header (price types, warehouses), read up to the first offer."""
        package = Package()
        with closing(_events(self.offers, ("ТипыЦен", "Склады", "Предложения"))) as found:
            for event, element in found:
                if local(element.tag) == "Предложения":
                    break
                if event == "end":
                    package.read(element)
        return package

    def _reviews(self, on_problem: ProblemSink) -> ReviewIndex | None:
        path = self.settings.reviews if self.reads("reviews") else None
        if path is None:
            return None
        return ReviewIndex(self._csv(path, "reviews")).load(on_problem)

    def _csv(self, path: Path, key: Literal["locations", "reviews"]) -> CsvTable:
        """One of the CSV files beside the exchange set, with its delimiter and encoding."""
        settings = self.settings
        delimiter = settings.delimiters.get(key, settings.delimiter)
        setting = f"catalog.delimiters.{key}"
        return CsvTable(path, delimiter, encoding=settings.encoding, setting=setting)

    @staticmethod
    def _reviewed(product: Product, reviews: ReviewIndex | None) -> Product:
        review = reviews.take(product.sku) if reviews is not None else None
        if review is None:
            return product
        return replace(product, rating=review[0], review_count=review[1])

    @staticmethod
    def _whole(element: Any, path: Path) -> None:
        if only_changes(element):
            raise SourceError(
                path.name,
                element.sourceline,
                "holds only changes (СодержитТолькоИзменения=true); omnisync needs the whole "
                "catalogue: set the 1C exchange to unload everything",
            )


def _events(path: Path, tags: tuple[str, ...]) -> Generator[tuple[str, Any], None, None]:
    """The file's events, its schema version checked; bad XML becomes a SourceError."""
    try:
        for event, element in events(path, (ROOT, *tags)):
            if local(element.tag) == ROOT:
                _version(element, path)
                continue
            yield event, element
    except UnsafeXml as exc:
        raise SourceError(path.name, None, str(exc)) from None
    except etree.XMLSyntaxError as exc:
        raise SourceError(path.name, exc.lineno, f"not well-formed XML: {exc.msg}") from None


def _version(root: Any, path: Path) -> None:
    version = (root.get("ВерсияСхемы") or "").strip()
    if version and not version.startswith("2."):
        raise SourceError(
            path.name, root.sourceline, f"CommerceML {version} is not supported: export 2.04–2.10"
        )
