"""Shared fixtures: a tiny catalogue written to a temp folder, with its config."""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from omnisync import pipeline
from omnisync.config import load_config
from omnisync.sandbox.server import Sandbox

ROOT = Path(__file__).resolve().parent.parent
# The demo's API channels read their credentials from the environment (as any config does);
# the sandbox accepts these values. The Makefile's demo sets the same.
SANDBOX_ENV = {
    "OZON_API_KEY": "sandbox-ozon-key",
    "SATU_TOKEN": "sandbox-satu-token",
    "GOOGLE_TOKEN": "sandbox-google-token",
    "KASPI_TOKEN": "sandbox-kaspi-token",
}
for _name, _value in SANDBOX_ENV.items():
    os.environ.setdefault(_name, _value)
# CLI tests read the human one-line errors; the JSON log format has tests of its own.
os.environ["OMNISYNC_LOG_FORMAT"] = "text"
DEMO_CONFIG = ROOT / "configs" / "demo.yaml"

HEADER = [
    "sku",
    "title",
    "description",
    "brand",
    "gtin",
    "mpn",
    "price",
    "sale_price",
    "currency",
    "url",
    "image_url",
    "additional_image_urls",
    "category",
    "google_category",
    "condition",
    "item_group_id",
    "color",
    "size",
    "quantity",
]


def good_row(**overrides: str) -> dict[str, str]:
    """A row that passes every Google rule; override fields to break it."""
    row = {
        "sku": "KETTLE-1",
        "title": "Acme Electric Kettle 1.7 L",
        "description": "2200 W kettle, 1.7 L, auto shut-off.",
        "brand": "Acme",
        "gtin": "4006381333931",
        "mpn": "AK-1700",
        "price": "15990",
        "sale_price": "",
        "currency": "KZT",
        "url": "https://shop.example.kz/p/kettle-1",
        "image_url": "https://cdn.example.kz/img/kettle-1.jpg",
        "additional_image_urls": "",
        "category": "Бытовая техника > Кухня",
        "google_category": "",
        "condition": "new",
        "item_group_id": "",
        "color": "",
        "size": "",
        "quantity": "5",
    }
    row.update(overrides)
    return row


def csv_text(rows: list[dict[str, str]], header: list[str] | None = None) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header or HEADER, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


class Workspace:
    """A folder with products.csv (+ optional stock/locations) and an omnisync.yaml."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.config_path = root / "omnisync.yaml"
        self.products = root / "products.csv"

    def write_products(self, rows: list[dict[str, str]], header: list[str] | None = None) -> Path:
        self.products.write_text(csv_text(rows, header), encoding="utf-8")
        return self.products

    def write_config(
        self, channels: dict[str, dict[str, object]] | None = None, **catalog: str
    ) -> Path:
        data = {
            "catalog": {"products": "products.csv", **catalog},
            "output_dir": "out",
            "channels": channels
            or {"google": {"type": "google_merchant", "format": "xml", "currency": "KZT"}},
        }
        self.config_path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        return self.config_path

    def setup(self, rows: list[dict[str, str]]) -> Path:
        """products.csv with ``rows`` and a config with one Google XML channel."""
        self.write_products(rows)
        return self.write_config()


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path)


@pytest.fixture
def make_rows() -> Callable[..., dict[str, str]]:
    return good_row


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="rewrite tests/golden/* from the current output instead of comparing",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """The marketplace emulator on a free loopback port, for one test."""
    server = Sandbox().start()
    yield server
    server.stop()


def demo_against(folder: Path, sandbox: Sandbox, exports: bool = False) -> Path:
    """The demo config in ``folder`` with its catalogue imported, pointed at ``sandbox``;
    ``exports``: orders also go to an NDJSON file and the sandbox's webhook."""
    shutil.copytree(DEMO_CONFIG.parent / "demo", folder / "demo")
    text = DEMO_CONFIG.read_text(encoding="utf-8").replace("http://127.0.0.1:8765", sandbox.url)
    data = yaml.safe_load(text)
    data.update(output_dir="out", state="state.db")
    for channel in ("kaspi", "satu", "ozon"):  # the sandbox has no quota to protect
        data["channels"][channel]["requests_per_minute"] = 6000
    data["channels"]["google"]["api"]["requests_per_minute"] = 6000
    if exports:
        data["exports"] = {"ndjson": "out/orders.ndjson",
                           "webhook": {"url": f"{sandbox.url}/webhook/orders"}}  # fmt: skip
    path = folder / "omnisync.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    pipeline.import_catalog(load_config(path))
    return path


@pytest.fixture
def sandbox_demo(tmp_path: Path, sandbox: Sandbox) -> Path:
    return demo_against(tmp_path, sandbox)


def run_cli(
    *args: object, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """``python -m omnisync ARGS`` in a real subprocess (signals, locks and kills are real);
    ``env`` is added to this process's environment."""
    return subprocess.run(
        [sys.executable, "-m", "omnisync", *(str(a) for a in args)],
        capture_output=True, text=True, encoding="utf-8", env={**os.environ, **(env or {})},
        timeout=timeout,
    )  # fmt: skip


def start_cli(*args: object, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """``run_cli`` without waiting for it."""
    return subprocess.Popen(
        [sys.executable, "-m", "omnisync", *(str(a) for a in args)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8",
        env={**os.environ, **(env or {})},
    )  # fmt: skip


@pytest.fixture
def sync_demo(tmp_path: Path, sandbox: Sandbox) -> Path:
    return demo_against(tmp_path, sandbox, exports=True)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A real PostgreSQL server for the session (tests/pgserver.py): its ``postgres`` database."""
    from pgserver import postgres

    with postgres() as url:
        yield url


def sandbox_state(sandbox: Sandbox) -> dict[str, Any]:
    """What the sandbox holds (``GET /_sandbox/state``)."""
    return httpx.get(f"{sandbox.url}/_sandbox/state").json()  # type: ignore[no-any-return]


def push_setup(root: Path, channels: dict[str, Any], skus: dict[str, int]) -> Path:
    """A config of ``channels`` over a catalogue of good rows, ``skus`` → units in store ALM-1."""
    rows = [good_row(sku=sku, quantity="") for sku in skus]
    (root / "products.csv").write_text(csv_text(rows), encoding="utf-8")
    stock = "".join(f"{sku},ALM-1,{n}\n" for sku, n in skus.items())
    (root / "stock.csv").write_text("sku,location,quantity\n" + stock, encoding="utf-8")
    (root / "locations.csv").write_text(
        "code,name,type,city,address,pickup\nALM-1,Абая,store,Алматы,,yes\n", encoding="utf-8"
    )
    catalog = {"products": "products.csv", "stock": "stock.csv", "locations": "locations.csv"}
    data = {"catalog": catalog, "state": "state.db", "output_dir": "out", "channels": channels}
    path = root / "omnisync.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path
