"""Incremental push planning (omnisync/incremental.py, rawscan.py): skipping the SKUs whose
input rows did not change must give exactly what reading everything gives — the same pushes,
the same marketplace state, the same report — while reading only what changed. Real pushes to
the sandbox over loopback; the comparison run is the same push with ``full=True``."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from conftest import csv_text, good_row, run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_push_ledger import T0, WAREHOUSE

from omnisync import faults, push, rawfiles
from omnisync.channels.capabilities import ItemResult, PushItem
from omnisync.channels.ozon import Ozon
from omnisync.config import load_config
from omnisync.sandbox.server import Sandbox
from omnisync.store import open_store
from omnisync.store.ledger import Ledger, OwnerChanged


@dataclass(frozen=True)
class Row:
    sku: str
    price: int = 15990
    quantity: int = 1
    title: str = "Acme Electric Kettle 1.7 L"  # empty: the row is invalid


def write(root: Path, sandbox: Sandbox, rows: list[Row], stray: bool = False,
          shuffled: bool = False, accounts: int = 1, **ozon: Any) -> Path:  # fmt: skip
    """products.csv, stock.csv (in the products' order unless ``shuffled``; ``stray`` adds a
    stock row of an unknown SKU), locations and an Ozon config."""
    products = [good_row(sku=r.sku, price=str(r.price), title=r.title, quantity="") for r in rows]
    (root / "products.csv").write_text(csv_text(products), encoding="utf-8")
    stock = [f"{r.sku},WH-1,{r.quantity}\n" for r in rows]
    stock = sorted(stock, reverse=True) if shuffled else stock
    stock += ["GHOST-1,WH-1,3\n"] if stray else []
    (root / "stock.csv").write_text("sku,location,quantity\n" + "".join(stock), encoding="utf-8")
    (root / "locations.csv").write_text(
        "code,name,type,city,address,pickup\nWH-1,Склад,warehouse,Алматы,,no\n", encoding="utf-8"
    )
    channel = {"type": "ozon", "base_url": sandbox.url, "client_id": "9",
               "api_key": "env:OZON_API_KEY", "currency": "KZT", "requests_per_minute": 6000,
               "warehouses": {"WH-1": WAREHOUSE}, **ozon}  # fmt: skip
    data = {"catalog": {"products": "products.csv", "stock": "stock.csv",
                        "locations": "locations.csv"}, "state": "state.db",
            "channels": {"ozon": channel}}  # fmt: skip
    for n in range(2, accounts + 1):  # more Ozon accounts, each with its own ledger and memory
        data["channels"][f"ozon{n}"] = {**channel, "client_id": str(8 + n)}
    path = root / "omnisync.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def held(sandbox: Sandbox) -> dict[str, Any]:
    state = httpx.get(f"{sandbox.url}/_sandbox/state").json()
    return {name: state.get(name) for name in ("ozon_stocks", "ozon_prices")}


def observed(result: push.PushReport, sandbox: Sandbox) -> dict[str, Any]:
    """Everything a run is judged by, except how much it read."""
    return {
        "exit": result.exit_code,
        "counts": [(p.planned, p.sent, p.failed, p.deferred) for p in result.pushes],
        "products": result.run.products,
        "lanes": [
            (s.items_total, s.items_valid, s.errors, s.warnings, s.filtered)
            for s in result.run.channels
        ],
        "problems": [
            (x.code, x.sku, x.file, x.line, x.field, x.severity) for x in result.run.problems
        ],
        "held": held(sandbox),
    }


def pushed(config: Path, **kw: Any) -> push.PushReport:
    return push.push(load_config(config), now=kw.pop("now", T0), **kw)


def catalogue(n: int = 12) -> list[Row]:
    return [Row(f"S{i:02}", quantity=i % 4) for i in range(n)]


def test_only_the_changed_skus_are_read_and_the_rest_counts_as_unchanged(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    rows = catalogue()
    config = write(tmp_path, sandbox, rows)
    first = pushed(config).pushes[0]
    assert first.skipped == 0 and first.sent == 24  # stock and price of each
    rows[3] = replace(rows[3], quantity=9)
    write(tmp_path, sandbox, rows)
    second = pushed(config, now=T0 + timedelta(hours=1))
    p = second.pushes[0]
    assert p.skipped == 11 and p.planned["update"] == 1 and p.planned["unchanged"] == 23
    assert held(sandbox)["ozon_stocks"][f"S03@{WAREHOUSE}"] == 9
    assert second.run.products == 12 and second.run.channels[0].items_valid == 12


def test_full_reads_everything(tmp_path: Path, sandbox: Sandbox) -> None:
    config = write(tmp_path, sandbox, catalogue())
    pushed(config)
    again = pushed(config, now=T0 + timedelta(hours=1), full=True).pushes[0]
    assert again.skipped == 0 and again.planned["unchanged"] == 24


def test_due_items_are_read_and_reasserted(tmp_path: Path, sandbox: Sandbox) -> None:
    config = write(tmp_path, sandbox, catalogue())
    pushed(config)
    later = pushed(config, now=T0 + timedelta(hours=25)).pushes[0]  # reassert_after: 24 h
    assert later.skipped == 0 and later.planned["reassert"] == 24


def test_changed_settings_or_columns_forget_the_memory(tmp_path: Path, sandbox: Sandbox) -> None:
    rows = catalogue()
    config = write(tmp_path, sandbox, rows)
    pushed(config)
    write(tmp_path, sandbox, rows, requests_per_minute=5000)
    assert pushed(config, now=T0 + timedelta(hours=1)).pushes[0].skipped == 0
    assert pushed(config, now=T0 + timedelta(hours=2)).pushes[0].skipped == 12
    products = tmp_path / "products.csv"
    products.write_text(products.read_text().replace("sku,", "SKU,", 1), encoding="utf-8")
    assert pushed(config, now=T0 + timedelta(hours=3)).pushes[0].skipped == 0


def test_an_order_reservation_is_seen_though_no_file_changed(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    rows = catalogue()
    rows[5] = replace(rows[5], quantity=3)
    config = write(tmp_path, sandbox, rows)
    pushed(config)
    with sqlite3.connect(tmp_path / "state.db") as db:
        db.execute("INSERT INTO reservations VALUES ('kaspi', 'k', 'O-1', 'S05', 'WH-1', 2)")
    p = pushed(config, now=T0 + timedelta(hours=1)).pushes[0]
    assert p.skipped == 11 and p.planned["update"] == 1
    assert held(sandbox)["ozon_stocks"][f"S05@{WAREHOUSE}"] == 1
    with sqlite3.connect(tmp_path / "state.db") as db:
        db.execute("DELETE FROM reservations")
    p = pushed(config, now=T0 + timedelta(hours=2)).pushes[0]
    assert p.planned["update"] == 1 and held(sandbox)["ozon_stocks"][f"S05@{WAREHOUSE}"] == 3


def test_a_problem_is_reported_every_run_with_its_real_line(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    rows = catalogue()
    rows[7] = replace(rows[7], title="")
    config = write(tmp_path, sandbox, rows)
    first = pushed(config)
    rows[10] = replace(rows[10], price=0)  # changed: read from the copy, reported at line 12
    write(tmp_path, sandbox, rows)
    second = pushed(config, now=T0 + timedelta(hours=1))
    lines = {(p.sku, p.line) for p in second.run.problems if p.file == "products.csv"}
    assert ("S07", 9) in lines and ("S10", 12) in lines
    assert {(p.sku, p.line) for p in first.run.problems} <= lines
    assert second.pushes[0].skipped == 10


def test_a_kill_before_the_memory_is_written_is_followed_by_a_full_read(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    rows = catalogue(40)
    config = write(tmp_path, sandbox, rows)
    assert run_cli("push", "-c", config).returncode == 0
    rows = [replace(r, quantity=r.quantity + 1) if i % 3 == 0 else r for i, r in enumerate(rows)]
    write(tmp_path, sandbox, rows)
    killed = run_cli("push", "-c", config, env={faults.ENV: "push.after_send"})
    assert killed.returncode == -signal.SIGKILL
    assert run_cli("push", "-c", config).returncode == 0
    stocks = held(sandbox)["ozon_stocks"]
    assert all(stocks[f"{r.sku}@{WAREHOUSE}"] == r.quantity for r in rows)
    again = pushed(config, now=T0 + timedelta(hours=1), dry_run=True).pushes[0]
    assert again.skipped == 40 and again.planned["update"] == again.planned["create"] == 0


def test_a_killed_runs_copy_of_rows_is_swept(tmp_path: Path, sandbox: Sandbox) -> None:
    config = write(tmp_path, sandbox, catalogue())
    stale = tmp_path / ".omnisync-read-x1" / "products"
    stale.mkdir(parents=True)
    (stale / "products.csv").write_text("sku\n", encoding="utf-8")
    pushed(config, dry_run=True)  # holds no lock: another run may be using it
    assert stale.exists()
    pushed(config)
    assert not list(tmp_path.glob(".omnisync-read-*"))


def test_an_id_taken_over_by_another_sku_asks_for_a_redo(tmp_path: Path) -> None:
    store = open_store(tmp_path / "state.db")
    ledger = Ledger(store, "ozon", "9", T0, timedelta(hours=24))
    item = PushItem("stock", "K-1", "A", {"n": 1})
    ledger.consider(item)
    ledger.record([item], [ItemResult("K-1", True)])  # the channel holds K-1 for SKU A
    ledger = Ledger(store, "ozon", "9", T0, timedelta(hours=24))
    ledger.guard = True
    ledger.consider(PushItem("stock", "K-1", "A", {"n": 2}))  # the same SKU: fine
    with pytest.raises(OwnerChanged):
        ledger.consider(PushItem("stock", "K-1", "B", {"n": 2}))


# --- the same result as reading everything, whatever changes between runs ---

EDITS = st.lists(
    st.tuples(
        st.sampled_from(["quantity", "price", "drop", "add", "swap", "invalid", "duplicate"]),
        st.integers(0, 30),
        st.integers(0, 5),
    ),
    max_size=6,
)


def edited(rows: list[Row], edits: list[tuple[str, int, int]], fresh: Iterator[int]) -> list[Row]:
    rows = list(rows)
    for kind, at, value in edits:
        i = at % len(rows) if rows else 0
        if kind == "add" or not rows:
            rows.insert(i, Row(f"N{next(fresh)}", quantity=value))
        elif kind == "quantity":
            rows[i] = replace(rows[i], quantity=value)
        elif kind == "price":
            rows[i] = replace(rows[i], price=10000 + value)
        elif kind == "drop":
            rows.pop(i)
        elif kind == "swap":
            j = (i + value) % len(rows)
            rows[i], rows[j] = rows[j], rows[i]
        elif kind == "invalid":
            rows[i] = replace(rows[i], title="" if rows[i].title else "Back")
        else:
            rows.append(rows[i])
    return rows


@pytest.fixture(scope="module")
def two_sandboxes() -> Iterator[tuple[Sandbox, Sandbox]]:
    pair = Sandbox().start(), Sandbox().start()
    yield pair
    for box in pair:
        box.stop()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    steps=st.lists(
        st.tuples(EDITS, st.booleans(), st.sampled_from([1, 1, 1, 30])), min_size=2, max_size=4
    )
)
def test_skipping_gives_what_reading_everything_gives(
    two_sandboxes: tuple[Sandbox, Sandbox], steps: list[tuple[Any, bool, int]]
) -> None:
    fast, full = two_sandboxes
    for box in two_sandboxes:
        httpx.post(f"{box.url}/_sandbox/reset")
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        rows, fresh, now = catalogue(), iter(range(1000)), T0
        for edits, odd_stock, hours in steps:
            rows, now = edited(rows, edits, fresh), now + timedelta(hours=hours)
            odd = {"stray": odd_stock} if len(rows) % 2 else {"shuffled": odd_stock}
            skipping = pushed(write(Path(a), fast, rows, **odd), now=now)
            reading = pushed(write(Path(b), full, rows, **odd), now=now, full=True)
            assert observed(skipping, fast) == observed(reading, full)


# --- catalogues the raw scan cannot read as the CSV reader does: the same result all the same ---


def edit(root: Path, name: str, change: Callable[[str], str]) -> None:
    path = root / name
    path.write_text(change(path.read_text(encoding="utf-8")), encoding="utf-8", newline="")


def same_as_reading_everything(
    boxes: tuple[Sandbox, Sandbox], steps: list[Callable[[Path, Sandbox], Path]]
) -> list[push.PushReport]:
    """Each step writes a catalogue and pushes it twice over: skipping, and reading all."""
    fast, full = boxes
    for box in boxes:
        httpx.post(f"{box.url}/_sandbox/reset")
    found = []
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        for hour, step in enumerate(steps):
            now = T0 + timedelta(hours=hour)
            skipping = pushed(step(Path(a), fast), now=now)
            reading = pushed(step(Path(b), full), now=now, full=True)
            assert observed(skipping, fast) == observed(reading, full), hour
            found.append(skipping)
    return found


def stray_quotes(root: Path, box: Sandbox, price: int = 15990) -> Path:
    """Titles with an inch sign in unquoted cells: an odd number of quotes on a line, which
    the CSV reader takes as plain characters. S2 and S3 have no stock rows, so the side files
    still line up with the rows the scan sees."""
    rows = [Row(f"S{i}", price=price if i == 2 else 15990, title=f"TV {i}0in") for i in range(6)]
    config = write(root, box, rows)
    edit(root, "products.csv", lambda text: text.replace("TV 10in", 'TV 10" big'))
    edit(root, "products.csv", lambda text: text.replace("TV 30in", 'TV 30" small'))
    edit(root, "stock.csv", lambda text: text.replace("S2,WH-1,1\n", "").replace("S3,WH-1,1\n", ""))
    return config


def test_stray_quotes_never_hide_a_row(two_sandboxes: tuple[Sandbox, Sandbox]) -> None:
    steps = [stray_quotes, stray_quotes, partial(stray_quotes, price=17000)]
    runs = same_as_reading_everything(two_sandboxes, steps)
    assert [r.run.products for r in runs] == [6, 6, 6]
    assert runs[2].pushes[0].planned["update"] == 1  # S2's new price, inside the quotes


def repeats(root: Path, box: Sandbox, spelling: str = '"S01"') -> Path:
    """S01 again at the end, spelled so that only the CSV reader sees the same SKU."""
    rows = catalogue(4)
    config = write(root, box, rows)
    other = csv_text([good_row(sku="S01", price="77777", quantity="")]).splitlines()[1]
    edit(root, "products.csv", lambda text: text + other.replace("S01", spelling, 1) + "\n")
    return config


@pytest.mark.parametrize("spelling", ['"S01"', "S01\u00a0"])
def test_a_repeat_only_the_reader_sees_keeps_the_first_row(
    two_sandboxes: tuple[Sandbox, Sandbox], spelling: str
) -> None:
    step = partial(repeats, spelling=spelling)
    same_as_reading_everything(two_sandboxes, [step, step, step])
    prices = held(two_sandboxes[0])["ozon_prices"]
    assert all("77777" not in json.dumps(v) for v in prices.values())


def test_ids_the_channel_folds_are_compared_with_skipped_ones(
    two_sandboxes: tuple[Sandbox, Sandbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Ozon, "unique_key", lambda self, record: record.key.casefold())

    def step(root: Path, box: Sandbox) -> Path:
        return write(root, box, [Row("abc"), Row("S1"), Row("ABC", quantity=7)])

    runs = same_as_reading_everything(two_sandboxes, [step, step])
    assert [p.code for p in runs[1].run.problems] == ["id_not_unique"]


def odd_rows(root: Path, box: Sandbox, quantity: int = 1) -> Path:
    """Blank SKUs after the side files end, a lone CR inside a quoted cell, a stock row of a
    location nobody knows for a SKU whose neighbour has no stock row."""
    rows = [Row("S0"), Row("S1", quantity=quantity), Row("S2"), Row("S3")]
    config = write(root, box, rows)
    edit(root, "stock.csv", lambda text: text.replace("S0,WH-1,1\n", "").replace(
        "S1,WH-1", "S1,WH-9,2\nS1,WH-1"))  # fmt: skip
    blank = csv_text([good_row(sku="", quantity="")]).splitlines()[1]
    lone_cr = '"Acme Electric\rKettle",2200'
    edit(root, "products.csv", lambda text: text.replace(
        "Acme Electric Kettle 1.7 L,2200", lone_cr, 1) + blank + "\n")  # fmt: skip
    return config


def test_odd_rows_give_what_reading_everything_gives(
    two_sandboxes: tuple[Sandbox, Sandbox],
) -> None:
    runs = same_as_reading_everything(
        two_sandboxes, [odd_rows, odd_rows, partial(odd_rows, quantity=4)]
    )
    for found in runs:  # S1's bad stock row is reported on every run, at its line
        problems = {(p.code, p.sku, p.file, p.line) for p in found.run.problems}
        assert ("bad_stock_row", "S1", "stock.csv", 2) in problems


def test_a_dry_runs_copy_is_left_alone_for_a_day(tmp_path: Path, sandbox: Sandbox) -> None:
    config = write(tmp_path, sandbox, catalogue())
    fresh, old = tmp_path / ".omnisync-preview-a", tmp_path / ".omnisync-preview-b"
    fresh.mkdir()
    old.mkdir()
    os.utime(old, (time.time() - 90_000, time.time() - 90_000))
    pushed(config)
    assert fresh.exists() and not old.exists()


def test_released_side_file_pages_change_nothing(
    two_sandboxes: tuple[Sandbox, Sandbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rawfiles, "RELEASE_EVERY", 1)  # release after every SKU's rows
    same_as_reading_everything(two_sandboxes, [odd_rows, partial(odd_rows, quantity=4)])


def crlf(root: Path, box: Sandbox, quantity: int = 1) -> Path:
    """Windows line ends, as spreadsheets and Python's csv module write them."""
    config = write(root, box, [Row(f"S{i}", quantity=quantity if i == 3 else 1) for i in range(6)])
    for name in ("products.csv", "stock.csv"):
        edit(root, name, lambda text: text.replace("\n", "\r\n"))
    return config


def test_windows_line_ends_skip_too(two_sandboxes: tuple[Sandbox, Sandbox]) -> None:
    runs = same_as_reading_everything(two_sandboxes, [crlf, crlf, partial(crlf, quantity=6)])
    assert [r.pushes[0].skipped for r in runs] == [0, 6, 5]


def two_accounts(root: Path, box: Sandbox, quantity: int = 1, title: str = "Kettle") -> Path:
    rows = [Row(f"S{i}", quantity=quantity if i == 2 else 1, title=title if i == 5 else "K")
            for i in range(8)]  # fmt: skip
    return write(root, box, rows, accounts=2)


def test_two_accounts_skip_only_what_both_would_skip(
    two_sandboxes: tuple[Sandbox, Sandbox],
) -> None:
    steps = [two_accounts, two_accounts, partial(two_accounts, quantity=4),
             partial(two_accounts, quantity=4, title="")]  # fmt: skip
    runs = same_as_reading_everything(two_sandboxes, steps)
    assert [[p.skipped for p in r.pushes] for r in runs] == [[0, 0], [8, 8], [7, 7], [7, 7]]
    assert [p.planned["update"] for p in runs[2].pushes] == [1, 1]


def last_before_split(root: Path) -> str:
    """The SKU whose row ends just before the products file's middle line, where a split
    scan's second half starts."""
    data = (root / "products.csv").read_bytes()
    split = data.index(b"\n", len(data) // 2) + 1
    return data[: split - 1].rsplit(b"\n", 1)[1].split(b",", 1)[0].decode()


def before_the_split(root: Path, box: Sandbox, change: str = "") -> Path:
    """Twelve SKUs; "quantity" changes the one just before the split, "drop" removes the one
    that stood at the split (the row before it then ends the first half)."""
    rows = catalogue()
    config = write(root, box, rows)
    if change == "quantity":
        i = [row.sku for row in rows].index(last_before_split(root))
        return write(root, box, [*rows[:i], replace(rows[i], quantity=9), *rows[i + 1 :]])
    for i in range(1, len(rows)) if change == "drop" else ():
        write(root, box, rows[:i] + rows[i + 1 :])
        if last_before_split(root) == rows[i - 1].sku:
            return config
    return write(root, box, rows)


def test_a_change_just_before_the_split_is_carried_across_it(
    two_sandboxes: tuple[Sandbox, Sandbox],
) -> None:
    steps = [before_the_split, before_the_split, partial(before_the_split, change="quantity"),
             before_the_split, partial(before_the_split, change="drop")]  # fmt: skip
    runs = same_as_reading_everything(two_sandboxes, steps)
    assert [r.pushes[0].planned["delete"] for r in runs] == [0, 0, 0, 0, 1]  # its stock set to 0
    assert [r.pushes[0].skipped for r in runs] == [0, 12, 11, 11, 11]


def sparse_stock(root: Path, box: Sandbox, quantity: int = 3) -> Path:
    """Stock rows for three of twelve SKUs only: the first SKUs after the split have none."""
    config = write(root, box, catalogue())
    late = f"S09,WH-1,{quantity}\n"
    stock = "sku,location,quantity\nS00,WH-1,1\nS01,WH-1,2\n" + late
    (root / "stock.csv").write_text(stock, encoding="utf-8")
    return config


def test_a_sparse_side_file_is_walked_to_the_split(
    two_sandboxes: tuple[Sandbox, Sandbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rawfiles, "FIND_FIRST", 1)  # S06 has no stock row: walk the runs
    steps = [sparse_stock, sparse_stock, partial(sparse_stock, quantity=5)]
    runs = same_as_reading_everything(two_sandboxes, steps)
    assert [r.pushes[0].skipped for r in runs] == [0, 12, 11]
    assert held(two_sandboxes[0])["ozon_stocks"][f"S09@{WAREHOUSE}"] == 5


def moved_to_the_split(root: Path, box: Sandbox, move: bool = False) -> Path:
    """200 SKUs; ``move`` puts the last one right after the row that ends the first half (the
    file keeps its size and its first half, so the split stays where it was): more than
    LOOKAHEAD entries ahead of where one scan stands, so one scan reads it alone."""
    rows = catalogue(200)
    config = write(root, box, rows)
    if move:
        i = [row.sku for row in rows].index(last_before_split(root))
        write(root, box, [*rows[: i + 1], rows[-1], *rows[i + 1 : -1]])
    return config


def test_one_row_moved_to_the_split_skips_as_much_as_one_process(
    two_sandboxes: tuple[Sandbox, Sandbox],
) -> None:
    steps = [moved_to_the_split, moved_to_the_split, partial(moved_to_the_split, move=True)]
    runs = same_as_reading_everything(two_sandboxes, steps)
    assert [r.pushes[0].skipped for r in runs] == [0, 200, 199]  # only the moved SKU is read


def new_at_the_split(root: Path, box: Sandbox, new: int = 0) -> Path:
    """Forty SKUs; ``new`` SKUs inserted in the middle (the split falls among them)."""
    rows = catalogue(40)
    fresh = [Row(f"N{i:03}", quantity=1) for i in range(new)]
    return write(root, box, [*rows[:20], *fresh, *rows[20:]])


def test_new_skus_at_the_split_skip_as_much_as_one_process(
    two_sandboxes: tuple[Sandbox, Sandbox],
) -> None:
    steps = [new_at_the_split, new_at_the_split, partial(new_at_the_split, new=200)]
    runs = same_as_reading_everything(two_sandboxes, steps)
    assert [r.pushes[0].skipped for r in runs] == [0, 40, 40]  # only the 200 new are read


def changed_past_the_split(root: Path, box: Sandbox, quantity: int | None = None) -> Path:
    """Forty SKUs; ``quantity`` changes the stock of the eight right past the split."""
    rows = catalogue(40)
    config = write(root, box, rows)
    if quantity is not None:
        i = [row.sku for row in rows].index(last_before_split(root)) + 1
        rows = [replace(r, quantity=quantity) if i <= j < i + 8 else r for j, r in enumerate(rows)]
        write(root, box, rows)
    return config


def test_a_changed_block_past_the_split_keeps_the_subset(
    two_sandboxes: tuple[Sandbox, Sandbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rawfiles, "SUBSET_MIN", 3)  # 10,000 of a million, scaled down
    steps = [changed_past_the_split, changed_past_the_split,
             partial(changed_past_the_split, quantity=9)]  # fmt: skip
    runs = same_as_reading_everything(two_sandboxes, steps)
    assert [r.pushes[0].skipped for r in runs] == [0, 40, 32]  # 8 read of 40: worth a copy


def repeated_with_stock(root: Path, box: Sandbox, repeat: bool = False) -> Path:
    """S01 again at the end, with its own stock row: in the catalogue that row comes after
    S11's, out of the products' order (the reader warns ``side_file_order``)."""
    rows = catalogue()
    if repeat:
        rows = [*rows[:1], replace(rows[1], quantity=0), *rows[2:], replace(rows[1], quantity=0)]
    return write(root, box, rows)


def test_a_repeat_with_side_rows_is_read_as_the_catalogue_has_it(
    two_sandboxes: tuple[Sandbox, Sandbox],
) -> None:
    steps = [repeated_with_stock, partial(repeated_with_stock, repeat=True)]
    runs = same_as_reading_everything(two_sandboxes, steps)
    assert {p.code for p in runs[1].run.problems} >= {"side_file_order", "duplicate_sku"}
    assert runs[1].pushes[0].skipped == 0  # a repeat: everything is read
