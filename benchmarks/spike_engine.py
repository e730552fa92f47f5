"""Issue 17's engine spike: the same Google XML feed from the same generated catalogue in Polars
and in DuckDB, beside the floor writer, each scenario in a process of its own (its peak RSS is
its own, read with ``wait4``). Evidence for docs/architecture.md ("Engine choice"), not a target
check: nothing here asserts a time.

    python benchmarks/spike_engine.py                      # 100k and 1M SKUs
    python benchmarks/spike_engine.py --sizes 20000        # quicker
    python benchmarks/spike_engine.py one SCENARIO FOLDER  # one scenario, in this process

Scenarios (``ENGINE:SHAPE``):

- ``floor`` — measure.py's floor writer (csv module + template + ``saxutils.escape``).
- ``*:floor`` — the floor's exact bytes (its nine fields, one item a line, ``15990 KZT``), with
  vectorised validation (id and title length, URL scheme, price > 0, GTIN GS1 checksum) and XML
  escaping: its sha256 must equal the floor's.
- ``*:google`` — omnisync's Google RSS layout (header, indentation, field order) for the core
  fields: id, title, description, link, image_link, availability (stock.csv summed per SKU,
  joined), price ``15990.00 KZT``, brand, gtin, condition; empty fields left out as omnisync
  leaves them. Polars and DuckDB must write the same bytes, and at the smallest size they must
  equal omnisync's own feed with its other fields' lines taken out (``omnisync:google``).
- ``*:plan`` — push planning's core: a stable content hash per row (MD5 of the core fields:
  standard, so ``hashlib`` gives the same digest), joined with a ledger in which 1 % of the rows
  differ; the changed SKUs cross into Python. The ledger is written by ``hashlib`` beforehand,
  so exactly 1 % changed also proves the engine's hash is the standard one.
- ``polars:plan-xxh64`` — the same with polars-hash's XXH64 as a u64 (its ledger written by
  polars-hash; ``selfcheck`` holds that function to the XXH64 specification).

Writers: ``polars`` streams ``collect_batches`` and writes each batch's items joined into one
bytes object (the items and the problems come out of the one pass); ``polars-sink`` is
``sink_csv`` of the item column (the feed only: problems would need a second read); ``duckdb``
reads ``to_arrow_reader`` batches and writes each batch's Arrow string buffer as it is.

Settings (measured; see docs/architecture.md): both engines on 2 threads, batches of 5,000
rows; Polars reads the CSV in 1 MiB chunks (``POLARS_CSV_CHUNK_SIZE``, default 32 MiB), DuckDB
with ``memory_limit`` 256MB and ``buffer_size`` 1 MB. A scenario ending in ``@untuned`` runs
with the engine's default reader buffers instead; ``polars:google@u64key`` joins the stock on
a 64-bit hash of the SKU instead of its text; ``duckdb:google@64mb`` has a 64MB
``memory_limit``. ``selfcheck`` runs both engines on a small
catalogue of awkward rows (markup, control characters, every check failing once) and compares
their checks and bytes.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

THREADS = 2  # the machine's cores: the engines' own threads, no forked workers
DUCKDB_MEMORY = os.environ.get("SPIKE_DUCKDB_MEMORY", "256MB")
# How a Polars batch reaches the file: "join" (the items joined in Polars, one bytes object a
# batch; no pyarrow) or "arrow" (the Arrow string buffer written as it is, through pyarrow).
POLARS_WRITE = os.environ.get("SPIKE_POLARS_WRITE", "join")
DUCKDB_CSV_OPTIONS = os.environ.get("SPIKE_DUCKDB_CSV_OPTIONS", "")  # ", buffer_size=…"
# The stock join's key: the SKU text ("text"), or a u64 of it ("u64": a smaller hash table; a
# real engine would need a collision guard, e.g. a second seed compared after the join).
POLARS_STOCK_KEY = os.environ.get("SPIKE_POLARS_STOCK_KEY", "text")
DUCKDB_ORDER = os.environ.get("SPIKE_DUCKDB_ORDER", "positional")  # see duckdb_units
BATCH_ROWS = int(os.environ.get("SPIKE_BATCH_ROWS", "5000"))
# What the run sets for its children, unless the scenario is "@untuned".
TUNED = {"POLARS_CSV_CHUNK_SIZE": str(1 << 20), "SPIKE_DUCKDB_CSV_OPTIONS": ", buffer_size=1048576"}
FORBIDDEN = r"[\x00-\x08\x0B\x0C\x0E-\x1F\x{FFFE}\x{FFFF}]"  # what XML 1.0 cannot hold
PAYLOAD = ["sku", "title", "description", "url", "image_url", "price", "brand", "gtin",
           "condition"]  # fmt: skip
SEP = "\x1f"  # between the payload's fields: a character no field holds
CHANGED_EVERY = 100  # 1 % of the ledger's hashes differ

FLOOR_HEAD = ('<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0" '
              'xmlns:g="http://base.google.com/ns/1.0"><channel>\n')  # fmt: skip
FLOOR_TAIL = "</channel></rss>\n"
# The floor's item: (literal before the field, field) and the closing literal.
FLOOR_ITEM = [("<item><g:id>", "sku"), ("</g:id><title>", "title"),
              ("</title><description>", "description"), ("</description><link>", "url"),
              ("</link><g:image_link>", "image_url"), ("</g:image_link><g:price>", "price"),
              (" KZT</g:price><g:availability>in_stock</g:availability><g:brand>", "brand"),
              ("</g:brand><g:gtin>", "gtin")]  # fmt: skip
FLOOR_END = "</g:gtin></item>\n"

# omnisync's RssWriter with the bench config's header (benchmarks/generate.py).
GOOGLE_HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
               '<rss xmlns:g="http://base.google.com/ns/1.0" version="2.0">\n  <channel>\n'
               "    <title>Bench Store</title>\n    <link>https://shop.example.kz</link>\n"
               "    <description>Generated by omnisync</description>")  # fmt: skip
GOOGLE_TAIL = "\n  </channel></rss>\n"
GOOGLE_TAGS = ["g:id", "title", "description", "link", "g:image_link", "g:availability",
               "g:price", "g:brand", "g:gtin", "g:condition"]  # fmt: skip
DEFAULT_CURRENCY = "KZT"
NL = "\n"


# ---------------------------------------------------------------------------------- Polars
def polars_products(folder: Path) -> Any:
    import polars as pl

    # Every column as text, empty cells as "" (not null): the csv module's view of the file.
    return pl.scan_csv(folder / "products.csv", infer_schema=False, empty_string_is_null=False)


def polars_escape(expr: Any) -> Any:
    return (
        expr.str.replace_all("&", "&amp;", literal=True)
        .str.replace_all("<", "&lt;", literal=True)
        .str.replace_all(">", "&gt;", literal=True)
    )


def polars_gtin_ok(gtin: Any) -> Any:
    """Empty, or 8/12/13/14 digits whose GS1 check digit holds: digits taken arithmetically
    from the number (no per-character strings), weights 3,1,3,… from the right."""
    import polars as pl

    number = gtin.str.to_integer(strict=False)
    weighted = pl.sum_horizontal(
        [(number // 10 ** (13 - i) % 10) * (3 if i % 2 == 0 else 1) for i in range(14)]
    )
    return (gtin == "") | (gtin.str.contains(r"^(\d{8}|\d{12,14})$") & (weighted % 10 == 0))


def polars_problem() -> Any:
    """The first failed check's code, null for a valid row: the checks table as one column."""
    import polars as pl

    c = pl.col
    checks = [
        ("id", c("sku").str.len_chars().is_between(1, 50)),
        ("title", c("title").str.len_chars().is_between(1, 150)),
        ("link", c("url").str.contains(r"^https?://\S+$")),
        ("image_link", c("image_url").str.contains(r"^https?://\S+$")),
        (
            "price",
            c("price").str.contains(r"^\d+(\.\d{1,2})?$")
            & (c("price").cast(pl.Float64, strict=False) > 0),
        ),
        ("gtin", polars_gtin_ok(c("gtin"))),
    ]
    found = pl.when(~checks[0][1].fill_null(False)).then(pl.lit(checks[0][0]))
    for code, ok in checks[1:]:
        found = found.when(~ok.fill_null(False)).then(pl.lit(code))
    return found.otherwise(pl.lit(None, dtype=pl.String))


def polars_floor_item() -> Any:
    import polars as pl

    parts = []
    for literal, field in FLOOR_ITEM:
        parts += [pl.lit(literal), polars_escape(pl.col(field))]
    return pl.concat_str([*parts, pl.lit(FLOOR_END)])


def polars_google_item() -> Any:
    import polars as pl

    c = pl.col
    price = c("price").cast(pl.Decimal(18, 2), strict=False).cast(pl.String)
    currency = pl.when(c("currency") != "").then(c("currency")).otherwise(pl.lit(DEFAULT_CURRENCY))
    values = [
        c("sku"), c("title"), c("description"), c("url"), c("image_url"),
        pl.when(c("units").fill_null(0) > 0).then(pl.lit("in_stock"))
        .otherwise(pl.lit("out_of_stock")),
        pl.concat_str([price, pl.lit(" "), currency]), c("brand"), c("gtin"),
        c("condition").str.to_lowercase(),
    ]  # fmt: skip
    parts: list[Any] = [pl.lit("\n    <item>")]
    for tag, value in zip(GOOGLE_TAGS, values, strict=True):
        escaped = polars_escape(value).str.replace_all("\r", "&#13;", literal=True)
        element = pl.concat_str([pl.lit(f"\n      <{tag}>"), escaped, pl.lit(f"</{tag}>")])
        parts.append(pl.when(value != "").then(element))  # empty: no element, as omnisync
    parts.append(pl.lit("\n    </item>"))
    return pl.concat_str(parts, ignore_nulls=True)


def polars_lazy(folder: Path, shape: str) -> Any:
    import polars as pl

    products = polars_products(folder)
    if shape == "google":
        schema = {"sku": pl.String, "location": pl.String, "quantity": pl.Int64}
        stock = pl.scan_csv(folder / "stock.csv", schema=schema)
        if POLARS_STOCK_KEY == "u64":  # SKUs as 64-bit keys (Polars' in-process hash)
            key = pl.col("sku").hash().alias("key")
            units = stock.group_by(key).agg(pl.col("quantity").sum().alias("units"))
            products = products.with_columns(key).join(
                units, on="key", how="left", maintain_order="left"
            )
        else:
            units = stock.group_by("sku").agg(pl.col("quantity").sum().alias("units"))
            products = products.join(units, on="sku", how="left", maintain_order="left")
        item = polars_google_item()
    else:
        item = polars_floor_item()
    # XML 1.0's forbidden characters go (omnisync's xml_safe); the tags hold none, so one pass
    # over the item does it for every field.
    item = item.str.replace_all(FORBIDDEN, "")
    problem = polars_problem()
    return products.select(
        pl.when(problem.is_null()).then(item).otherwise(pl.lit("")).alias("item"),
        problem.alias("problem"),
        pl.col("sku"),
    )


def polars_write(folder: Path, out: Path, shape: str) -> tuple[int, dict[str, Any]]:
    import polars as pl

    head, tail = (GOOGLE_HEAD, GOOGLE_TAIL) if shape == "google" else (FLOOR_HEAD, FLOOR_TAIL)
    rows, problems = 0, []
    with out.open("wb") as f:
        f.write(head.encode())
        for batch in polars_lazy(folder, shape).collect_batches(chunk_size=BATCH_ROWS):
            if POLARS_WRITE == "arrow":
                write_strings(f, batch["item"].to_arrow(compat_level=pl.CompatLevel.oldest()))
            else:  # the batch's items joined and written as bytes, natively: no pyarrow
                f.write(batch.select(pl.col("item").str.join("").cast(pl.Binary)).item())
            bad = batch.filter(pl.col("problem").is_not_null())
            problems += bad.select("sku", "problem").rows()
            rows += batch.height
        f.write(tail.encode())
    return rows - len(problems), {"problems": len(problems)}


def polars_sink(folder: Path, out: Path, shape: str) -> tuple[int, dict[str, Any]]:
    """The feed through ``sink_csv``: one item a line, so the floor's layout only (the sink
    ends each item with the line break the floor's items end with)."""
    import polars as pl

    if shape != "floor":
        raise SystemExit("polars-sink writes the floor's layout only")
    lazy = polars_lazy(folder, shape).filter(pl.col("problem").is_null())
    lazy = lazy.select(pl.col("item").str.strip_suffix("\n"))
    with out.open("wb") as f:
        f.write(FLOOR_HEAD.encode())
        f.flush()
        lazy.sink_csv(f, include_header=False, quote_style="never", separator="\x1e")
        f.write(FLOOR_TAIL.encode())
    return -1, {}  # the sink counts nothing


def write_strings(f: Any, array: Any) -> None:
    """A string array's bytes, as they are, from its Arrow data buffer: no Python string per
    item. Invalid rows hold "" (zero bytes), so they vanish without a filter."""
    import pyarrow as pa

    if len(array) == 0:
        return
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    width = 8 if pa.types.is_large_string(array.type) else 4  # int64 or int32 offsets
    offsets = memoryview(array.buffers()[1]).cast("q" if width == 8 else "i")
    start, end = offsets[array.offset], offsets[array.offset + len(array)]
    f.write(memoryview(array.buffers()[2])[start:end])


# ---------------------------------------------------------------------------------- DuckDB
def duckdb_connect(out: Path) -> Any:
    import duckdb

    return duckdb.connect(config={"threads": THREADS, "memory_limit": DUCKDB_MEMORY,
                                  "preserve_insertion_order": True,
                                  "temp_directory": str(out / "duckdb.tmp")})  # fmt: skip


def duckdb_csv(path: Path) -> str:
    # nullstr that never occurs: empty cells stay "" (the csv module's view), not NULL.
    return (f"read_csv('{path}', header=true, all_varchar=true, delim=',', quote='\"', "
            f"escape='\"', nullstr='\x01\x02'{DUCKDB_CSV_OPTIONS})")  # fmt: skip


def duckdb_escape(sql: str) -> str:
    return f"replace(replace(replace({sql}, '&', '&amp;'), '<', '&lt;'), '>', '&gt;')"


def duckdb_problem() -> str:
    weighted = " + ".join(  # gtin_n: the GTIN as a number (duckdb_query)
        f"(gtin_n // {10 ** (13 - i)} % 10) * {3 if i % 2 == 0 else 1}" for i in range(14)
    )
    checks = [
        ("id", "length(sku) BETWEEN 1 AND 50"),
        ("title", "length(title) BETWEEN 1 AND 150"),
        ("link", "regexp_full_match(url, 'https?://\\S+')"),
        ("image_link", "regexp_full_match(image_url, 'https?://\\S+')"),
        (
            "price",
            "regexp_full_match(price, '\\d+(\\.\\d{1,2})?') AND TRY_CAST(price AS DOUBLE) > 0",
        ),
        (
            "gtin",
            f"gtin = '' OR (regexp_full_match(gtin, '\\d{{8}}|\\d{{12,14}}') "
            f"AND ({weighted}) % 10 = 0)",
        ),
    ]
    whens = " ".join(f"WHEN NOT coalesce({ok}, false) THEN '{code}'" for code, ok in checks)
    return f"CASE {whens} END"


def duckdb_floor_item() -> str:
    # concat() of many arguments builds each item once; a chain of || copies it at every step
    # (1.5 s against 2.5 s at 1M rows).
    parts = []
    for literal, field in FLOOR_ITEM:
        parts += [sql_text(literal), duckdb_escape(field)]
    return f"concat({', '.join([*parts, sql_text(FLOOR_END)])})"


def duckdb_google_item() -> str:
    values = [
        "sku", "title", "description", "url", "image_url",
        "CASE WHEN coalesce(units, 0) > 0 THEN 'in_stock' ELSE 'out_of_stock' END",
        "concat(CAST(TRY_CAST(price AS DECIMAL(18, 2)) AS VARCHAR), ' ', "
        f"CASE WHEN currency <> '' THEN currency ELSE '{DEFAULT_CURRENCY}' END)",
        "brand", "gtin", "lower(condition)",
    ]  # fmt: skip
    parts = [sql_text("\n    <item>")]
    for tag, value in zip(GOOGLE_TAGS, values, strict=True):
        escaped = f"replace({duckdb_escape(value)}, chr(13), '&#13;')"
        element = f"concat({sql_text(NL + '      <' + tag + '>')}, {escaped}, '</{tag}>')"
        parts.append(f"CASE WHEN ({value}) <> '' THEN {element} ELSE '' END")
    parts.append(sql_text("\n    </item>"))
    return f"concat({', '.join(parts)})"


def sql_text(text: str) -> str:
    """A SQL string literal (it may hold a newline as it is)."""
    return "'" + text.replace("'", "''") + "'"


def duckdb_units(con: Any, folder: Path) -> str:
    """Available units per product row, in the products' order, as the source to join.

    DuckDB's hash join does not keep the probe side's order with two threads, even with
    ``preserve_insertion_order`` (the feed came out shuffled, differently each run), so the
    order needs work. ``DUCKDB_ORDER``: ``positional`` — a narrow first pass (row number, SKU)
    joined with the stock and sorted back into a temp table, then a POSITIONAL JOIN with the
    products read again; ``sort`` — number the rows and ORDER BY the number after the join
    (sorts the wide items); ``single`` — the join on one thread; ``join`` — order left to the
    join (wrong, for measuring what the fix costs)."""
    products, stock = duckdb_csv(folder / "products.csv"), duckdb_csv(folder / "stock.csv")
    units = f"(SELECT sku, sum(TRY_CAST(quantity AS BIGINT)) AS units FROM {stock} GROUP BY sku)"
    if DUCKDB_ORDER == "positional":
        con.execute(f"CREATE TEMP TABLE units AS SELECT s.units FROM (SELECT row_number() OVER () "
                    f"AS rn, sku FROM {products}) p LEFT JOIN {units} s USING (sku) "
                    f"ORDER BY p.rn")  # fmt: skip
        return f"{products} POSITIONAL JOIN units"
    if DUCKDB_ORDER == "sort":
        products = f"(SELECT row_number() OVER () AS rn, * FROM {products})"
    elif DUCKDB_ORDER == "single":
        con.execute("SET threads = 1")
    return f"{products} p LEFT JOIN {units} s USING (sku)"


def duckdb_query(con: Any, folder: Path, shape: str) -> str:
    if shape == "google":
        source, item = duckdb_units(con, folder), duckdb_google_item()
    else:
        source, item = duckdb_csv(folder / "products.csv"), duckdb_floor_item()
    item = f"regexp_replace({item}, '{FORBIDDEN}', '', 'g')"
    numbered = f"(SELECT *, TRY_CAST(gtin AS BIGINT) AS gtin_n FROM {source})"
    order = " ORDER BY rn" if shape == "google" and DUCKDB_ORDER == "sort" else ""
    return (f"SELECT CASE WHEN problem IS NULL THEN {item} ELSE '' END AS item, problem, sku "
            f"FROM (SELECT *, {duckdb_problem()} AS problem FROM {numbered}){order}")  # fmt: skip


def duckdb_write(folder: Path, out: Path, shape: str) -> tuple[int, dict[str, Any]]:
    import pyarrow.compute as pc

    head, tail = (GOOGLE_HEAD, GOOGLE_TAIL) if shape == "google" else (FLOOR_HEAD, FLOOR_TAIL)
    con = duckdb_connect(out.parent)
    rows, problems = 0, []
    reader = con.sql(duckdb_query(con, folder, shape)).to_arrow_reader(BATCH_ROWS)
    with out.open("wb") as f:
        f.write(head.encode())
        for batch in reader:
            write_strings(f, batch.column("item"))
            bad = batch.filter(pc.is_valid(batch.column("problem")))
            problems += list(zip(bad.column("sku").to_pylist(),
                                 bad.column("problem").to_pylist(), strict=True))  # fmt: skip
            rows += batch.num_rows
        f.write(tail.encode())
    return rows - len(problems), {"problems": len(problems)}


# ------------------------------------------------------------------------- push planning core
def payload_rows(folder: Path) -> Iterator[tuple[str, str]]:
    with (folder / "products.csv").open(encoding="utf-8", newline="") as f:
        rows = csv.reader(f)
        header = next(rows)
        at = [header.index(name) for name in PAYLOAD]
        for row in rows:
            yield row[at[0]], SEP.join(row[i] for i in at)


def write_ledger(folder: Path, target: Path) -> int:
    """The acknowledged hashes, by hashlib: every 100th row's differs (1 % changed)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    skus, hashes, changed = [], [], 0
    for n, (sku, payload) in enumerate(payload_rows(folder)):
        if n % CHANGED_EVERY == 0:
            payload, changed = payload + "(before)", changed + 1
        skus.append(sku)
        hashes.append(hashlib.md5(payload.encode("utf-8")).hexdigest())
    table = pa.table({"sku": skus, "acked_hash": hashes})
    pq.write_table(table, target.with_suffix(".tmp"))
    target.with_suffix(".tmp").rename(target)
    return changed


def polars_hashes(folder: Path, kind: str) -> Any:
    """(sku, hash) of every row, lazily: MD5 as hex text, or XXH64 as a u64."""
    import polars as pl
    import polars_hash as plh

    payload = plh.col("payload")
    digest = payload.nchash.md5() if kind == "md5" else payload.nchash.xxhash64()
    return (
        polars_products(folder)
        .select(
            pl.col("sku"),
            pl.concat_str([pl.col(n) for n in PAYLOAD], separator=SEP).alias("payload"),
        )
        .select("sku", digest.alias("hash"))
    )


def write_xxh64_ledger(folder: Path, target: Path) -> None:
    """The XXH64 ledger, by polars-hash itself (``selfcheck`` holds it to the XXH64 spec):
    every 100th row's acknowledged hash differs in its lowest bit."""
    import polars as pl

    hashes = polars_hashes(folder, "xxh64").collect(engine="streaming").with_row_index()
    differ = pl.col("index") % CHANGED_EVERY == 0
    acked = pl.when(differ).then(pl.col("hash") ^ 1).otherwise(pl.col("hash"))
    hashes.select("sku", acked.alias("acked_hash")).write_parquet(target)


def polars_plan(folder: Path, ledger: Path, kind: str) -> tuple[int, dict[str, Any]]:
    import polars as pl

    began = time.perf_counter()
    desired = polars_hashes(folder, kind).collect(engine="streaming")
    hashed = time.perf_counter()
    acked = pl.read_parquet(ledger)
    loaded = time.perf_counter()
    changed = (
        desired.join(acked, on="sku", how="left")
        .filter(pl.col("acked_hash").is_null() | (pl.col("hash") != pl.col("acked_hash")))
        .get_column("sku")
        .to_list()
    )
    joined = time.perf_counter()
    return len(desired), {
        "changed": len(changed),
        "hash_seconds": round(hashed - began, 3),
        "join_seconds": round(joined - loaded, 3),
    }


def duckdb_plan(folder: Path, out: Path, ledger: Path) -> tuple[int, dict[str, Any]]:
    con = duckdb_connect(out)
    payload = f"concat_ws(chr(31), {', '.join(PAYLOAD)})"  # no NULLs: nullstr never matches
    began = time.perf_counter()
    con.execute(f"CREATE TEMP TABLE desired AS SELECT sku, md5({payload}) AS hash "
                f"FROM {duckdb_csv(folder / 'products.csv')}")  # fmt: skip
    hashed = time.perf_counter()
    con.execute(f"CREATE TEMP TABLE acked AS SELECT * FROM read_parquet('{ledger}')")
    loaded = time.perf_counter()
    changed = [sku for (sku,) in con.execute(
        "SELECT d.sku FROM desired d LEFT JOIN acked a USING (sku) "
        "WHERE a.acked_hash IS NULL OR a.acked_hash <> d.hash"
    ).fetchall()]  # fmt: skip
    joined = time.perf_counter()
    (rows,) = con.execute("SELECT count(*) FROM desired").fetchone() or (0,)
    return rows, {
        "changed": len(changed),
        "hash_seconds": round(hashed - began, 3),
        "join_seconds": round(joined - loaded, 3),
    }


# ------------------------------------------------------------------------------- one scenario
def omnisync_google(folder: Path, out: Path) -> tuple[int, dict[str, Any]]:
    from omnisync import pipeline
    from omnisync.config import load_config

    config = load_config(folder / "omnisync.yaml")
    config = config.model_copy(update={"output_dir": out, "state": out / "state.db"})
    return pipeline.build(config, ["google"]).products, {}


class RssSampler:
    """The peak of the process's anonymous and file-backed resident memory, from
    /proc/self/status every 20 ms: an engine that memory-maps its input shows the file's pages
    in RSS (clean, reclaimable page cache), which is not the memory it allocates."""

    def __init__(self) -> None:
        import threading

        self.anon = self.file = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.sample()

    def sample(self) -> None:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("RssAnon:"):
                    self.anon = max(self.anon, int(line.split()[1]))
                elif line.startswith("RssFile:"):
                    self.file = max(self.file, int(line.split()[1]))

    def stop(self) -> dict[str, float]:
        self._stop.set()
        self._thread.join()
        self.sample()
        return {"anon_peak_mb": round(self.anon / 1024, 1),
                "file_peak_mb": round(self.file / 1024, 1)}  # fmt: skip


def outdir(folder: Path, scenario: str) -> Path:
    return folder / f"spike-{scenario.replace(':', '-').replace('@', '-')}"


def one(scenario: str, folder: Path) -> None:
    """Run one scenario here; print its JSON line. The feed stays in the scenario's folder for
    the parent to hash."""
    out = outdir(folder, scenario)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    feed = out / "feed.xml"
    sampler = RssSampler()
    began = time.perf_counter()
    engine, _, shape = scenario.split("@")[0].partition(":")
    extra: dict[str, Any] = {}
    if scenario == "floor":
        from measure import floor

        items = floor(folder, feed)
    elif engine == "omnisync":
        items, extra = omnisync_google(folder, out)
        (out / "google.xml").rename(feed)
    elif shape == "plan-xxh64":
        items, extra = polars_plan(folder, folder / "spike-ledger-xxh64.parquet", "xxh64")
    elif shape == "plan":
        ledger = folder / "spike-ledger.parquet"
        plan = polars_plan(folder, ledger, "md5") if engine == "polars" else None
        items, extra = plan or duckdb_plan(folder, out, ledger)
    elif engine == "polars":
        items, extra = polars_write(folder, feed, shape)
    elif engine == "polars-sink":
        items, extra = polars_sink(folder, feed, shape)
    else:
        items, extra = duckdb_write(folder, feed, shape)
    seconds = time.perf_counter() - began
    extra.update(sampler.stop())
    shutil.rmtree(out / "duckdb.tmp", ignore_errors=True)
    sys.stdout.write(json.dumps({"scenario": scenario, "seconds": round(seconds, 3),
                                 "items": items, **extra}) + "\n")  # fmt: skip


# ------------------------------------------------------------------------------------ the run
SCENARIOS = ["floor", "polars:floor", "polars:floor@untuned", "polars-sink:floor",
             "duckdb:floor", "duckdb:floor@untuned", "polars:google", "polars:google@u64key",
             "duckdb:google", "duckdb:google@64mb",
             "polars:plan", "duckdb:plan", "polars:plan-xxh64"]  # fmt: skip


def measure(scenario: str, folder: Path) -> dict[str, Any]:
    """One scenario in a child process; its own peak RSS from ``wait4`` (KiB on Linux)."""
    env = {**os.environ, "POLARS_MAX_THREADS": str(THREADS)}
    for name, value in TUNED.items():
        if scenario.endswith("@untuned"):
            env.pop(name, None)
        else:
            env.setdefault(name, value)
    if scenario.endswith("@u64key"):
        env["SPIKE_POLARS_STOCK_KEY"] = "u64"
    if scenario.endswith("@64mb"):
        env["SPIKE_DUCKDB_MEMORY"] = "64MB"
    log = folder / "spike-child.log"
    with log.open("w+") as streams:
        child = subprocess.Popen([sys.executable, __file__, "one", scenario, str(folder)],
                                 stdout=streams, stderr=subprocess.STDOUT, env=env)  # fmt: skip
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        streams.seek(0)
        output = streams.read()
    log.unlink()
    if child.returncode:
        raise SystemExit(f"{scenario} failed:\n{output}")
    result: dict[str, Any] = json.loads(output.splitlines()[-1])
    result["peak_rss_mb"] = round(usage.ru_maxrss / 1024, 1)
    return result


def feed_digest(folder: Path, scenario: str, keep: list[str] | None = None) -> tuple[str, int]:
    """sha256 and size of the scenario's feed, then the feed goes. ``keep``: only the item
    lines with these tags (and every line that is no field), for omnisync's full feed."""
    out = outdir(folder, scenario)
    feed = out / "feed.xml"
    digest, size = hashlib.sha256(), 0
    if feed.exists():
        with feed.open("rb") as f:
            for chunk in core_lines(f, keep) if keep else iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
                size += len(chunk)
    shutil.rmtree(out, ignore_errors=True)
    return digest.hexdigest() if size else "", size


def core_lines(f: Any, keep: list[str]) -> Iterator[bytes]:
    """omnisync's feed with the lines of fields outside ``keep`` left out (one field a line)."""
    wanted = tuple(f"      <{tag}>".encode() for tag in keep)
    for line in f:
        if not line.startswith(b"      <") or line.startswith(wanted):
            yield line


def wait_for_quiet(limit: float, timeout: float) -> float:
    """Poll the 1-minute load until it is under ``limit`` (at most ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while (load := os.getloadavg()[0]) >= limit and time.monotonic() < deadline:
        print(f"load {load:.2f} ≥ {limit}: waiting …", file=sys.stderr, flush=True)
        time.sleep(20)
    return load


def run_size(size: int, scenarios: list[str], args: argparse.Namespace) -> list[dict[str, Any]]:
    from run import catalogue

    folder = catalogue(size)
    ledgers = (folder / "spike-ledger.parquet", folder / "spike-ledger-xxh64.parquet")
    if any(":plan" in s for s in scenarios) and not all(path.exists() for path in ledgers):
        print(f"ledgers for {size:,} SKUs …", file=sys.stderr, flush=True)
        # In a process of its own: a child's peak RSS starts from its parent's at the fork,
        # so this process stays small.
        subprocess.run([sys.executable, __file__, "ledger", str(folder)], check=True)
    if size >= args.wait_from:
        wait_for_quiet(args.load, args.wait)
    results = []
    for scenario in scenarios:
        load = os.getloadavg()[0]
        print(f"{scenario} on {size:,} (load {load:.2f}) …", end=" ", file=sys.stderr, flush=True)
        found = {**measure(scenario, folder), "size": size, "load_before": round(load, 2)}
        keep = GOOGLE_TAGS if scenario == "omnisync:google" else None
        found["sha256"], found["bytes"] = feed_digest(folder, scenario, keep)
        print(f"{found['seconds']:.2f} s, {found['peak_rss_mb']:.0f} MB", file=sys.stderr)
        results.append(found)
    return results


def checks(results: list[dict[str, Any]]) -> list[str]:
    """Byte identity and the changed count, said plainly."""
    lines = []
    for size in sorted({r["size"] for r in results}):
        at = {r["scenario"]: r for r in results if r["size"] == size}
        for shape, reference in (("floor", "floor"), ("google", "polars:google")):
            ref = at.get(reference, {}).get("sha256")
            for name, r in at.items():
                if name.split("@")[0].endswith(f":{shape}") and name != reference and ref:
                    same = "identical to" if r["sha256"] == ref else "DIFFERS from"
                    lines.append(f"{size:,}: {name} {same} {reference}")
        for name, r in at.items():
            if ":plan" in name:
                differ = -(-size // CHANGED_EVERY)
                lines.append(f"{size:,}: {name} found {r['changed']:,} changed "
                             f"(the ledger has {differ:,} that differ)")  # fmt: skip
    return lines


def table(results: list[dict[str, Any]]) -> str:
    lines = ["| scenario | SKUs | seconds | × floor | peak RSS MB | of it anonymous | "
             "RSS × smallest size | load before |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    floors = {r["size"]: r["seconds"] for r in results if r["scenario"] == "floor"}
    smallest = min(r["size"] for r in results)
    first = {r["scenario"]: r["peak_rss_mb"] for r in results if r["size"] == smallest}
    for r in results:
        ratio = r["seconds"] / floors[r["size"]] if floors.get(r["size"]) else 0
        growth = f"{r['peak_rss_mb'] / first[r['scenario']]:.2f}" if r["size"] != smallest else ""
        name = r["scenario"]
        if ":plan" in name:
            name += f" (hash {r['hash_seconds']:.2f} s, join {r['join_seconds']:.2f} s)"
        lines.append(f"| {name} | {r['size']:,} | {r['seconds']:.2f} | {ratio:.2f} | "
                     f"{r['peak_rss_mb']:.0f} | {r['anon_peak_mb']:.0f} | {growth} | "
                     f"{r['load_before']:.2f} |")  # fmt: skip
    return "\n".join(lines)


# ------------------------------------------------------------------------------- self-check
def selfcheck() -> None:
    """Both engines on awkward rows: the same problem codes as the case names say, the same
    bytes from both, escaping and control characters as omnisync writes them."""
    import tempfile

    from generate import HEADER

    def gtin(body: str) -> str:
        total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
        return body + str((10 - total % 10) % 10)

    good = gtin("487000000000")
    base = dict.fromkeys(HEADER, "") | {
        "title": "Title", "description": "Desc", "brand": "Brand", "gtin": good, "price": "100",
        "currency": "KZT", "url": "https://a.kz/p", "image_url": "https://a.kz/i.jpg",
        "condition": "new",
    }  # fmt: skip
    cases = {
        "ok-plain": {}, "ok-escape": {"title": "Tom & Jerry <b>", "brand": "A&B",
                                      "description": "a > b & c\r\nline2"},
        "ok-control": {"description": "bell\x07 here\x0b"}, "id": {"sku": "X" * 51},
        "ok-id-50": {"sku": "Y" * 50}, "title": {"title": ""}, "title-151": {"title": "т" * 151},
        "ok-title-150": {"title": "т" * 150}, "link": {"url": "ftp://a.kz/x"},
        "image_link": {"image_url": "/img/x.jpg"}, "price": {"price": "0"},
        "price-neg": {"price": "-5"}, "price-abc": {"price": "abc"},
        "price-3dp": {"price": "1.999"}, "ok-price-dec": {"price": "1.5"},
        "gtin": {"gtin": good[:-1] + str((int(good[-1]) + 1) % 10)},
        "ok-gtin-8": {"gtin": gtin("9638507")}, "ok-gtin-12": {"gtin": gtin("03600029145")},
        "ok-gtin-14": {"gtin": gtin("1487000000000")}, "gtin-letters": {"gtin": "48700000000A7"},
        "gtin-short": {"gtin": "12345"}, "ok-gtin-none": {"gtin": ""},
        "ok-brand-none": {"brand": ""}, "ok-upper": {"condition": "NEW", "currency": ""},
    }  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        rows = [base | {"sku": name} | change for name, change in cases.items()]
        with (folder / "products.csv").open("w", newline="", encoding="utf-8") as f:
            out = csv.writer(f)
            out.writerow(HEADER)
            out.writerows([row[h] for h in HEADER] for row in rows)
        stock = [[r["sku"], "WH-1", n % 3] for n, r in enumerate(rows)]
        with (folder / "stock.csv").open("w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows([["sku", "location", "quantity"], *stock])
        expected = [None if name.startswith("ok-") else name.split("-")[0] for name in cases]
        for shape in ("floor", "google"):
            feeds = {}
            for engine, write in (("polars", polars_write), ("duckdb", duckdb_write)):
                feed = folder / f"{engine}-{shape}.xml"
                count, _ = write(folder, feed, shape)
                feeds[engine] = feed.read_bytes()
                assert count == expected.count(None), (engine, shape, count)
                assert problem_codes(engine, folder, shape) == expected, (engine, shape)
            assert feeds["polars"] == feeds["duckdb"], shape
            text = feeds["polars"].decode()
            assert "Tom &amp; Jerry &lt;b&gt;" in text and "bell here" in text
            assert ("c&#13;\nline2" if shape == "google" else "c\r\nline2") in text
    check_xxh64()
    print(f"selfcheck: {len(cases)} rows, {expected.count(None)} valid; Polars and DuckDB agree;"
          " polars-hash's xxhash64 is XXH64")  # fmt: skip


def check_xxh64() -> None:
    """polars-hash's xxhash64 against XXH64 written from its specification
    (github.com/Cyan4973/xxHash/blob/dev/doc/xxhash_spec.md), seed 0."""
    import polars as pl
    import polars_hash as plh

    texts = ["", "abc", "x" * 33, "Лёгкий тёплый\x1f4877193814761\x1fnew" * 5]
    found = pl.DataFrame({"s": texts}).select(plh.col("s").nchash.xxhash64()).to_series()
    assert xxh64(b"abc") == 0x44BC2CF5AD770999  # the specification's own example
    assert found.to_list() == [xxh64(t.encode()) for t in texts]


def xxh64(data: bytes) -> int:
    m, p1, p2 = (1 << 64) - 1, 11400714785074694791, 14029467366897019727
    p3, p4, p5 = 1609587929392839161, 9650029242287828579, 2870177450012600261

    def rotl(x: int, r: int) -> int:
        return ((x << r) | (x >> (64 - r))) & m

    def rnd(acc: int, lane: int) -> int:
        return rotl((acc + lane * p2) & m, 31) * p1 & m

    def lane(i: int, width: int = 8) -> int:
        return int.from_bytes(data[i : i + width], "little")

    n, i = len(data), 0
    if n >= 32:
        acc = [(p1 + p2) & m, p2, 0, -p1 & m]
        while i + 32 <= n:
            acc = [rnd(a, lane(i + 8 * k)) for k, a in enumerate(acc)]
            i += 32
        h = (rotl(acc[0], 1) + rotl(acc[1], 7) + rotl(acc[2], 12) + rotl(acc[3], 18)) & m
        for a in acc:
            h = ((h ^ rnd(0, a)) * p1 + p4) & m
    else:
        h = p5
    h = (h + n) & m
    while i + 8 <= n:
        h, i = (rotl(h ^ rnd(0, lane(i)), 27) * p1 + p4) & m, i + 8
    if i + 4 <= n:
        h, i = (rotl(h ^ (lane(i, 4) * p1 & m), 23) * p2 + p3) & m, i + 4
    while i < n:
        h, i = rotl(h ^ (data[i] * p5 & m), 11) * p1 & m, i + 1
    h = (h ^ (h >> 33)) * p2 & m
    h = (h ^ (h >> 29)) * p3 & m
    return h ^ (h >> 32)


def problem_codes(engine: str, folder: Path, shape: str) -> list[str | None]:
    if engine == "polars":
        return list(polars_lazy(folder, shape).collect().get_column("problem"))
    con = duckdb_connect(folder)
    return [code for _, code, _ in con.sql(duckdb_query(con, folder, shape)).fetchall()]


def engine_versions() -> str:
    import duckdb
    import polars as pl
    import pyarrow as pa

    return f"Polars {pl.__version__}, DuckDB {duckdb.__version__}, pyarrow {pa.__version__}"


def main() -> None:
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "one":
        one(sys.argv[2], Path(sys.argv[3]))
        return
    if command in ("versions", "selfcheck"):
        print(engine_versions()) if command == "versions" else selfcheck()
        return
    if command == "ledger":
        folder = Path(sys.argv[2])
        write_xxh64_ledger(folder, folder / "spike-ledger-xxh64.parquet")
        write_ledger(folder, folder / "spike-ledger.parquet")
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--omnisync-up-to", type=int, default=100_000,
                        help="run omnisync's own Google build (the fidelity reference) up to "
                             "this size")  # fmt: skip
    parser.add_argument("--load", type=float, default=1.5, help="wait for a 1-min load below")
    parser.add_argument("--wait", type=float, default=900, help="wait at most (seconds)")
    parser.add_argument("--wait-from", type=int, default=1_000_000, help="wait from this size")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        wanted = args.scenarios.split(",")
        if size <= args.omnisync_up_to:
            wanted.append("omnisync:google")
        results += run_size(size, wanted, args)
    report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")


def report(results: list[dict[str, Any]]) -> None:
    versions = subprocess.run([sys.executable, __file__, "versions"], capture_output=True,
                              text=True, check=True).stdout.strip()  # fmt: skip
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, {versions}")  # fmt: skip
    print(table(results))
    for line in checks(results):
        print(line)
    print("(omnisync:google is today's code writing its whole Google feed; only its core-field "
          "lines are hashed)")  # fmt: skip


if __name__ == "__main__":
    main()
