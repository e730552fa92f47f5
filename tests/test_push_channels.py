"""Satu, Google Merchant API (token and service account), Google local inventory and the Kaspi
upload, each pushed to the sandbox over loopback; deferral when the budget runs out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from conftest import push_setup, sandbox_state
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from omnisync import push
from omnisync.config import load_config
from omnisync.http import Budget
from omnisync.sandbox.server import Sandbox


def satu(url: str) -> dict[str, Any]:
    return {"satu": {"type": "satu", "base_url": url, "token": "env:SATU_TOKEN"}}


def google_api(url: str, **credentials: str) -> dict[str, Any]:
    return {
        "base_url": url,
        "token_url": f"{url}/token",
        "account_id": "123",
        "data_source": "456",
        **(credentials or {"access_token": "env:GOOGLE_TOKEN"}),
    }


def test_satu_pushes_price_presence_and_stock(tmp_path: Path, sandbox: Sandbox) -> None:
    result = push.push(load_config(push_setup(tmp_path, satu(sandbox.url), {"A": 3, "B": 0})))
    assert not result.partial and result.pushes[0].sent == 2
    assert sandbox_state(sandbox)["satu_products"] == {
        "A": {"price": 15990, "presence": "available", "quantity_in_stock": 3},
        "B": {"price": 15990, "presence": "not_available", "quantity_in_stock": 0},
    }


def test_satu_per_item_errors_in_a_200_answer_fail_those_items(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    httpx.post(f"{sandbox.url}/_sandbox/faults", json={"reject": {"B": "product is deleted"}})
    result = push.push(load_config(push_setup(tmp_path, satu(sandbox.url), {"A": 3, "B": 1})))
    assert result.partial and (result.pushes[0].sent, result.pushes[0].failed) == (1, 1)
    (problem,) = [p for p in result.run.problems if p.code == "push_rejected"]
    assert (problem.sku, problem.message) == ("B", "product is deleted")


def test_google_inserts_and_deletes_product_inputs(tmp_path: Path, sandbox: Sandbox) -> None:
    channels = {"google": {"type": "google_merchant", "currency": "KZT",
                           "api": google_api(sandbox.url)}}  # fmt: skip
    path = push_setup(tmp_path, channels, {"A": 3, "B": 1})
    assert not push.push(load_config(path)).partial
    products = sandbox_state(sandbox)["google_products"]
    assert set(products) == {"ru~KZ~A", "ru~KZ~B"}
    attributes = products["ru~KZ~A"]["productAttributes"]
    assert attributes["price"] == {"amountMicros": "15990000000", "currencyCode": "KZT"}
    assert (attributes["availability"], attributes["condition"]) == ("IN_STOCK", "NEW")
    push_setup(tmp_path, channels, {"A": 3})
    result = push.push(load_config(path), force=True)
    assert result.pushes[0].planned["delete"] == 1 and not result.partial
    assert set(sandbox_state(sandbox)["google_products"]) == {"ru~KZ~A"}


def test_google_with_a_service_account_key_file(tmp_path: Path, sandbox: Sandbox) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    (tmp_path / "key.json").write_text(json.dumps({
        "type": "service_account", "client_email": "feed@example.iam.gserviceaccount.com",
        "private_key": pem, "private_key_id": "k1", "token_uri": "https://example.invalid",
    }))  # fmt: skip
    api = google_api(sandbox.url, service_account_file="key.json")
    channels = {"google": {"type": "google_merchant", "currency": "KZT", "api": api}}
    result = push.push(load_config(push_setup(tmp_path, channels, {"A": 1})))
    assert not result.partial
    assert sandbox_state(sandbox)["google_tokens"] == {"issued": 1}
    assert set(sandbox_state(sandbox)["google_products"]) == {"ru~KZ~A"}


def test_local_inventory_pushes_per_mapped_store(tmp_path: Path, sandbox: Sandbox) -> None:
    channels = {
        "local": {
            "type": "google_local_inventory",
            "currency": "KZT",
            "stores": {"ALM-1": "almaty-1"},
            "api": google_api(sandbox.url),
        }
    }
    result = push.push(load_config(push_setup(tmp_path, channels, {"A": 4})))
    assert not result.partial
    (entry,) = sandbox_state(sandbox)["google_local"].values()
    assert entry["storeCode"] == "almaty-1"
    assert entry["localInventoryAttributes"]["quantity"] == "4"


def test_kaspi_publish_is_the_push_and_the_upload_follows(tmp_path: Path, sandbox: Sandbox) -> None:
    channels = {
        "kaspi": {
            "type": "kaspi",
            "company": "X",
            "merchant_id": "1",
            "stores": {"ALM-1": "PP1"},
            "upload": {"url": f"{sandbox.url}/kaspi/pricelist"},
        }
    }
    result = push.push(load_config(push_setup(tmp_path, channels, {"A": 1, "B": 2})))
    assert not result.partial and result.run.channels[0].published
    assert sandbox_state(sandbox)["kaspi"]["pricelist"]["offers"] == 2
    assert (tmp_path / "out" / "kaspi.xml").exists()


def test_a_wait_past_the_budget_defers_and_the_next_run_sends(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    path = push_setup(tmp_path, satu(sandbox.url), {"A": 1})
    httpx.post(f"{sandbox.url}/_sandbox/faults", json={"throttle": 1})
    result = push.push(load_config(path), budget=Budget(seconds=0.5))
    assert result.partial and result.pushes[0].deferred == 1
    assert any(p.code == "push_deferred" for p in result.run.problems)
    again = push.push(load_config(path))
    assert not again.partial and again.pushes[0].sent == 1
