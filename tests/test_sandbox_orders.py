"""The sandbox's seeded marketplace orders over loopback: Kaspi (JSON:API pages, 14-day windows,
status changes), Ozon (cursor pages) and Satu (last_id pages, set_status); reset reseeds."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from omnisync.sandbox.orders_seed import BASE, UNKNOWN_SKU, ms
from omnisync.sandbox.server import Sandbox

KASPI = {"X-Auth-Token": "sandbox-kaspi-token"}
OZON = {"Client-Id": "12345", "Api-Key": "sandbox-ozon-key"}
SATU = {"Authorization": "Bearer sandbox-satu-token"}
DAY_MS = 24 * 3600 * 1000
STATES = ("NEW", "PICKUP", "DELIVERY", "ARCHIVE")


@pytest.fixture(scope="module")
def server() -> Iterator[Sandbox]:
    running = Sandbox().start()
    yield running
    running.stop()


@pytest.fixture
def sandbox(server: Sandbox) -> Sandbox:
    """One server for the module, reset before each test (which reseeds the orders)."""
    httpx.post(f"{server.url}/_sandbox/reset").raise_for_status()
    return server


def held(sandbox: Sandbox) -> dict[str, Any]:
    return httpx.get(f"{sandbox.url}/_sandbox/state").json()  # type: ignore[no-any-return]


def kaspi_query(state: str, since: int, until: int | None = None, **extra: Any) -> dict[str, Any]:
    query = {"page[number]": 0, "page[size]": 100, "filter[orders][state]": state,
             "filter[orders][creationDate][$ge]": since, **extra}  # fmt: skip
    if until is not None:
        query["filter[orders][creationDate][$le]"] = until
    return query


def kaspi_get(sandbox: Sandbox, query: dict[str, Any], headers: Any = KASPI) -> httpx.Response:
    return httpx.get(f"{sandbox.url}/shop/api/v2/orders", params=query, headers=headers)


def kaspi_order(sandbox: Sandbox, code: str) -> dict[str, Any]:
    """One order by its code, searched in every state of the last 28 days."""
    for state in STATES:
        for start in (ms(BASE) - 28 * DAY_MS, ms(BASE) - 14 * DAY_MS):
            query = kaspi_query(state, start, start + 14 * DAY_MS, **{"filter[orders][code]": code})
            found = kaspi_get(sandbox, query).json()["data"]
            if found:
                return found[0]  # type: ignore[no-any-return]
    raise AssertionError(f"order {code} not found")


def kaspi_set(sandbox: Sandbox, order: dict[str, Any], status: str, **extra: Any) -> httpx.Response:
    attributes = {"code": order["attributes"]["code"], "status": status, **extra}
    body = {"data": {"type": "orders", "id": order["id"], "attributes": attributes}}
    return httpx.post(f"{sandbox.url}/shop/api/v2/orders", json=body, headers=KASPI)


def kaspi_walk(sandbox: Sandbox, size: int) -> tuple[list[str], int]:
    """Every order code over the last 30 days: per state, 14-day windows, pages of ``size``."""
    codes, most_pages = [], 0
    for state in STATES:
        for start in range(ms(BASE) - 30 * DAY_MS, ms(BASE) + 1, 14 * DAY_MS):
            query = kaspi_query(state, start, start + 14 * DAY_MS - 1, **{"page[size]": size})
            page_count = 1
            while query["page[number]"] < min(page_count, 10):
                answer = kaspi_get(sandbox, query).json()
                codes += [order["attributes"]["code"] for order in answer["data"]]
                page_count = answer["meta"]["pageCount"]
                query["page[number]"] += 1
            most_pages = max(most_pages, page_count)
    return codes, most_pages


def test_kaspi_pages_and_windows_cover_every_seeded_order_exactly_once(sandbox: Sandbox) -> None:
    codes, most_pages = kaspi_walk(sandbox, size=2)
    seeded = [o["attributes"]["code"] for o in held(sandbox)["orders_kaspi"].values()]
    assert len(seeded) == 12 and most_pages > 1
    assert sorted(codes) == sorted(seeded)
    states = {o["attributes"]["state"] for o in held(sandbox)["orders_kaspi"].values()}
    statuses = {o["attributes"]["status"] for o in held(sandbox)["orders_kaspi"].values()}
    assert states == set(STATES)
    assert statuses == {"APPROVED_BY_BANK", "ACCEPTED_BY_MERCHANT", "COMPLETED", "CANCELLED"}


def test_kaspi_meta_counts_and_status_filter(sandbox: Sandbox) -> None:
    since = ms(BASE) - 28 * DAY_MS
    query = kaspi_query("ARCHIVE", since, since + 14 * DAY_MS, **{"page[size]": 1})
    answer = kaspi_get(sandbox, query).json()
    assert answer["meta"] == {"pageCount": 2, "totalCount": 2} and len(answer["data"]) == 1
    query["page[number]"] = 2  # past the last page: empty, same meta
    assert kaspi_get(sandbox, query).json() == {**answer, "data": [], "included": []}
    query.update({"page[number]": 0, "filter[orders][status]": "CANCELLED"})
    (cancelled,) = kaspi_get(sandbox, query).json()["data"]
    assert cancelled["attributes"]["code"] == "620400111"
    assert cancelled["attributes"]["cancellationReason"] == "BUYER_CANCELLATION_BY_MERCHANT"


def test_kaspi_window_of_at_most_14_days(sandbox: Sandbox) -> None:
    since = ms(BASE) - 20 * DAY_MS
    assert kaspi_get(sandbox, kaspi_query("NEW", since, since + 14 * DAY_MS)).status_code == 200
    too_long = kaspi_get(sandbox, kaspi_query("NEW", since, since + 14 * DAY_MS + 1))
    assert too_long.status_code == 400
    assert "14 days" in too_long.json()["errors"][0]["title"]
    now = int(time.time() * 1000)  # without $le the window ends now
    assert kaspi_get(sandbox, kaspi_query("NEW", now - 15 * DAY_MS)).status_code == 400
    assert kaspi_get(sandbox, kaspi_query("NEW", now - 13 * DAY_MS)).status_code == 200
    backwards = kaspi_query("NEW", since, since - 1)
    assert kaspi_get(sandbox, backwards).status_code == 400


@pytest.mark.parametrize(
    "drop, change",
    [
        ("page[size]", {}),
        ("page[number]", {}),
        ("filter[orders][state]", {}),
        ("filter[orders][creationDate][$ge]", {}),
        ("", {"page[size]": 101}),
        ("", {"page[size]": 0}),
        ("", {"filter[orders][state]": "SHIPPED"}),
    ],
)
def test_kaspi_required_parameters(sandbox: Sandbox, drop: str, change: dict[str, Any]) -> None:
    query = {**kaspi_query("NEW", ms(BASE) - DAY_MS, ms(BASE)), **change}
    query.pop(drop, None)
    answer = kaspi_get(sandbox, query)
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["title"]


def test_kaspi_needs_the_auth_token(sandbox: Sandbox) -> None:
    query = kaspi_query("NEW", ms(BASE) - DAY_MS, ms(BASE))
    assert kaspi_get(sandbox, query, headers={}).status_code == 401
    assert kaspi_get(sandbox, query, headers={"X-Auth-Token": ""}).status_code == 401
    order = kaspi_order(sandbox, "620400101")
    body = {
        "data": {
            "type": "orders",
            "id": order["id"],
            "attributes": {"code": "620400101", "status": "ACCEPTED_BY_MERCHANT"},
        }
    }
    assert httpx.post(f"{sandbox.url}/shop/api/v2/orders", json=body).status_code == 401
    assert kaspi_order(sandbox, "620400101")["attributes"]["status"] == "APPROVED_BY_BANK"


def test_kaspi_included_entries_and_the_store_pickup(sandbox: Sandbox) -> None:
    query = kaspi_query("NEW", ms(BASE) - 14 * DAY_MS, ms(BASE), **{"include[orders]": "entries"})
    answer = kaspi_get(sandbox, query).json()
    (pickup,) = [o for o in answer["data"] if o["attributes"]["deliveryMode"] == "DELIVERY_PICKUP"]
    wanted = {ref["id"] for ref in pickup["relationships"]["entries"]["data"]}
    entries = [e for e in answer["included"] if e["id"] in wanted]
    assert len(entries) == len(wanted) == 2 and {e["type"] for e in entries} == {"orderentries"}
    assert {e["attributes"]["offer"]["code"] for e in entries} == {
        "KETTLE-1700-SS", "TSHIRT-BASIC-BLK-M"}  # fmt: skip
    assert {e["attributes"]["deliveryPointOfService"]["displayName"] for e in entries} == {"PP1"}
    for entry in entries:
        attributes = entry["attributes"]
        assert attributes["totalPrice"] == attributes["basePrice"] * attributes["quantity"]
    assert pickup["attributes"]["totalPrice"] == sum(e["attributes"]["totalPrice"] for e in entries)
    offers = {e["attributes"]["offer"]["code"] for e in answer["included"]}
    assert UNKNOWN_SKU in offers
    query.pop("include[orders]")
    assert kaspi_get(sandbox, query).json()["included"] == []


def test_kaspi_accept_is_not_idempotent(sandbox: Sandbox) -> None:
    order = kaspi_order(sandbox, "620400101")
    before = held(sandbox)["orders_kaspi"][order["id"]]["updated"]
    accepted = kaspi_set(sandbox, order, "ACCEPTED_BY_MERCHANT")
    assert accepted.status_code == 200
    assert accepted.json()["data"]["attributes"]["status"] == "ACCEPTED_BY_MERCHANT"
    again = kaspi_set(sandbox, order, "ACCEPTED_BY_MERCHANT")
    assert again.status_code == 400 and "already" in again.json()["errors"][0]["title"]
    stored = held(sandbox)["orders_kaspi"][order["id"]]
    assert stored["attributes"]["status"] == "ACCEPTED_BY_MERCHANT"
    assert stored["attributes"]["state"] == "DELIVERY" and stored["updated"] > before
    assert kaspi_order(sandbox, "620400101")["attributes"]["state"] == "DELIVERY"


def test_kaspi_accepted_pickup_moves_to_the_pickup_state(sandbox: Sandbox) -> None:
    order = kaspi_order(sandbox, "620400102")
    assert kaspi_set(sandbox, order, "ACCEPTED_BY_MERCHANT").status_code == 200
    assert kaspi_order(sandbox, "620400102")["attributes"]["state"] == "PICKUP"


@pytest.mark.parametrize(
    "code, status, extra, title",
    [
        ("620400105", "ACCEPTED_BY_MERCHANT", {}, "already"),  # accepted already
        ("620400109", "ACCEPTED_BY_MERCHANT", {}, "COMPLETED"),  # completed
        ("620400111", "ACCEPTED_BY_MERCHANT", {}, "CANCELLED"),  # cancelled
        ("620400109", "CANCELLED", {"cancellationReason": "BUYER_NOT_REACHABLE"}, "COMPLETED"),
        ("620400111", "COMPLETED", {}, "cancelled"),
        ("620400101", "CANCELLED", {}, "cancellationReason"),  # the reason is required
        ("620400105", "COMPLETED", {}, "Security code"),  # without X-Security-Code
        ("620400101", "SHIPPED", {}, "status must be"),
    ],
)
def test_kaspi_refused_transitions(
    sandbox: Sandbox, code: str, status: str, extra: dict[str, str], title: str
) -> None:
    order = kaspi_order(sandbox, code)
    answer = kaspi_set(sandbox, order, status, **extra)
    assert answer.status_code == 400 and title in answer.json()["errors"][0]["title"]
    assert kaspi_order(sandbox, code)["attributes"]["status"] == order["attributes"]["status"]


def test_kaspi_cancel_from_accepted_archives_the_order(sandbox: Sandbox) -> None:
    order = kaspi_order(sandbox, "620400107")
    answer = kaspi_set(sandbox, order, "CANCELLED", cancellationReason="MERCHANT_OUT_OF_STOCK")
    assert answer.status_code == 200
    attributes = kaspi_order(sandbox, "620400107")["attributes"]
    assert (attributes["status"], attributes["state"]) == ("CANCELLED", "ARCHIVE")
    assert attributes["cancellationReason"] == "MERCHANT_OUT_OF_STOCK"


def test_kaspi_status_change_needs_the_matching_code(sandbox: Sandbox) -> None:
    order = kaspi_order(sandbox, "620400101")
    wrong = {**order, "attributes": {**order["attributes"], "code": "999"}}
    assert kaspi_set(sandbox, wrong, "ACCEPTED_BY_MERCHANT").status_code == 404
    assert kaspi_order(sandbox, "620400101")["attributes"]["status"] == "APPROVED_BY_BANK"


def ozon_list(sandbox: Sandbox, body: dict[str, Any], headers: Any = OZON) -> httpx.Response:
    return httpx.post(f"{sandbox.url}/v4/posting/fbs/list", json=body, headers=headers)


def month() -> dict[str, str]:
    return {"since": (BASE - timedelta(days=30)).isoformat(), "to": BASE.isoformat()}


def test_ozon_cursor_pages_every_posting_once(sandbox: Sandbox) -> None:
    body: dict[str, Any] = {"filter": month(), "limit": 3}
    pages: list[list[str]] = []
    cursors: list[str] = []
    for _ in range(10):  # bounded: a cursor that never ends fails instead of hanging
        answer = ozon_list(sandbox, body).json()
        pages.append([p["posting_number"] for p in answer["postings"]])
        cursors.append(answer["cursor"])
        if not answer["has_next"]:
            break
        body = {"cursor": answer["cursor"], "limit": 3}
    numbers = [number for page in pages for number in page]
    assert [len(page) for page in pages] == [3, 3, 2] and cursors[-1] == ""
    assert sorted(numbers) == sorted(held(sandbox)["orders_ozon"]) and len(set(numbers)) == 8
    again = ozon_list(sandbox, {"cursor": cursors[0], "limit": 3}).json()
    assert [p["posting_number"] for p in again["postings"]] == pages[1]


def test_ozon_postings_carry_lines_and_filter_by_status(sandbox: Sandbox) -> None:
    answer = ozon_list(sandbox, {"filter": {**month(), "status": "awaiting_packaging"}}).json()
    assert len(answer["postings"]) == 3 and answer["has_next"] is False
    lines = [line for p in answer["postings"] for line in p["products"]]
    assert UNKNOWN_SKU in {line["offer_id"] for line in lines}
    assert all(isinstance(line["price"], str) and float(line["price"]) > 0 for line in lines)
    assert {p["delivery_method"]["warehouse_id"] for p in answer["postings"]} == {22142605386000}
    statuses = {"statuses": ["cancelled", "delivered"]}
    found = ozon_list(sandbox, {"filter": {**month(), **statuses}}).json()["postings"]
    assert sorted(p["status"] for p in found) == ["cancelled", "delivered"]


def test_ozon_the_window_and_last_status_change(sandbox: Sandbox) -> None:
    recent = {"since": (BASE - timedelta(days=5)).isoformat(), "to": BASE.isoformat()}
    assert len(ozon_list(sandbox, {"filter": recent}).json()["postings"]) == 4
    changed = {"from": (BASE - timedelta(days=3)).isoformat(), "to": BASE.isoformat()}
    body = {"filter": {**month(), "last_changed_status_date": changed}}
    found = {p["posting_number"]: p["status"] for p in ozon_list(sandbox, body).json()["postings"]}
    assert found["48201357-0008-1"] == "cancelled" and "48201357-0007-1" not in found


@pytest.mark.parametrize(
    "body, headers, status",
    [
        ({"filter": month()}, {"Client-Id": "12345"}, 401),
        ({"filter": month()}, {}, 401),
        ({"filter": month(), "limit": 101}, OZON, 400),
        ({"filter": month(), "limit": 0}, OZON, 400),
        ({"filter": {"to": BASE.isoformat()}}, OZON, 400),
        ({"filter": {"since": "2024-01-01T00:00:00Z", "to": BASE.isoformat()}}, OZON, 400),
        ({"cursor": "not a cursor"}, OZON, 400),
    ],
)
def test_ozon_refusals(
    sandbox: Sandbox, body: dict[str, Any], headers: dict[str, str], status: int
) -> None:
    answer = ozon_list(sandbox, body, headers)
    assert answer.status_code == status and "postings" not in answer.json()


def satu_list(sandbox: Sandbox, headers: Any = SATU, **query: Any) -> httpx.Response:
    return httpx.get(f"{sandbox.url}/api/v1/orders/list", params=query, headers=headers)


def satu_set(sandbox: Sandbox, status: str, ids: list[Any]) -> httpx.Response:
    body = {"status": status, "ids": ids}
    return httpx.post(f"{sandbox.url}/api/v1/orders/set_status", json=body, headers=SATU)


def test_satu_last_id_pages_newest_first(sandbox: Sandbox) -> None:
    ids: list[int] = []
    query: dict[str, Any] = {"limit": 4}
    for _ in range(10):  # bounded: a last_id that does not move fails instead of hanging
        orders = satu_list(sandbox, **query).json()["orders"]
        if not orders:
            break
        ids += [order["id"] for order in orders]
        query["last_id"] = orders[-1]["id"]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids) == 6
    assert {str(i) for i in ids} == set(held(sandbox)["orders_satu"])
    assert len(satu_list(sandbox).json()["orders"]) == 6  # limit defaults to 100


def test_satu_filters_and_lines(sandbox: Sandbox) -> None:
    pending = satu_list(sandbox, status="pending").json()["orders"]
    assert [order["id"] for order in pending] == [910006, 910005]
    assert UNKNOWN_SKU in {p["external_id"] for o in pending for p in o["products"]}
    assert pending[1]["delivery_option"]["name"] == "Самовывоз"
    recent = satu_list(sandbox, date_from=(BASE - timedelta(days=6)).isoformat()).json()
    assert [order["id"] for order in recent["orders"]] == [910006, 910005, 910004]
    assert satu_list(sandbox, status="shipped").status_code == 400
    assert satu_list(sandbox, headers={}).status_code == 401
    assert satu_list(sandbox, limit=101).status_code == 400


def test_satu_set_status_updates_orders_and_is_not_idempotent(sandbox: Sandbox) -> None:
    satu_list(sandbox)  # seeds the orders
    before = held(sandbox)["orders_satu"]["910006"]["updated"]
    answer = satu_set(sandbox, "received", [910006, 424242]).json()
    assert answer["processed_ids"] == [910006] and set(answer["errors"]) == {"424242"}
    stored = held(sandbox)["orders_satu"]["910006"]
    assert stored["order"]["status"] == "received" and stored["updated"] > before
    assert [o["id"] for o in satu_list(sandbox, status="received").json()["orders"]] == [
        910006, 910004]  # fmt: skip
    again = satu_set(sandbox, "received", [910006]).json()
    assert again["processed_ids"] == [] and "already" in again["errors"]["910006"]
    cancelled = satu_set(sandbox, "delivered", [910001]).json()
    assert cancelled["processed_ids"] == [] and "910001" in cancelled["errors"]


@pytest.mark.parametrize("status", ["canceled", "pending", "draft", ""])
def test_satu_set_status_allows_only_three_statuses(sandbox: Sandbox, status: str) -> None:
    answer = satu_set(sandbox, status, [910006])
    assert answer.status_code == 400
    assert answer.json()["error"]["message"] == "This status value is not allowed"
    assert satu_list(sandbox, status="pending").json()["orders"][0]["id"] == 910006


def test_reset_reseeds_the_orders(sandbox: Sandbox) -> None:
    order = kaspi_order(sandbox, "620400101")
    assert kaspi_set(sandbox, order, "ACCEPTED_BY_MERCHANT").status_code == 200
    assert satu_set(sandbox, "paid", [910005]).json()["processed_ids"] == [910005]
    httpx.post(f"{sandbox.url}/_sandbox/reset")
    assert held(sandbox) == {}
    assert kaspi_order(sandbox, "620400101")["attributes"]["status"] == "APPROVED_BY_BANK"
    assert satu_list(sandbox, status="paid").json()["orders"][0]["id"] == 910003
    assert kaspi_set(sandbox, order, "ACCEPTED_BY_MERCHANT").status_code == 200


def test_the_seed_is_deterministic(sandbox: Sandbox) -> None:
    satu_list(sandbox)
    ozon_list(sandbox, {"filter": month()})
    kaspi_get(sandbox, kaspi_query("NEW", ms(BASE) - DAY_MS, ms(BASE)))
    first = held(sandbox)
    other = Sandbox().start()
    try:
        satu_list(other)
        ozon_list(other, {"filter": month()})
        kaspi_get(other, kaspi_query("NEW", ms(BASE) - DAY_MS, ms(BASE)))
        assert held(other) == first and set(first) == {"orders_kaspi", "orders_ozon", "orders_satu"}
    finally:
        other.stop()
