"""The store display page in a real headless Chromium: it loads offline with no console
messages and shows the expected products. A screenshot is kept in test-artifacts/."""

from __future__ import annotations

import csv
import json
import re
import shutil
import struct
import subprocess
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from browser import Browser
from conftest import DEMO_CONFIG, ROOT
from lxml import html

from omnisync import pipeline
from omnisync.config import load_config

ARTIFACTS = ROOT / "test-artifacts"
FLAGS = [  # a closed network: no background traffic, no first-run, a throwaway profile
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",  # the demo's CDN: never asked
    "--enable-logging=stderr", "--v=0",
]  # fmt: skip
CONSOLE = re.compile(r":CONSOLE(?::\d+|\(\d+\))\] (.*)")


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.fail("Chromium is missing: run scripts/install-test-deps.sh (make test does)")
    return found


def run_chromium(page: Path, profile: Path, *args: str) -> tuple[str, list[str]]:
    """(stdout, console messages) of a headless Chromium run on ``page``."""
    command = [chromium(), *FLAGS, f"--user-data-dir={profile}", *args, page.as_uri()]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    return done.stdout, CONSOLE.findall(done.stderr)


@pytest.fixture(scope="module")
def displays(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("feeds")
    config = load_config(DEMO_CONFIG).model_copy(update={"output_dir": out, "state": out / "s.db"})
    report = pipeline.build(config, ["displays"], now=datetime(2026, 11, 22, 10, 0, tzinfo=UTC))
    assert report.channels[0].published
    return out / "displays"


def test_page_loads_without_console_messages_and_lists_the_products(
    displays: Path, tmp_path: Path
) -> None:
    page = displays / "ALM-1.html"
    dom, console = run_chromium(page, tmp_path / "profile", "--dump-dom")
    assert console == []
    cards = html.fromstring(dom).xpath("//main[@id='products']/article")
    expected = json.loads((displays / "ALM-1.json").read_text(encoding="utf-8"))["products"]
    assert [c.get("data-sku") for c in cards] == [p["sku"] for p in expected]
    first = cards[0].text_content()
    assert "34\u00a0990 ₸" in first and "В этом магазине: 7 шт." in first
    assert "Магазин Астана (Астана)" in first and "в интернет-магазине" in first


def test_page_references_nothing_external_but_the_product_pictures(displays: Path) -> None:
    """No scripts, styles, fonts or frames from elsewhere: the page works offline on a kiosk.
    The pictures are the catalogue's own (image_url), each in its product's card."""
    tree = html.fromstring((displays / "ALM-1.html").read_bytes())
    assert tree.xpath("//script/@src | //link/@href | //iframe | //object | //embed") == []
    products = json.loads((displays / "ALM-1.json").read_text(encoding="utf-8"))["products"]
    pictures = {p["sku"]: p["image_url"] for p in products}
    assert all(url.startswith("https://cdn.example.kz/") for url in pictures.values())
    sources = tree.xpath("//@src")
    assert len(sources) == len(tree.xpath("//main/article//img/@src")) == len(products)
    for card in tree.xpath("//main/article"):
        assert card.xpath(".//img/@src") == [pictures[card.get("data-sku")]]


def test_screenshot_is_kept_as_an_artifact(displays: Path, tmp_path: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "store_display_ALM-1.png"
    shot.unlink(missing_ok=True)
    _, console = run_chromium(
        displays / "ALM-1.html",
        tmp_path / "profile",
        f"--screenshot={shot}",
        "--window-size=1280,1400",
    )
    assert console == []
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_console_errors_would_be_caught(tmp_path: Path) -> None:
    """The check above can fail: a page that logs and throws is seen."""
    page = tmp_path / "bad.html"
    page.write_text('<!DOCTYPE html><script>console.error("boom"); missing();</script>')
    _, console = run_chromium(page, tmp_path / "profile", "--dump-dom")
    assert any("boom" in line for line in console)
    assert any("missing is not defined" in line for line in console)


# --- as a shopper uses it: typing into the search box (tests/browser.py drives Chromium) -------

VISIBLE_SKUS = (
    "Array.from(document.querySelectorAll('#products article'))"
    ".filter(a => a.checkVisibility()).map(a => a.dataset.sku)"
)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    with Browser(tmp_path_factory.mktemp("profile")) as opened:
        yield opened


def page_errors(browser: Browser) -> list[str]:
    """What the page itself logged or threw. Pictures that cannot load (the demo's are on a
    CDN no test may reach) are the network's messages, not the page's."""
    return [m for m in browser.console() if not m.startswith("network: ")]


def _matching(products: list[dict[str, Any]], term: str) -> list[str]:
    """The SKUs a search for ``term`` should leave: its words in the title, brand or SKU."""
    return [
        p["sku"]
        for p in products
        if term.lower() in f"{p['title']} {p['brand']} {p['sku']}".lower()
    ]


@pytest.mark.parametrize("term", ["sonora", "Наушники", "kettle", "нет такого товара"])
def test_typing_in_the_search_box_shows_only_the_matching_products(
    displays: Path, browser: Browser, term: str
) -> None:
    products = json.loads((displays / "ALM-1.json").read_text(encoding="utf-8"))["products"]
    browser.open((displays / "ALM-1.html").as_uri())
    everything = browser.eval(VISIBLE_SKUS)
    assert everything == [p["sku"] for p in products]
    browser.click("#q")
    browser.type(term)
    expected = _matching(products, term)
    assert browser.eval(VISIBLE_SKUS) == expected
    assert len(expected) < len(products)  # the term leaves something out
    browser.clear()
    assert browser.eval(VISIBLE_SKUS) == everything
    assert page_errors(browser) == []


def test_the_page_counts_its_products_in_words(displays: Path, browser: Browser) -> None:
    browser.open((displays / "ALM-1.html").as_uri())
    cards = browser.eval("document.querySelectorAll('#products article').length")
    footer = browser.eval("document.querySelector('footer').innerText")
    assert cards == 63 and footer.startswith("63 товара ·")


def test_the_shopper_sees_what_is_here_first(displays: Path, browser: Browser) -> None:
    browser.open((displays / "ALM-1.html").as_uri())
    # Cards as a person reads the grid: row by row, left to right.
    seen = browser.eval(
        "Array.from(document.querySelectorAll('#products article')).map(a => {"
        " const r = a.getBoundingClientRect();"
        " return [Math.round(r.top + scrollY), Math.round(r.left), a.innerText]; })"
    )
    texts = [text for _, _, text in sorted(seen)]
    here = ["В этом магазине:" in t for t in texts]
    absent = ["Нет в этом магазине" in t for t in texts]
    assert any(here) and any(absent)
    assert here == sorted(here, reverse=True)  # every in-stock card before every other
    assert all(h != a for h, a in zip(here, absent, strict=True))  # each card says which


# --- product pictures, served on loopback from a temp folder ------------------------------------


def png(width: int, height: int) -> bytes:
    """A small solid PNG (no imaging library needed)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    rows = b"".join(b"\0" + b"\x2a\x6f\xdb" * width for _ in range(height))
    return b"".join(
        (b"\x89PNG\r\n\x1a\n", chunk(b"IHDR", header), chunk(b"IDAT", zlib.compress(rows)),
         chunk(b"IEND", b""))
    )  # fmt: skip


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return


@dataclass
class Pictured:
    page: Path
    products: list[dict[str, Any]]  # the JSON's products
    titles: dict[str, str]  # SKU → title, from the catalogue
    broken: str  # the SKU whose picture is missing on the server
    unsafe: str  # the SKU whose picture is not an http(s) URL


@pytest.fixture(scope="module")
def pictured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pictured]:
    """The demo with every picture on a loopback server: one missing there (404), one
    not a web address at all."""
    folder = tmp_path_factory.mktemp("pictured")
    (folder / "img").mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(folder / "img")))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        shutil.copytree(DEMO_CONFIG.parent / "demo", folder / "demo")
        products = folder / "demo" / "products.csv"
        with products.open(encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
        broken, unsafe = rows[0]["sku"], rows[1]["sku"]
        for n, row in enumerate(rows):
            name = f"{n}.png"
            row["image_url"] = f"http://127.0.0.1:{server.server_port}/{name}"
            if row["sku"] == unsafe:
                row["image_url"] = "javascript:alert(1)"
            elif row["sku"] != broken:
                (folder / "img" / name).write_bytes(png(40 + n % 7, 30))
        with products.open("w", encoding="utf-8", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        shutil.copy(DEMO_CONFIG, folder / "omnisync.yaml")
        config = load_config(folder / "omnisync.yaml").model_copy(
            update={"output_dir": folder / "out", "state": folder / "s.db"}
        )
        assert pipeline.build(config, ["displays"]).channels[0].published
        page = folder / "out" / "displays" / "ALM-1.html"
        shown = json.loads(page.with_suffix(".json").read_text(encoding="utf-8"))["products"]
        titles: dict[str, str] = {}
        for row in rows:  # the demo repeats a SKU on purpose: the first row is the product
            titles.setdefault(row["sku"], row["title"])
        yield Pictured(page, shown, titles, broken, unsafe)
    finally:
        server.shutdown()
        server.server_close()


PICTURES = """(async () => {
  const found = {};
  for (const card of document.querySelectorAll('#products article')) {
    card.scrollIntoView();
    const img = card.querySelector('img');
    if (img && !img.complete) {
      await new Promise(done => {  // listeners: the page's own onerror must still run
        img.addEventListener('load', done); img.addEventListener('error', done);
        setTimeout(done, 5000);
      });
    }
    await new Promise(requestAnimationFrame);
    const now = card.querySelector('img');  // a picture that failed may be gone
    found[card.dataset.sku] = now && {
      src: now.getAttribute('src'), alt: now.alt, loading: now.loading,
      width: now.naturalWidth, shown: now.checkVisibility(),
      box: [now.getBoundingClientRect().width, now.getBoundingClientRect().height],
    };
  }
  return found;
})()"""


def test_each_product_shows_its_picture(pictured: Pictured, browser: Browser) -> None:
    browser.open(pictured.page.as_uri())
    found = browser.eval(PICTURES)
    assert list(found) == [p["sku"] for p in pictured.products]
    for sku, img in found.items():
        if sku in (pictured.broken, pictured.unsafe):
            continue
        assert img["alt"] == pictured.titles[sku].strip(), sku
        assert img["loading"] == "lazy" and img["shown"], sku
        assert img["width"] > 0, f"{sku}: {img['src']} did not load"
        assert 0 < img["box"][0] <= 400 and 0 < img["box"][1] <= 240, sku


def test_a_missing_picture_shows_no_broken_image(pictured: Pictured, browser: Browser) -> None:
    browser.open(pictured.page.as_uri())
    found = browser.eval(PICTURES)
    assert found[pictured.broken] is None or not found[pictured.broken]["shown"]
    assert found[pictured.unsafe] is None  # never put in the page
    assert page_errors(browser) == []


def test_the_page_tells_the_time_on_the_stores_clock(displays: Path, browser: Browser) -> None:
    browser.open((displays / "ALM-1.html").as_uri())
    footer = browser.eval("document.querySelector('footer').innerText")
    # built at 10:00 UTC; the demo's stores are in Kazakhstan (Asia/Almaty, UTC+5)
    assert footer.endswith("обновлено 22.11.2026 15:00 (UTC+5)")
