"""A run's catalogue pass through the engine: the products file in batches, each channel's
items for the plain rows built as columns and written as one text per stretch of plain rows,
and every other row built and mapped one by one, in file order, by the per-item code.

Taken when the engine can serve the whole run (``plan``): a CSV catalogue whose products and
stock files the engine reads (``csvshape``; the side files joined by ``engine.sides``), and
channels the engine maps (``MAPPINGS``). Otherwise the run reads product by product
(``pipeline.Run``), as before.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from omnisync import stopping
from omnisync.engine import google, kaspi, local, meta, ozon, pl, satu
from omnisync.engine.items import ChannelMapping, Items, PushRows
from omnisync.engine.products import Cells, source_plain
from omnisync.engine.sides import Sides, read_sides
from omnisync.lanes import Lane
from omnisync.models import Product
from omnisync.report import RunReport
from omnisync.sources.csvengine import EngineFrame
from omnisync.sources.csvfile import CsvSource

# The channels the engine maps, each by its mapping: their feed items, and their push items.
MAPPINGS: tuple[type[Items], ...] = (
    google.GoogleItems, meta.MetaItems, local.LocalItems, satu.SatuItems, kaspi.KaspiItems
)  # fmt: skip
PUSH_MAPPINGS: tuple[type[PushRows], ...] = (
    ozon.OzonPushRows, satu.SatuPushRows, local.LocalPushRows, google.GoogleApiRows
)  # fmt: skip


def _mappings(lane: Lane) -> list[type[ChannelMapping]] | None:
    """The lane's mappings: of its feed when it writes one, of its pushes when it plans them
    (``sync``: both); None when the engine lacks one (or the lane does neither)."""
    if not lane.channel.lists_products:
        return None
    found: list[type[ChannelMapping] | None] = []
    if lane.writer is not None:
        found.append(next((m for m in MAPPINGS if m.takes(lane.channel)), None))
    if lane.planner is not None:
        found.append(next((m for m in PUSH_MAPPINGS if m.takes(lane.channel)), None))
    mapped = [m for m in found if m is not None]
    return mapped if mapped and len(mapped) == len(found) else None


class RunLike(Protocol):
    """What of ``pipeline.Run`` the engine's pass uses."""

    source: Any
    lanes: list[Lane]
    report: RunReport
    progress: Callable[[int], None] | None

    def reserve(self, product: Product, reserved: Mapping[str, int]) -> Product: ...


@dataclass
class Plan:
    frame: EngineFrame
    header: list[str]
    mappings: list[list[type[ChannelMapping]]]  # each lane's, in order
    sides: Sides


def plan(run: RunLike) -> Plan | None:
    """The engine's share of ``run``: all of it, or None. The side files are read now (their
    problems reported) once the engine has taken the products file."""
    source = run.source
    if not isinstance(source, CsvSource):
        return None
    if not run.lanes:
        return None
    mappings = []
    for lane in run.lanes:
        mapped = _mappings(lane)
        if mapped is None:
            return None
        mappings.append(mapped)
    frame = source.table.engine_frame()
    if frame is None:
        return None
    sides = read_sides(source, run.report.add)
    if sides is None:
        return None
    return Plan(frame, list(source.table.header), mappings, sides)


def stream(run: RunLike, found: Plan, reserved: Mapping[str, Mapping[str, int]]) -> None:
    """The catalogue into every lane, in file order."""
    sides = found.sides
    cells = Cells(found.header, sides.stock, [side.name for side in sides.joined])
    pairs = zip(found.mappings, run.lanes, strict=True)
    items = [[mapping(lane.channel, cells) for mapping in mappings] for mappings, lane in pairs]
    used = sorted({name for mappings in found.mappings for m in mappings for name in m.used})
    suspects = _suspects(found.frame).implode()
    base = source_plain(cells, used) & ~pl.col("record").is_in(suspects)
    # Reserved SKUs, and stock the engine did not sum: their rows go one by one.
    skus = sorted({*reserved, *(found.sides.stock.rare_skus() if found.sides.stock else ())})
    if skus:
        base = base & ~cells("sku").is_in(skus)
    # A mask that met a null (a cast that failed) is false: such a row goes one by one.
    columns = [base.fill_null(False).alias("base")]
    for n, mappings in enumerate(items):
        columns += _masks(n, base, mappings)
    outs = [
        Outs(lane, [_out(n, i, mapped, lane, columns) for i, mapped in enumerate(mappings)])
        for n, (mappings, lane) in enumerate(zip(items, run.lanes, strict=True))
    ]
    build = run.source.builder(found.header, run.report.add)
    rare = Rare(build, sides, reserved, outs)
    stages = [cells.stripped(), columns]
    for batch in found.frame.batches(run.report.add, stages, sides.tables()):
        stopping.check("while reading the catalogue; nothing was published or sent")
        _batch(run, found.frame.cells, batch, rare)
        sides.match(batch)
        if run.progress:
            run.progress(run.report.products)
    sides.report_leftovers(run.report.add)


def _masks(n: int, base: pl.Expr, mappings: list[ChannelMapping]) -> list[pl.Expr]:
    """Lane ``n``'s rows plain for it (``plain{n}``: those its filters leave out, and those
    each of its mappings maps with nothing to say), and those its filters let in (``in{n}``:
    one channel, one set of rules). A row the engine cannot filter as Python would goes per
    item."""
    plain = pl.all_horizontal([mapped.shown_plain() for mapped in mappings])
    admitted = mappings[0].admitted()
    if admitted is None:
        return [(base & plain).fill_null(False).alias(f"plain{n}")]
    lets_in = admitted.fill_null(False)
    found = base & admitted.is_not_null() & (~lets_in | plain)
    return [found.fill_null(False).alias(f"plain{n}"), lets_in.alias(f"in{n}")]


def _out(
    n: int, i: int, mapped: ChannelMapping, lane: Lane, columns: list[pl.Expr]
) -> Out | Planned:
    """Where lane ``n``'s items of its ``i``-th mapping go (the first counts them); their
    columns are added to ``columns``."""
    admitted = f"in{n}" if mapped.admitted() is not None else None
    if isinstance(mapped, Items):
        columns.append(mapped.item().alias(f"item{n}"))
        return Out(lane, admitted, i == 0, f"item{n}", mapped)
    assert isinstance(mapped, PushRows)
    streams = []
    for j, (stream, key, payload) in enumerate(mapped.items()):
        columns += [key.alias(f"key{n}_{j}"), payload.alias(f"payload{n}_{j}")]
        streams.append((stream, f"key{n}_{j}", f"payload{n}_{j}"))
    return Planned(lane, admitted, i == 0, streams, mapped.cells("sku"))


@dataclass
class Sink:
    """Where a lane's engine items go; ``admitted``: the batch column of the rows its filters
    let in (None: no filters)."""

    lane: Lane
    admitted: str | None
    counts: bool  # the lane's first sink counts its items (a sync's Satu writes and pushes)

    def rows(self, batch: pl.DataFrame, start: int, stop: int) -> pl.DataFrame:
        """Rows ``start`` to ``stop`` the channel takes; the others count as filtered."""
        rows, stats = batch.slice(start, stop - start), self.lane.stats
        if self.admitted is not None:
            kept = rows.filter(pl.col(self.admitted))
            stats.filtered += (rows.height - kept.height) * self.counts
            rows = kept
        stats.items_total += rows.height * self.counts
        stats.items_valid += rows.height * self.counts
        return rows


@dataclass
class Outs:
    """A lane's sinks: its feed's, its pushes', or both."""

    lane: Lane
    sinks: list[Out | Planned]

    def write(self, batch: pl.DataFrame, start: int, stop: int) -> None:
        for sink in self.sinks:
            sink.write(batch, start, stop)


@dataclass
class Out(Sink):
    """A feed lane's: its writer, the batch column holding its items, and its mapping (which
    makes their text)."""

    column: str
    items: Items

    def write(self, batch: pl.DataFrame, start: int, stop: int) -> None:
        """The items of rows ``start`` to ``stop`` as one UTF-8 text: never re-encoded."""
        rows, writer = self.rows(batch, start, stop), self.lane.writer
        if rows.height:
            markup = self.items.text(rows[self.column], writer)
            writer.write_items(markup, rows.height * self.items.rows)  # type: ignore[union-attr]


@dataclass
class Planned(Sink):
    """A pushed lane's: its planner, a frame of items (stream, key, SKU, payload) a stretch of
    rows at a time (``store.ledger``: hashed, looked up, and only the changed ones kept).
    ``streams``: each item's stream and its key and payload columns."""

    streams: list[tuple[str, str, str]]
    sku: pl.Expr

    def write(self, batch: pl.DataFrame, start: int, stop: int) -> None:
        rows = self.rows(batch, start, stop)
        if not rows.height:
            return
        frames = [
            rows.select(
                pl.lit(stream).alias("stream"),
                pl.col(key).alias("key"),
                self.sku.alias("sku"),
                pl.col(payload).alias("payload"),
            )
            for stream, key, payload in self.streams
        ]
        assert self.lane.planner is not None
        self.lane.planner.consider_frame(pl.concat(frames))


@dataclass
class Rare:
    """How a row some channel cannot take as plain is built: by the per-row code, with the
    side files' fields for its SKU and available-to-sell for a reserved one; ``outs``: each
    lane's engine items, for the channels that take the row as plain."""

    build: Callable[[tuple[int, list[str]], Callable[[str], dict[str, Any]]], Product | None]
    sides: Sides
    reserved: Mapping[str, Mapping[str, int]]
    outs: list[Outs]


def _batch(run: RunLike, names: list[str], batch: pl.DataFrame, rare: Rare) -> None:
    """One batch: each lane's stretches of rows plain for it as one text; a row some lane
    cannot take as plain is built once, in file order, by the per-item code, for the lanes
    that cannot (a lane's stretch is cut only where its own per-item rows go)."""
    outs = rare.outs
    plain = [batch[f"plain{n}"] for n in range(len(outs))]
    run.report.products += int(batch["base"].sum())
    starts = [0] * len(outs)
    stops = pl.DataFrame(plain).select(~pl.all_horizontal(pl.all())).to_series().arg_true()
    if len(stops):
        cells = batch.select(*names, "line")  # what the per-row code reads
        masks, base = [mask.to_list() for mask in plain], batch["base"].to_list()
        for stop in stops.to_list():
            row = cells.row(stop)
            product = _one(run, batch, stop, (row[-1], list(row[:-1])), base[stop], rare)
            for n, out in enumerate(outs):
                if not masks[n][stop]:
                    if starts[n] < stop:
                        out.write(batch, starts[n], stop)
                    starts[n] = stop + 1
                    if product is not None:
                        out.lane.accept(product, run.report)
    for n, out in enumerate(outs):
        if starts[n] < batch.height:
            out.write(batch, starts[n], batch.height)


def _one(
    run: RunLike,
    batch: pl.DataFrame,
    at: int,
    row: tuple[int, list[str]],
    counted: bool,
    rare: Rare,
) -> Product | None:
    """A row some channel cannot take as plain, built by the per-row code (``counted``: the
    batch counted it as read); available-to-sell for a reserved SKU."""
    product = rare.build(row, lambda sku: rare.sides.take(sku, batch, at))
    if product is None:
        return None
    if not counted:
        run.report.products += 1
    if product.sku in rare.reserved:
        product = run.reserve(product, rare.reserved[product.sku])
    return product


def _suspects(frame: EngineFrame) -> pl.Series:
    """Records whose SKU another row repeats, as the reader compares SKUs (stripped) or
    as a channel compares ids (case folded): they go row by row, where repeats are found
    exactly. 64-bit hashes compare them here (two SKUs sharing one only cost a slower row),
    read in the engine's pass: no SKU text is held but the few beyond ASCII."""
    sku = frame.sku()
    beyond = pl.when(~sku.str.contains(r"^[\x00-\x7f]*$")).then(sku)
    keys = frame.select(
        sku.hash().alias("sku"), sku.str.to_lowercase().hash().alias("id"), beyond.alias("beyond")
    )
    folded = _folded(keys["beyond"].drop_nulls()).hash()
    found = keys.filter(
        pl.col("sku").is_duplicated()
        | pl.col("id").is_duplicated()
        | pl.col("id").is_in(folded.implode())
    )
    return found["record"]


def _folded(skus: pl.Series) -> pl.Series:
    """The case-folded forms of the SKUs beyond ASCII (few): Python's casefold can make ASCII
    of them ("STRAßE" → "strasse"), which a lowercase SKU elsewhere may equal."""
    return pl.Series(sorted({sku.casefold() for sku in skus.to_list()}), dtype=pl.String)
