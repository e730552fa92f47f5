"""Orders into the central system: NDJSON and CommerceML files, and the webhook relay that
resends with the same Idempotency-Key after a failure."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from conftest import DEMO_CONFIG

from omnisync import pipeline
from omnisync.config import load_config
from omnisync.http import Budget
from omnisync.orders import exports, pull
from omnisync.report import RunReport
from omnisync.sandbox.server import Sandbox
from omnisync.store import open_store
from omnisync.xmlinput import HARDENED

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
SINCE = NOW - timedelta(days=40)


def setup(root: Path, sandbox: Sandbox) -> Path:
    shutil.copytree(DEMO_CONFIG.parent / "demo", root / "demo")
    text = DEMO_CONFIG.read_text(encoding="utf-8").replace("http://127.0.0.1:8765", sandbox.url)
    data: dict[str, Any] = yaml.safe_load(text)
    data.update(output_dir="out", state="state.db", exports={
        "ndjson": "out/orders.ndjson", "commerceml": "out/orders.xml",
        "webhook": {"url": f"{sandbox.url}/webhook/orders"}})  # fmt: skip
    for channel in ("kaspi", "satu", "ozon"):
        data["channels"][channel]["requests_per_minute"] = 6000
    path = root / "omnisync.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    pipeline.import_catalog(load_config(path))
    return path


def test_files_hold_every_order_and_the_commerceml_totals_add_up(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    pull.pull(load_config(setup(tmp_path, sandbox)), since=SINCE, now=NOW)
    lines = (tmp_path / "out" / "orders.ndjson").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 26 and len({json.loads(line)["external_id"] for line in lines}) == 26
    from lxml import etree

    root = etree.fromstring(
        (tmp_path / "out" / "orders.xml").read_bytes(), etree.XMLParser(**HARDENED)
    )
    documents = root.findall("Документ")
    assert root.tag == "КоммерческаяИнформация" and len(documents) == 26
    for doc in documents:
        lines_total = sum(Decimal(t.findtext("Сумма")) for t in doc.iter("Товар"))
        assert Decimal(doc.findtext("Сумма")) == lines_total
        for item in doc.iter("Товар"):
            price, qty = Decimal(item.findtext("ЦенаЗаЕдиницу")), int(item.findtext("Количество"))
            assert Decimal(item.findtext("Сумма")) == price * qty


def test_the_webhook_gets_each_order_version_once_with_its_key(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    path = setup(tmp_path, sandbox)
    first = pull.pull(load_config(path), since=SINCE, now=NOW)
    # Every order, plus the "accepted" version of each order omnisync acknowledged.
    versions = 26 + sum(p.acknowledged for p in first.pulls)
    deliveries = httpx.get(f"{sandbox.url}/_sandbox/state").json()["webhook"]
    assert len(deliveries) == versions and len({d["key"] for d in deliveries}) == versions
    assert {d["order"]["status"] for d in deliveries if d["key"].endswith(":accepted")}
    pull.pull(load_config(path), since=SINCE, now=NOW)  # nothing new: nothing resent
    assert len(httpx.get(f"{sandbox.url}/_sandbox/state").json()["webhook"]) == versions


def test_after_a_failure_the_relay_resends_with_the_same_key(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    path = setup(tmp_path, sandbox)
    broken = load_config(path)
    hook = broken.exports.webhook.model_copy(update={"url": f"{sandbox.url}/nowhere"})  # type: ignore[union-attr]
    broken = broken.model_copy(update={"exports": broken.exports.model_copy(
        update={"webhook": hook})})  # fmt: skip
    failed = pull.pull(broken, ["satu"], since=SINCE, now=NOW)
    versions = 6 + failed.pulls[0].acknowledged
    assert [p.code for p in failed.run.problems if p.code == "export_failed"] == ["export_failed"]
    assert failed.exit_code == 3  # a delivery failed: a channel failure, sent again next run
    assert "webhook" not in httpx.get(f"{sandbox.url}/_sandbox/state").json()

    httpx.post(f"{sandbox.url}/_sandbox/faults", json={"lose": 1})  # applied, answer lost
    store = open_store(tmp_path / "state.db")
    try:
        sent = exports.relay(load_config(path), store, Budget(), RunReport())
    finally:
        store.close()
    deliveries = httpx.get(f"{sandbox.url}/_sandbox/state").json()["webhook"]
    assert deliveries[0]["key"] == deliveries[1]["key"]  # the retry carries the same key
    assert len({d["key"] for d in deliveries}) == versions == sent["webhook"]


def test_commerceml_dates_are_on_the_shops_clock() -> None:
    """1C shows Дата and Время as written: an order placed at 01:30 in Almaty (20:30 UTC the
    day before) is dated the day it was placed, with exports.timezone set."""
    order = {
        "channel": "kaspi", "account": "main", "external_id": "1", "code": "1", "status": "new",
        "created_at": "2026-05-20T20:30:00+00:00", "customer": {"name": "Асель"},
        "lines": [{"sku": "A", "channel_sku": "A", "unit_price": "100", "quantity": 1}],
    }  # fmt: skip
    from lxml import etree

    for zone, day, time in (
        ("UTC", "2026-05-20", "20:30:00"),
        ("Asia/Almaty", "2026-05-21", "01:30:00"),
    ):
        document = etree.fromstring(exports.commerceml([order], "KZT", timezone=zone)).find(
            "Документ"
        )
        assert (document.findtext("Дата"), document.findtext("Время")) == (day, time)


def test_an_unknown_time_zone_is_a_config_error() -> None:
    from omnisync.config import ExportsConfig

    with pytest.raises(ValueError, match="Asia/Almaty"):
        ExportsConfig(timezone="Almaty")
