"""What a shopper and a store clerk read on the store pages (displays and pickup boards),
checked in the generated files; tests/test_store_display_browser.py checks them in Chromium."""

from __future__ import annotations

import base64
import csv
import io
import json
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from browser import Browser
from conftest import DEMO_CONFIG, ROOT, Workspace, good_row
from lxml import html

from omnisync import pipeline
from omnisync.channels.pickup_board import STATUS_WORDS
from omnisync.channels.store_display import StorePage, picture, stock_rank
from omnisync.channels.words import local_time, plural
from omnisync.config import load_config
from omnisync.errors import ConfigError
from omnisync.orders.model import STATUSES, Order, OrderLine
from omnisync.store import open_store
from omnisync.store.orders import IngestStats, ingest

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
ARTIFACTS = ROOT / "test-artifacts"

GOODS = ("товар", "товара", "товаров")
# The form each number takes, as a Russian speaker says it (CLDR "ru" integer rules).
SAID = {
    0: "товаров", 1: "товар", 2: "товара", 3: "товара", 4: "товара", 5: "товаров",
    6: "товаров", 9: "товаров", 10: "товаров", 11: "товаров", 12: "товаров", 13: "товаров",
    14: "товаров", 15: "товаров", 19: "товаров", 20: "товаров", 21: "товар", 22: "товара",
    24: "товара", 25: "товаров", 30: "товаров", 31: "товар", 42: "товара", 63: "товара",
    100: "товаров", 101: "товар", 102: "товара", 105: "товаров", 111: "товаров",
    112: "товаров", 114: "товаров", 121: "товар", 122: "товара", 211: "товаров",
    1000: "товаров", 1001: "товар", 1012: "товаров", 1022: "товара", 10_011: "товаров",
    1_000_021: "товар",
}  # fmt: skip


@pytest.mark.parametrize(("count", "word"), sorted(SAID.items()))
def test_russian_plural_of_a_count(count: int, word: str) -> None:
    assert plural(count, *GOODS) == word


def test_russian_plural_depends_on_the_last_two_digits_only() -> None:
    for count in range(1000):
        assert plural(count, *GOODS) == plural(count % 100 + 100 * (count // 100 + 7), *GOODS)


# --- the demo's pages, with pickup orders in the central store ---------------------------------


def pickup(code: str, store: str, status: str, *lines: tuple[str, int], minutes: int = 0) -> Order:
    placed = NOW - timedelta(hours=3) + timedelta(minutes=minutes)
    return Order(
        channel="kaspi", account="main", external_id=code, code=code, status=status,
        channel_status=status.upper(), created_at=placed, updated_at=placed,
        lines=tuple(OrderLine(sku, quantity, Decimal(1000)) for sku, quantity in lines),
        location=store, pickup=True, customer={"name": f"Покупатель {code}"},
    )  # fmt: skip


ORDERS = [
    pickup("K-1", "ALM-1", "accepted", ("HP-SONORA-X2", 1), ("NO-SUCH-SKU", 2), minutes=5),
    pickup("K-2", "ALM-1", "shipped", ("HP-SONORA-BUDS", 3)),
    pickup("K-3", "ALM-1", "new", ("SPK-SONORA-GO", 1), minutes=10),
    pickup("K-4", "AST-1", "new", ("HP-NOMAD-WIRED", 1)),
    pickup("K-5", "ALM-1", "delivered", ("HP-NOMAD-WIRED", 1)),  # collected: off the board
    pickup("K-6", "ALM-1", "cancelled", ("HP-NOMAD-WIRED", 1)),
]


@dataclass
class Pages:
    out: Path

    def page(self, channel: str, store: str) -> html.HtmlElement:
        return html.fromstring((self.out / channel / f"{store}.html").read_bytes())

    def text(self, channel: str, store: str, xpath: str) -> str:
        return " ".join(self.page(channel, store).xpath(f"string({xpath})").split())


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> Pages:
    folder = tmp_path_factory.mktemp("pages")
    shutil.copytree(DEMO_CONFIG.parent / "demo", folder / "demo")
    shutil.copy(DEMO_CONFIG, folder / "omnisync.yaml")
    config = load_config(folder / "omnisync.yaml").model_copy(
        update={"output_dir": folder / "out", "state": folder / "state.db"}
    )
    store = open_store(config.state)
    known = {"HP-SONORA-X2", "HP-SONORA-BUDS", "SPK-SONORA-GO", "HP-NOMAD-WIRED"}
    try:
        ingest(store, ORDERS, lambda code: code if code in known else None, None, IngestStats())
    finally:
        store.close()
    report = pipeline.build(config, ["displays", "boards"], now=NOW)
    assert all(s.published for s in report.channels)
    return Pages(folder / "out")


def test_the_display_counts_its_products_in_words(pages: Pages) -> None:
    footer = pages.text("displays", "ALM-1", "//footer")
    assert len(pages.page("displays", "ALM-1").xpath("//article")) == 63
    assert footer.startswith("63 товара ·")


def test_the_board_counts_its_orders_in_words(pages: Pages) -> None:
    assert pages.text("boards", "ALM-1", "//footer").startswith("3 заказа ·")
    assert pages.text("boards", "AST-1", "//footer").startswith("1 заказ ·")
    assert pages.text("boards", "SHM-1", "//footer").startswith("0 заказов ·")


def _catalogue_order() -> list[str]:
    with (DEMO_CONFIG.parent / "demo" / "products.csv").open(encoding="utf-8", newline="") as f:
        return list(dict.fromkeys(row["sku"] for row in csv.DictReader(f)))


@pytest.mark.parametrize("store", ["ALM-1", "AST-1", "SHM-1"])
def test_what_is_in_this_store_comes_first_in_catalogue_order(pages: Pages, store: str) -> None:
    products = json.loads((pages.out / "displays" / f"{store}.json").read_text("utf-8"))["products"]
    here = {p["sku"]: p["quantity_here"] for p in products}
    catalogue = [sku for sku in _catalogue_order() if sku in here]
    in_stock = [sku for sku in catalogue if here[sku]]
    out = [sku for sku in catalogue if not here[sku]]
    assert in_stock and out  # the demo has both in every store
    cards = pages.page("displays", store).xpath("//main[@id='products']/article")
    assert [c.get("data-sku") for c in cards] == in_stock + out
    assert [p["sku"] for p in products] == in_stock + out  # the JSON lists them alike


def test_an_item_out_of_stock_here_is_marked(pages: Pages) -> None:
    for card in pages.page("displays", "ALM-1").xpath("//main[@id='products']/article"):
        text = " ".join(card.text_content().split())
        if "out" in card.classes:
            assert "Нет в этом магазине" in text and "В этом магазине:" not in text
        else:
            assert "В этом магазине:" in text
    assert pages.page("displays", "ALM-1").xpath("//article[contains(@class, 'out')]")


def test_a_store_page_puts_later_ranks_after_the_shelf_in_arrival_order() -> None:
    json_out, html_out = io.BytesIO(), io.BytesIO()
    page = StorePage(json_out, html_out)
    arriving = [("a", 2), ("b", 1), ("c", 0), ("d", 2), ("e", 0), ("f", 1)]
    for name, rank in arriving:
        page.add(rank, json.dumps({"sku": name}).encode(), f"<{name}>".encode())
    page.finish()
    page.close()
    assert html_out.getvalue() == b"<c><e><b><f><a><d>"
    assert [p["sku"] for p in json.loads(b"[" + json_out.getvalue() + b"]")] == list("cebfad")
    assert [stock_rank(q) for q in (5, 1, None, 0, -2)] == [0, 0, 1, 2, 2]


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://cdn.example.kz/a.jpg", "https://cdn.example.kz/a.jpg"),
        (" http://127.0.0.1:8000/a.png ", "http://127.0.0.1:8000/a.png"),
        ("javascript:alert(1)", ""),
        ("data:image/png;base64,AAAA", ""),
        ("/img/a.jpg", ""),
        ("ftp://host/a.jpg", ""),
        ("https:///no-host.jpg", ""),
        ("https://cdn.example.kz/a\x1b.jpg", ""),
        ("", ""),
    ],
)
def test_only_web_pictures_reach_the_page(url: str, shown: str) -> None:
    assert picture(url) == shown


def test_the_json_names_each_products_picture(pages: Pages) -> None:
    products = json.loads((pages.out / "displays" / "ALM-1.json").read_text("utf-8"))["products"]
    assert products[0]["image_url"] == "https://cdn.example.kz/img/hp-sonora-x2.jpg"


# --- times on the store's clock -----------------------------------------------------------------


def test_the_display_says_when_it_was_updated_on_the_stores_clock(pages: Pages) -> None:
    # NOW is 10:00 UTC; the channels' default zone is Asia/Almaty (UTC+5 since March 2024).
    footer = pages.text("displays", "ALM-1", "//footer")
    assert footer.endswith("обновлено 22.11.2026 15:00 (UTC+5)")
    body = json.loads((pages.out / "displays" / "ALM-1.json").read_text("utf-8"))
    assert body["generated_at"] == "2026-11-22T15:00+05:00"
    assert body["store"]["timezone"] == "Asia/Almaty"


def test_the_board_shows_each_order_on_the_stores_clock(pages: Pages) -> None:
    rows = pages.page("boards", "ALM-1").xpath("//tr[@data-order]")
    placed = {r.get("data-order"): " ".join(r.xpath("string(td[last()])").split()) for r in rows}
    # K-1 was placed at 07:05 UTC (NOW - 3 h + 5 min): 12:05 in Almaty.
    assert placed == {"K-2": "22.11.2026 12:00", "K-1": "22.11.2026 12:05",
                      "K-3": "22.11.2026 12:10"}  # fmt: skip
    assert pages.text("boards", "ALM-1", "//footer").endswith("обновлено 22.11.2026 15:00 (UTC+5)")
    body = json.loads((pages.out / "boards" / "ALM-1.json").read_text("utf-8"))
    assert (body["generated_at"], body["timezone"]) == ("2026-11-22T15:00+05:00", "Asia/Almaty")


@pytest.mark.parametrize("kind", ["store_display", "pickup_board"])
def test_a_configured_time_zone_is_used(workspace: Workspace, kind: str) -> None:
    workspace.write_products([good_row()])
    (workspace.root / "locations.csv").write_text(
        "code,name,type,city,address,pickup\nMSK-1,Магазин Москва,store,Москва,,yes\n", "utf-8"
    )
    workspace.write_config(
        {"displays": {"type": kind, "timezone": "Europe/Moscow"}}, locations="locations.csv"
    )
    config = load_config(workspace.config_path)
    report = pipeline.build(config, now=NOW)
    assert report.channels[0].published, report.channels[0].refused
    page = html.fromstring((workspace.root / "out" / "displays" / "MSK-1.html").read_bytes())
    assert " ".join(page.xpath("string(//footer)").split()).endswith("22.11.2026 13:00 (UTC+3)")


@pytest.mark.parametrize("zone", ["Mars/Olympus", "asia/almaty", "Asia", "localtime", "", "../x"])
@pytest.mark.parametrize("kind", ["store_display", "pickup_board"])
def test_a_time_zone_that_is_not_one_is_a_config_error(
    workspace: Workspace, kind: str, zone: str
) -> None:
    workspace.write_products([good_row()])
    workspace.write_config({"displays": {"type": kind, "stores": ["A"], "timezone": zone}})
    with pytest.raises(ConfigError, match=r"channels\.displays\.timezone: .*Asia/Almaty"):
        load_config(workspace.config_path)


@pytest.mark.parametrize(
    ("zone", "text"),
    [("Asia/Almaty", "22.11.2026 15:00 (UTC+5)"), ("UTC", "22.11.2026 10:00 (UTC)"),
     ("Asia/Kolkata", "22.11.2026 15:30 (UTC+5:30)"),
     ("America/Sao_Paulo", "22.11.2026 07:00 (UTC-3)"),
     ("Asia/Kathmandu", "22.11.2026 15:45 (UTC+5:45)")],
)  # fmt: skip
def test_a_moment_as_the_store_reads_it(zone: str, text: str) -> None:
    assert local_time(NOW, ZoneInfo(zone)) == text


# --- the pickup board, in a clerk's words -------------------------------------------------------


def board_rows(pages: Pages, store: str) -> dict[str, list[str]]:
    """Order code → its cells' text."""
    rows = pages.page("boards", store).xpath("//tr[@data-order]")
    return {
        r.get("data-order"): [" ".join(td.text_content().split()) for td in r.xpath("td")]
        for r in rows
    }


def test_the_board_names_the_products_to_collect(pages: Pages) -> None:
    rows = board_rows(pages, "ALM-1")
    goods = {code: cells[3] for code, cells in rows.items()}
    assert "Наушники беспроводные Sonora X2, чёрные × 1" in goods["K-1"]
    assert "Наушники TWS Sonora Buds Lite × 3" in goods["K-2"]
    assert "Портативная колонка Sonora Go 10 Вт × 1" in goods["K-3"]
    # A line the catalogue does not know keeps the channel's code, and says so.
    assert "NO-SUCH-SKU × 2" in goods["K-1"] and "нет в каталоге" in goods["K-1"]
    body = json.loads((pages.out / "boards" / "ALM-1.json").read_text("utf-8"))
    titles = {line["channel_sku"]: line["title"] for o in body["orders"] for line in o["lines"]}
    assert titles["HP-SONORA-X2"] == "Наушники беспроводные Sonora X2, чёрные"
    assert titles["NO-SUCH-SKU"] is None


def test_the_board_says_each_status_in_russian(pages: Pages) -> None:
    status = {code: cells[4] for code, cells in board_rows(pages, "ALM-1").items()}
    assert status == {"K-1": "Собирается", "K-2": "Готов к выдаче", "K-3": "Новый"}
    assert board_rows(pages, "AST-1")["K-4"][4] == "Новый"
    text = pages.page("boards", "ALM-1").text_content()
    assert not set(STATUSES) & set(text.split())  # no raw status code on the page


def test_every_order_status_has_a_clerks_word() -> None:
    assert set(STATUS_WORDS) == set(STATUSES)
    assert STATUS_WORDS["delivered"] == "Выдан" and STATUS_WORDS["cancelled"] == "Отменён"
    assert len(set(STATUS_WORDS.values())) == len(STATUSES)


def test_a_clerk_reads_the_board_in_the_browser(pages: Pages, tmp_path: Path) -> None:
    with Browser(tmp_path / "profile", 1280, 700) as browser:
        browser.open((pages.out / "boards" / "ALM-1.html").as_uri())
        rows = browser.eval(
            "Array.from(document.querySelectorAll('#orders tbody tr'))"
            ".filter(r => r.checkVisibility())"
            ".map(r => Array.from(r.cells).map(c => c.innerText.replace(/\\s+/g, ' ').trim()))"
        )
        footer = browser.eval("document.querySelector('footer').innerText")
        shot = browser.call("Page.captureScreenshot", format="png")["data"]
        assert browser.console() == []
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "pickup_board_ALM-1.png").write_bytes(base64.b64decode(shot))
    assert [r[0] for r in rows] == ["K-2", "K-1", "K-3"]  # oldest first: prepare it first
    assert rows[1][3:] == [
        "Наушники беспроводные Sonora X2, чёрные × 1 арт. HP-SONORA-X2 "
        "NO-SUCH-SKU × 2 нет в каталоге",
        "Собирается",
        "22.11.2026 12:05",
    ]
    assert rows[0][4] == "Готов к выдаче" and rows[2][4] == "Новый"
    assert footer == "3 заказа · обновлено 22.11.2026 15:00 (UTC+5)"


def test_a_display_shows_only_its_currency_and_no_control_character(workspace: Workspace) -> None:
    rows = [
        good_row(sku="KZT-1", currency="KZT"),
        good_row(sku="ANY-1", currency=""),  # the channel's currency
        good_row(sku="USD-1", currency="USD"),
        good_row(sku="ESC-1", currency="KZ\x1bT"),
    ]
    workspace.write_products(rows)
    (workspace.root / "locations.csv").write_text(
        "code,name,type,city,address,pickup\n"
        "ALM-1,Магазин\x1b Алматы,store,Алматы\x07,ул. Абая 1\x1b,yes\n",
        "utf-8",
    )
    workspace.write_config({"displays": {"type": "store_display"}}, locations="locations.csv")
    report = pipeline.build(load_config(workspace.config_path), now=NOW)
    (stats,) = report.channels
    assert stats.published, stats.refused
    refused = {(p.sku, p.code) for p in report.problems if p.severity == "error"}
    assert refused == {("USD-1", "currency_mismatch"), ("ESC-1", "currency_mismatch")}
    page = (workspace.root / "out" / "displays" / "ALM-1.html").read_bytes()
    data = (workspace.root / "out" / "displays" / "ALM-1.json").read_bytes()
    assert not any(control in out for out in (page, data) for control in (b"\x1b", b"\x07"))
    body = json.loads(data)
    assert [(p["sku"], p["currency"]) for p in body["products"]] == [
        ("KZT-1", "KZT"), ("ANY-1", "KZT"),
    ]  # fmt: skip
    assert (body["store"]["name"], body["store"]["city"]) == ("Магазин Алматы", "Алматы")
    assert "USD" not in page.decode()
