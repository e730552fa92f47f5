"""A pickup board lists orders: a run counts them as its items (build's summary, status), not
the catalogue's products it reads only to name the order lines."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from conftest import DEMO_CONFIG, run_cli

from omnisync.channels.base import ChannelContext
from omnisync.channels.pickup_board import PickupBoard, PickupBoardConfig
from omnisync.lanes import Lane
from omnisync.models import Location, Product
from omnisync.orders.model import Order, OrderLine
from omnisync.report import ChannelStats, RunReport
from omnisync.store import stored
from omnisync.store.orders import IngestStats, ingest

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def pickup(code: str, store: str, status: str, sku: str) -> Order:
    placed = NOW - timedelta(hours=3)
    return Order(
        channel="kaspi", account="main", external_id=code, code=code, status=status,
        channel_status=status.upper(), created_at=placed, updated_at=placed,
        lines=(OrderLine(sku, 1, Decimal(1000)),), location=store, pickup=True,
        customer={"name": f"Покупатель {code}"},
    )  # fmt: skip


# Four orders to collect (three in ALM-1, one in AST-1); a collected one is off the board.
ORDERS = [
    pickup("K-1", "ALM-1", "accepted", "HP-SONORA-X2"),
    pickup("K-2", "ALM-1", "shipped", "HP-SONORA-BUDS"),
    pickup("K-3", "ALM-1", "new", "SPK-SONORA-GO"),
    pickup("K-4", "AST-1", "new", "HP-NOMAD-WIRED"),
    pickup("K-5", "ALM-1", "delivered", "HP-NOMAD-WIRED"),
]


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    """The demo config in ``tmp_path``, its state holding ``ORDERS``."""
    shutil.copytree(DEMO_CONFIG.parent / "demo", tmp_path / "demo")
    data = yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8"))
    data.update(output_dir="out", state="state.db")
    config = tmp_path / "omnisync.yaml"
    config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with stored(tmp_path / "state.db") as store:
        ingest(store, ORDERS, lambda sku: sku, None, IngestStats())
    return config


def test_build_and_status_count_the_boards_orders(demo: Path) -> None:
    built = run_cli("build", "-c", demo, "--channel", "boards", "-f", "json")
    assert built.returncode == 0, built.stderr
    report = json.loads(built.stdout)
    (board,) = report["files"]
    assert report["catalogue"]["products"] > 50  # read, to name the lines
    assert (board["channel"], board["items"], board["excluded"]) == ("boards", 4, 0)
    listed = json.loads((demo.parent / "out" / "boards" / "ALM-1.json").read_text("utf-8"))
    assert sorted(o["code"] for o in listed["orders"]) == ["K-1", "K-2", "K-3"]
    shown = run_cli("status", "-c", demo, "-f", "json")
    assert shown.returncode == 0, shown.stderr
    (boards,) = [c for c in json.loads(shown.stdout)["channels"] if c["channel"] == "boards"]
    assert (boards["last_publish"]["items"], boards["last_publish"]["excluded"]) == (4, 0)


def test_what_the_board_reads_of_the_catalogue_raises_no_problem_of_its_own(
    tmp_path: Path,
) -> None:
    """The products only name order lines: one the board met before (a SKU twice) is not an
    item id given twice, and the board's rules and checks are not applied to it."""
    store = Location(code="ALM-1", name="Алматы", type="store")
    context = ChannelContext(locations={"ALM-1": store}, now=NOW, state=tmp_path / "none.db")
    board = PickupBoard("boards", PickupBoardConfig(type="pickup_board"), context)
    lane, report = Lane(board, ChannelStats("boards")), RunReport()
    product = Product(sku="KETTLE-1", title="Чайник", price=Decimal(1), url="u", image_url="i")
    for _ in range(2):
        lane.accept(product, report)
    assert report.problems == []
    assert (lane.stats.items_total, lane.stats.items_valid) == (0, 0)
