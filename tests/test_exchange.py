"""``omnisync exchange serve``: a 1C-style client pulls the stored orders over 1C's exchange
protocol (type=sale: checkauth, init, query, success) from a real server on loopback. The
catalogue is the demo's 1C export, so order lines must carry 1C's own Ид."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from conftest import DEMO_CONFIG
from lxml import etree

from omnisync.commerceml import exchange
from omnisync.commerceml.exchange import server
from omnisync.config import Config, load_config
from omnisync.orders import pull
from omnisync.sandbox.server import Sandbox
from omnisync.store import open_store
from omnisync.xmlinput import HARDENED

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
SINCE = NOW - timedelta(days=40)
PASSWORD = "exchange-pass-7c1"


def setup(root: Path, sandbox: Sandbox, encoding: str = "utf-8") -> Config:
    """The demo's channels against the sandbox, its catalogue read from the 1C export."""
    shutil.copytree(DEMO_CONFIG.parent / "demo", root / "demo")
    data: dict[str, Any] = yaml.safe_load(
        DEMO_CONFIG.read_text(encoding="utf-8").replace("http://127.0.0.1:8765", sandbox.url)
    )
    one_c = yaml.safe_load((DEMO_CONFIG.parent / "demo-1c.yaml").read_text(encoding="utf-8"))
    exchange = {"user": "1c", "password": "env:EXCHANGE_PASSWORD", "encoding": encoding}
    data.update(catalog=one_c["catalog"], output_dir="out", state="state.db")
    data["exports"] = {"exchange": exchange}
    for channel in ("kaspi", "satu", "ozon"):
        data["channels"][channel]["requests_per_minute"] = 6000
    path = root / "omnisync.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return load_config(path)


@pytest.fixture
def config(tmp_path: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[Config]:
    monkeypatch.setenv("EXCHANGE_PASSWORD", PASSWORD)
    config = setup(tmp_path, sandbox)
    pull.pull(config, ["satu"], since=SINCE, now=NOW)
    yield config


class OneC:
    """What 1C does against a web shop's exchange address, step by step."""

    def __init__(self, config: Config) -> None:
        self.httpd = server(config, "127.0.0.1", 0)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{self.httpd.server_port}/")
        self.cookie = ""

    def close(self) -> None:
        self.http.close()
        self.httpd.shutdown()
        self.httpd.server_close()

    def get(self, mode: str, **options: Any) -> httpx.Response:
        headers = {"Cookie": self.cookie} if self.cookie else {}
        return self.http.get("", params={"type": "sale", "mode": mode}, headers=headers, **options)

    def login(self, password: str = PASSWORD) -> httpx.Response:
        answer = self.get("checkauth", auth=("1c", password))
        lines = answer.text.splitlines()
        if lines[0] == "success":
            self.cookie = f"{lines[1]}={lines[2]}"
        return answer

    def documents(self) -> list[Any]:
        answer = self.get("query")
        assert answer.status_code == 200
        root = etree.fromstring(answer.content, etree.XMLParser(**HARDENED))
        return root.findall("Документ")


@pytest.fixture
def one_c(config: Config) -> Iterator[OneC]:
    client = OneC(config)
    yield client
    client.close()


def unsent(config: Config) -> int:
    store = open_store(config.state)
    try:
        query = "SELECT count(*) FROM outbox WHERE kind = 'exchange' AND sent_at IS NULL"
        return int(store.db.execute(query).fetchone()[0])
    finally:
        store.close()


def test_1c_receives_the_stored_orders_once_and_they_are_marked_after_success(
    config: Config, one_c: OneC
) -> None:
    assert unsent(config) > 0  # the pull's relay leaves them for 1C to fetch
    assert one_c.login().text.startswith("success\n")
    assert one_c.get("init").text == "zip=no\nfile_limit=8388608\n"
    documents = one_c.documents()
    assert len(documents) == 6 == len({d.findtext("Ид") for d in documents})
    assert unsent(config) > 0  # handed out, not yet confirmed
    assert one_c.get("success").text == "success\n"
    assert unsent(config) == 0
    assert one_c.documents() == []  # once: nothing again after success


def test_order_lines_carry_1c_ids_and_the_buyer(config: Config, one_c: OneC) -> None:
    """A line's Ид is the offer's Ид in offers.xml (good#characteristic for a variant); a line
    whose SKU the catalogue lacks keeps what the channel called it."""
    offers = etree.parse(str(DEMO_CONFIG.parent / "demo" / "1c" / "offers.xml"))
    by_article = {o.findtext("Артикул"): o.findtext("Ид") for o in offers.iter("Предложение")}
    one_c.login()
    documents = one_c.documents()
    lines = [(i.findtext("Артикул"), i.findtext("Ид")) for d in documents for i in d.iter("Товар")]
    known = [(sku, id_) for sku, id_ in lines if sku in by_article]
    assert known and all(id_ == by_article[sku] for sku, id_ in known)
    assert any("#" in id_ for _, id_ in known)  # a characteristic
    assert [id_ for sku, id_ in lines if sku not in by_article] == ["UNKNOWN-SKU-1"]
    buyer = documents[0].find("Контрагенты/Контрагент")
    assert buyer is not None and buyer.findtext("Роль") == "Покупатель"


def test_a_query_without_success_is_sent_again(config: Config, one_c: OneC) -> None:
    one_c.login()
    first = [d.findtext("Ид") for d in one_c.documents()]
    assert [d.findtext("Ид") for d in one_c.documents()] == first  # 1C updates by Ид
    one_c.get("success")
    assert unsent(config) == 0


def test_success_marks_only_what_the_query_handed_out(config: Config, one_c: OneC) -> None:
    one_c.login()
    handed = len(one_c.documents())
    store = open_store(config.state)
    try:
        with store.transaction() as db:  # an order version stored between query and success
            db.execute(
                "INSERT INTO outbox (kind, channel, account, external_id, key, payload, "
                "created_at) SELECT 'exchange', channel, account, external_id, key || ':late', "
                "payload, created_at FROM outbox WHERE kind = 'exchange' LIMIT 1"
            )
    finally:
        store.close()
    one_c.get("success")
    assert unsent(config) == 1
    assert handed == 6 and len(one_c.documents()) == 1


def test_a_wrong_password_or_no_session_gets_failure(config: Config, one_c: OneC) -> None:
    refused = one_c.login("guess")
    assert refused.status_code == 401 and refused.text.startswith("failure\n")
    assert one_c.get("query").text.startswith("failure\nnot authorized")
    one_c.cookie = "omnisync_exchange=forged"
    assert one_c.get("success").status_code == 401
    assert unsent(config) > 0
    assert PASSWORD not in refused.text


def test_orders_in_windows_1251_for_older_1c(
    tmp_path: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXCHANGE_PASSWORD", PASSWORD)
    config = setup(tmp_path, sandbox, "windows-1251")
    pull.pull(config, ["satu"], since=SINCE, now=NOW)
    client = OneC(config)
    try:
        client.login()
        answer = client.get("query")
    finally:
        client.close()
    assert answer.headers["content-type"] == "application/xml; charset=windows-1251"
    assert answer.content.startswith(b"<?xml version='1.0' encoding='windows-1251'?>")
    assert "Покупатель" in answer.content.decode("cp1251")


def test_a_control_character_in_a_buyer_name_does_not_stop_the_orders(
    config: Config, one_c: OneC
) -> None:
    store = open_store(config.state)
    try:
        with store.transaction() as db:
            db.execute("UPDATE orders SET customer = ?", (json.dumps({"name": "Асель\x0b Б."}),))
    finally:
        store.close()
    one_c.login()
    documents = one_c.documents()
    assert len(documents) == 6
    assert documents[0].findtext("Контрагенты/Контрагент/Наименование") == "Асель Б."


def test_a_catalogue_that_cannot_be_read_answers_failure_and_marks_nothing(
    config: Config, one_c: OneC
) -> None:
    """1C mid-upload: its offers.xml is gone. The query fails plainly; success after it does
    not mark orders 1C never received."""
    offers = Path(str(config.catalog.offers))  # type: ignore[union-attr]
    saved = offers.read_bytes()
    offers.unlink()
    one_c.login()
    failed = one_c.get("query")
    assert failed.status_code == 500 and failed.text.startswith("failure\n")
    one_c.get("success")
    assert unsent(config) > 0
    offers.write_bytes(saved)
    assert len(one_c.documents()) == 6


def test_a_long_outage_is_sent_over_several_exchanges(
    config: Config, one_c: OneC, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(exchange, "MAX_ORDERS", 4)
    one_c.login()
    first = {d.findtext("Ид") for d in one_c.documents()}
    one_c.get("success")
    second = {d.findtext("Ид") for d in one_c.documents()}
    one_c.get("success")
    assert (len(first), len(second), first & second) == (4, 2, set())
    assert unsent(config) == 0


def test_the_first_sigterm_stops_the_server(config: Config) -> None:
    """As systemd stops a service: one SIGTERM, and the server exits 0 (not a second signal,
    not a kill after a timeout)."""
    command = [sys.executable, "-m", "omnisync", "exchange", "serve", "--config",
               str(config.path), "--port", "0"]  # fmt: skip
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as run:
        try:
            assert run.stdout is not None
            assert "omnisync exchange for 1C on http://127.0.0.1:" in run.stdout.readline()
            run.send_signal(signal.SIGTERM)
            assert run.wait(timeout=20) == 0
        finally:
            run.kill()


def test_serve_with_its_password_unset_exits_2_naming_the_variable(
    config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The password is an env: secret read when used: the server must read it before it
    listens, or it would start and then refuse every request 1C makes."""
    env = {k: v for k, v in os.environ.items() if k != "EXCHANGE_PASSWORD"}
    command = [sys.executable, "-m", "omnisync", "exchange", "serve", "--config",
               str(config.path), "--port", "0"]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "EXCHANGE_PASSWORD" in done.stderr and "omnisync exchange for 1C" not in done.stdout
