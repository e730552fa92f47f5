"""The store display page in a real headless Chromium: it loads offline with no console
messages and shows the expected products. A screenshot is kept in test-artifacts/."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
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


def test_page_references_no_external_resource(displays: Path) -> None:
    tree = html.fromstring((displays / "ALM-1.html").read_bytes())
    external = tree.xpath("//@src | //link/@href | //img | //iframe")
    assert external == []


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
    assert browser.console() == []


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
