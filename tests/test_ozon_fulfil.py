"""Ozon fulfilment through the real CLI against the sandbox over loopback (issue 16).

FBS postings (Ozon delivers them) take no tracking number; rFBS ones (the seller's delivery)
do. A ship is recorded as soon as Ozon took it, so a tracking number that fails afterwards is
reported without shipping again on the retry.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from conftest import run_cli

from omnisync.sandbox.server import Sandbox

SINCE = ("--since", "2026-10-15")
FBS, RFBS = "48201357-0003-1", "48201357-0001-1"  # the sandbox's seeded postings


def posting(sandbox: Sandbox, number: str) -> dict[str, Any]:
    state = httpx.get(f"{sandbox.url}/_sandbox/state").json()
    return state["orders_ozon"][number]["posting"]  # type: ignore[no-any-return]


def stored(config: Path, number: str) -> dict[str, Any]:
    listed = run_cli("orders", "list", "-c", config, "--channel", "ozon", "-f", "json")
    return next(o for o in json.loads(listed.stdout) if o["external_id"] == number)


def pulled(config: Path) -> Path:
    run_cli("orders", "pull", "-c", config, "--channel", "ozon", *SINCE)
    return config


def test_an_fbs_posting_ships_without_the_rfbs_tracking_call(
    sandbox_demo: Path, sandbox: Sandbox
) -> None:
    config = pulled(sandbox_demo)
    assert stored(config, FBS)["delivery_mode"] == "fbs"
    done = run_cli("orders", "ship", FBS, "-c", config, "--tracking", "TRK-9")
    assert done.returncode == 0, done.stderr
    assert posting(sandbox, FBS)["status"] == "awaiting_deliver"
    assert posting(sandbox, FBS)["tracking_number"] == ""  # Ozon tracks what it delivers
    assert stored(config, FBS)["status"] == "shipped"
    again = run_cli("orders", "ship", FBS, "-c", config, "--tracking", "TRK-9")
    assert again.returncode == 0 and "nothing sent" in again.stdout


def test_an_rfbs_posting_gets_its_tracking_number(sandbox_demo: Path, sandbox: Sandbox) -> None:
    config = pulled(sandbox_demo)
    assert stored(config, RFBS)["delivery_mode"] == "rfbs"
    done = run_cli("orders", "ship", RFBS, "-c", config, "--tracking", "TRK-1")
    assert done.returncode == 0, done.stderr
    assert (posting(sandbox, RFBS)["status"], posting(sandbox, RFBS)["tracking_number"]) == (
        "awaiting_deliver",
        "TRK-1",
    )


def test_a_tracking_number_that_fails_after_the_ship_keeps_the_ship_recorded(
    sandbox_demo: Path, sandbox: Sandbox
) -> None:
    config = pulled(sandbox_demo)
    httpx.post(f"{sandbox.url}/_sandbox/faults", json={"poison": ["TRK-BAD"]})  # a 400 for it
    failed = run_cli("orders", "ship", RFBS, "-c", config, "--tracking", "TRK-BAD")
    assert failed.returncode == 3
    assert "shipped (recorded)" in failed.stderr and "TRK-BAD" in failed.stderr
    assert posting(sandbox, RFBS)["status"] == "awaiting_deliver"
    assert stored(config, RFBS)["status"] == "shipped"  # a retry does not ship again
    retried = run_cli("orders", "ship", RFBS, "-c", config, "--tracking", "TRK-2")
    assert retried.returncode == 0, retried.stderr
    assert posting(sandbox, RFBS)["tracking_number"] == "TRK-2"


def test_the_sandbox_refuses_a_tracking_number_for_an_fbs_posting(sandbox: Sandbox) -> None:
    headers = {"Client-Id": "1", "Api-Key": "k"}

    def track(number: str) -> httpx.Response:
        entry = {"posting_number": number, "tracking_number": "T-1"}
        return httpx.post(f"{sandbox.url}/v2/fbs/posting/tracking-number/set",
                          json={"tracking_numbers": [entry]}, headers=headers)  # fmt: skip

    assert track(FBS).status_code == 400
    answer = track(RFBS)
    assert answer.status_code == 200 and answer.json()["result"][0]["result"] is True


def test_cancel_reasons_go_to_ozon_as_its_cancel_reason_ids(
    sandbox_demo: Path, sandbox: Sandbox
) -> None:
    """out_of_stock is Ozon's 352; Ozon has no seller reason for a buyer who asked or cannot be
    reached, so those go as 402 "other" with the reason in words (required with 402)."""
    config = pulled(sandbox_demo)
    done = run_cli("orders", "cancel", FBS, "-c", config, "--reason", "out_of_stock")
    assert done.returncode == 0, done.stderr
    assert posting(sandbox, FBS)["cancellation"]["cancel_reason_id"] == 352
    other = "48201357-0004-1"
    done = run_cli("orders", "cancel", other, "-c", config, "--reason", "buyer")
    assert done.returncode == 0, done.stderr
    cancellation = posting(sandbox, other)["cancellation"]
    assert (cancellation["cancel_reason_id"], cancellation["cancel_reason"]) == (
        402,
        "the buyer asked to cancel the order",
    )
    assert stored(config, other)["status"] == "cancelled"


def test_a_reason_outside_the_list_exits_2_naming_the_valid_ones(sandbox_demo: Path) -> None:
    config = pulled(sandbox_demo)
    done = run_cli("orders", "cancel", FBS, "-c", config, "--reason", "changed_mind")
    assert done.returncode == 2 and "buyer, unreachable, out_of_stock" in done.stderr


def test_the_sandbox_cancels_only_with_a_sellers_reason_and_402_with_words(
    sandbox: Sandbox,
) -> None:
    headers = {"Client-Id": "1", "Api-Key": "k"}

    def cancel(reason: int, message: str = "") -> int:
        body = {"posting_number": FBS, "cancel_reason_id": reason, "cancel_reason_message": message}
        return httpx.post(f"{sandbox.url}/v2/posting/fbs/cancel", json=body,
                          headers=headers).status_code  # fmt: skip

    assert (cancel(665), cancel(402)) == (400, 400)  # the buyer's reason; 402 without words
    assert cancel(402, "no courier today") == 200
