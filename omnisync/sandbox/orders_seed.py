"""The sandbox's seeded marketplace orders: Kaspi orders, Ozon postings, Satu orders.

Deterministic: every date is relative to ``BASE`` (2026-11-20 12:00 Almaty), spread over the 30
days before it, so windows and pages are exercised. The SKUs come from the demo catalogue
(configs/demo/products.csv), plus one ``UNKNOWN-SKU-1`` line per marketplace. Each record keeps
the channel's own JSON plus ``updated`` (ms epoch, the sandbox's last change to it), which the
status-change endpoints move forward. ``held`` seeds a marketplace's bucket of the sandbox state
on first use; ``kaspi_resource`` and ``kaspi_entry`` are the JSON:API views of a Kaspi record.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from omnisync.sandbox.server import State

ALMATY = timezone(timedelta(hours=5))
BASE = datetime(2026, 11, 20, 12, 0, tzinfo=ALMATY)
UNKNOWN_SKU = "UNKNOWN-SKU-1"
OZON_WAREHOUSE = 22142605386000  # the demo's WH-1

# SKU → (name, unit price in KZT), as in the demo catalogue (sale price where there is one).
PRODUCTS: dict[str, tuple[str, int]] = {
    "HP-SONORA-X2": ("Наушники беспроводные Sonora X2, чёрные", 34990),
    "KETTLE-1700-SS": ("Чайник электрический Acme 1,7 л, нержавеющая сталь", 15990),
    "TSHIRT-BASIC-BLK-M": ("Футболка мужская Qazaq Textile Basic, чёрный, размер M", 6990),
    "SNEAKER-RUN-42": ("Кроссовки беговые Nomad Run, размер 42", 27990),
    "TV-ACME-55UHD": ('Телевизор Acme 55" 4K UHD Smart TV', 219990),
    UNKNOWN_SKU: ("Товар, которого нет в каталоге", 4990),
}
CUSTOMERS = [
    ("Айгерим", "Серикова", "7012345601"),
    ("Данияр", "Ахметов", "7022345602"),
    ("Ольга", "Ким", "7052345603"),
    ("Нурлан", "Жумабеков", "7072345604"),
]
Lines = tuple[tuple[str, int], ...]

# fmt: off
# code, hours before BASE, state, status, deliveryMode, pickup point, lines, hours of last change
KASPI: list[tuple[str, float, str, str, str, str, Lines, float | None]] = [
    ("620400101", 2, "NEW", "APPROVED_BY_BANK", "DELIVERY_LOCAL", "", (("HP-SONORA-X2", 1),), None),
    ("620400102", 5, "NEW", "APPROVED_BY_BANK", "DELIVERY_PICKUP", "PP1",
     (("KETTLE-1700-SS", 1), ("TSHIRT-BASIC-BLK-M", 2)), None),
    ("620400103", 26, "NEW", "APPROVED_BY_BANK", "DELIVERY_LOCAL", "",
     ((UNKNOWN_SKU, 1), ("SNEAKER-RUN-42", 1)), None),
    ("620400104", 70, "NEW", "APPROVED_BY_BANK", "DELIVERY_LOCAL", "",
     (("TV-ACME-55UHD", 1),), None),
    ("620400105", 50, "PICKUP", "ACCEPTED_BY_MERCHANT", "DELIVERY_PICKUP", "PP1",
     (("HP-SONORA-X2", 1),), 48),
    ("620400106", 98, "PICKUP", "ACCEPTED_BY_MERCHANT", "DELIVERY_PICKUP", "PP2",
     (("KETTLE-1700-SS", 2),), 96),
    ("620400107", 146, "DELIVERY", "ACCEPTED_BY_MERCHANT", "DELIVERY_LOCAL", "",
     (("TSHIRT-BASIC-BLK-M", 3), ("SNEAKER-RUN-42", 1)), 140),
    ("620400108", 218, "DELIVERY", "ACCEPTED_BY_MERCHANT", "DELIVERY_LOCAL", "",
     (("TV-ACME-55UHD", 1),), 210),
    ("620400109", 290, "ARCHIVE", "COMPLETED", "DELIVERY_LOCAL", "", (("HP-SONORA-X2", 2),), 240),
    ("620400110", 434, "ARCHIVE", "COMPLETED", "DELIVERY_PICKUP", "PP1",
     (("KETTLE-1700-SS", 1),), 400),
    # created 22 days ago, cancelled yesterday: the order that changed long after its creation
    ("620400111", 530, "ARCHIVE", "CANCELLED", "DELIVERY_LOCAL", "", (("SNEAKER-RUN-42", 1),), 20),
    ("620400112", 674, "ARCHIVE", "COMPLETED", "DELIVERY_LOCAL", "",
     (("TSHIRT-BASIC-BLK-M", 1), ("HP-SONORA-X2", 1)), 480),
]
# fmt: on

# order number, hours before BASE, status, lines, hours of last change
OZON: list[tuple[str, float, str, Lines, float | None]] = [
    ("48201357-0001", 3, "awaiting_packaging", (("HP-SONORA-X2", 1),), None),
    ("48201357-0002", 20, "awaiting_packaging", ((UNKNOWN_SKU, 1), ("KETTLE-1700-SS", 1)), None),
    ("48201357-0003", 44, "awaiting_packaging", (("TSHIRT-BASIC-BLK-M", 2),), None),
    ("48201357-0004", 100, "awaiting_deliver", (("SNEAKER-RUN-42", 1),), 90),
    ("48201357-0005", 160, "awaiting_deliver", (("TV-ACME-55UHD", 1),), 150),
    ("48201357-0006", 250, "delivering", (("KETTLE-1700-SS", 2),), 200),
    ("48201357-0007", 400, "delivered", (("HP-SONORA-X2", 1), ("TSHIRT-BASIC-BLK-M", 1)), 300),
    # created 25 days ago, cancelled two days ago
    ("48201357-0008", 600, "cancelled", (("SNEAKER-RUN-42", 2),), 40),
]
# rFBS: the seller delivers (tpl_integration_type non_integrated), so it sets the tracking
# number; the others are FBS, delivered by Ozon (tpl_integration_type ozon).
OZON_RFBS = {"48201357-0001"}

# id, hours before BASE, status, lines, pickup in store ALM-1, hours of last change
SATU: list[tuple[int, float, str, Lines, bool, float | None]] = [
    (910006, 4, "pending", (("KETTLE-1700-SS", 1), (UNKNOWN_SKU, 2)), False, None),
    (910005, 30, "pending", (("HP-SONORA-X2", 1),), True, None),
    (910004, 120, "received", (("TSHIRT-BASIC-BLK-M", 2),), False, 110),
    (910003, 260, "paid", (("SNEAKER-RUN-42", 1),), False, 250),
    (910002, 450, "delivered", (("TV-ACME-55UHD", 1),), False, 300),
    # created 28 days ago, cancelled three days ago
    (910001, 680, "canceled", (("KETTLE-1700-SS", 1),), False, 70),
]


def at(hours_before: float) -> datetime:
    return BASE - timedelta(hours=hours_before)


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def changed(created: float, last: float | None) -> int:
    return ms(at(created if last is None else last))


def kaspi_orders() -> dict[str, dict[str, Any]]:
    held: dict[str, dict[str, Any]] = {}
    for index, (code, created, state, status, mode, point, lines, last) in enumerate(KASPI):
        order_id = base64.b64encode(code.encode()).decode()
        entries = [_kaspi_entry(order_id, n, sku, qty, point) for n, (sku, qty) in enumerate(lines)]
        attributes = _kaspi_attributes(code, at(created), index, entries)
        attributes.update(state=state, status=status, deliveryMode=mode)
        if status == "CANCELLED":
            attributes["cancellationReason"] = "BUYER_CANCELLATION_BY_MERCHANT"
        held[order_id] = {"id": order_id, "attributes": attributes, "entries": entries,
                          "updated": changed(created, last)}  # fmt: skip
    return held


def _kaspi_attributes(
    code: str, created: datetime, index: int, entries: list[dict[str, Any]]
) -> dict[str, Any]:
    first, last, phone = CUSTOMERS[index % len(CUSTOMERS)]
    customer = {"id": f"C{index + 1:04d}", "name": f"{first} {last}", "cellPhone": phone,
                "firstName": first, "lastName": last}  # fmt: skip
    return {
        "code": code,
        "totalPrice": sum(entry["totalPrice"] for entry in entries),
        "paymentMode": "PAY_WITH_CREDIT" if index % 3 == 0 else "PREPAID",
        "creditTerm": 12 if index % 3 == 0 else 0,
        "isKaspiDelivery": False,
        "deliveryCost": 0,
        "deliveryCostForSeller": 0,
        "creationDate": ms(created),
        "approvedByBankDate": ms(created + timedelta(minutes=10)),
        "plannedDeliveryDate": ms(created + timedelta(days=2)),
        "preOrder": False,
        "signatureRequired": False,
        "assembled": False,
        "customer": customer,
    }


def _kaspi_entry(order_id: str, number: int, sku: str, quantity: int, point: str) -> dict[str, Any]:
    name, price = PRODUCTS[sku]
    entry: dict[str, Any] = {
        "id": base64.b64encode(f"{order_id}:{number}".encode()).decode(),
        "entryNumber": number,
        "quantity": quantity,
        "basePrice": price,
        "totalPrice": price * quantity,
        "unitType": "PIECES",
        "offer": {"code": sku, "name": name},
    }
    if point:
        entry["deliveryPointOfService"] = {"id": f"12345678_{point}", "displayName": point}
    return entry


def ozon_postings() -> dict[str, dict[str, Any]]:
    held: dict[str, dict[str, Any]] = {}
    for number, created, status, lines, last in OZON:
        posting = _ozon_posting(number, at(created), status, lines, rfbs=number in OZON_RFBS)
        held[posting["posting_number"]] = {"posting": posting, "updated": changed(created, last)}
    return held


def _ozon_posting(
    number: str, created: datetime, status: str, lines: Lines, rfbs: bool = False
) -> dict[str, Any]:
    method = {"id": 1, "name": "Доставка Ozon, склад Алматы", "warehouse_id": OZON_WAREHOUSE,
              "warehouse": "Склад Алматы", "tpl_provider": "Доставка Ozon"}  # fmt: skip
    if rfbs:
        method.update(id=2, name="Курьер продавца, Алматы", tpl_provider="Курьер продавца")
    posting = {
        "posting_number": f"{number}-1",
        "order_id": int(number.replace("-", "")),
        "order_number": number,
        "status": status,
        "in_process_at": _utc(created),
        "shipment_date": _utc(created + timedelta(days=1)),
        "tracking_number": "",
        "products": [_ozon_product(sku, qty) for sku, qty in lines],
        "delivery_method": method,
        "tpl_integration_type": "non_integrated" if rfbs else "ozon",
    }
    if status == "cancelled":
        posting["cancellation"] = {"cancel_reason_id": 402, "cancellation_initiator": "Клиент",
                                   "cancel_reason": "Покупатель отменил заказ"}  # fmt: skip
    return posting


def ozon_bulk(count: int, skus: list[str]) -> dict[str, dict[str, Any]]:
    """``count`` new postings of one or two lines of ``skus``, spread over the 30 days before
    ``BASE`` (the benchmarks' order ingest: channels.md §4.4 shapes, many of them)."""
    held: dict[str, dict[str, Any]] = {}
    for n in range(count):
        lines = [(skus[(n * 7 + k) % len(skus)], 1 + (n + k) % 3) for k in range(1 + n % 2)]
        created = BASE - timedelta(minutes=(n * 4320) // max(count, 1) * 10)
        posting = _ozon_posting(f"9{n:08d}-0001", created, "awaiting_packaging", ())
        posting["products"] = [
            {"offer_id": sku, "name": sku, "quantity": quantity, "price": "1000.000000",
             "currency_code": "KZT", "sku": 2_000_000_000 + n}
            for sku, quantity in lines
        ]  # fmt: skip
        held[posting["posting_number"]] = {"posting": posting, "updated": changed(0, None)}
    return held


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ozon_product(sku: str, quantity: int) -> dict[str, Any]:
    name, price = PRODUCTS[sku]
    ozon_sku = 1_488_000_000 + sorted(PRODUCTS).index(sku)
    return {"offer_id": sku, "name": name, "quantity": quantity, "price": f"{price}.000000",
            "currency_code": "KZT", "sku": ozon_sku}  # fmt: skip


def satu_orders() -> dict[str, dict[str, Any]]:
    held: dict[str, dict[str, Any]] = {}
    for index, (order_id, created, status, lines, pickup, last) in enumerate(SATU):
        first, surname, phone = CUSTOMERS[index % len(CUSTOMERS)]
        products = [_satu_product(sku, qty) for sku, qty in lines]
        total = sum(product["total_price"] for product in products)
        order = {
            "id": order_id,
            "date_created": at(created).isoformat(),
            "status": status,
            "price": satu_money(total),
            "full_price": satu_money(total),
            "products": products,
            "client_first_name": first,
            "client_last_name": surname,
            "phone": f"+7{phone}",
            **_satu_delivery(pickup),
        }
        held[str(order_id)] = {"order": order, "updated": changed(created, last)}
    return held


def satu_money(amount: float) -> str:
    """Satu/Prom report order totals as display strings ("69 980 ₸"), not numbers."""
    return f"{amount:,.0f} ₸".replace(",", " ")


def _satu_product(sku: str, quantity: int) -> dict[str, Any]:
    name, price = PRODUCTS[sku]
    return {"external_id": sku, "sku": sku, "name": name, "quantity": quantity,
            "price": float(price), "total_price": float(price * quantity)}  # fmt: skip


def _satu_delivery(pickup: bool) -> dict[str, Any]:
    if pickup:
        option = {"id": 1, "name": "Самовывоз", "shipping_service": None}
        return {"delivery_option": option, "delivery_address": "Алматы, пр. Абая, 109В"}
    option = {"id": 2, "name": "Доставка курьером", "shipping_service": None}
    return {"delivery_option": option, "delivery_address": "Алматы, ул. Толе би, 59, кв. 12"}


SEEDS: dict[str, Callable[[], dict[str, dict[str, Any]]]] = {
    "orders_kaspi": kaspi_orders,
    "orders_ozon": ozon_postings,
    "orders_satu": satu_orders,
}


def held(state: State, name: str) -> dict[str, Any]:
    """The seeded orders of one marketplace; seeded on first use after a start or a reset."""
    bucket = state.bucket(name)
    if not bucket:
        bucket.update(SEEDS[name]())
    return bucket


def touch(record: dict[str, Any]) -> None:
    record["updated"] = max(int(time.time() * 1000), record["updated"] + 1)


def kaspi_resource(record: dict[str, Any]) -> dict[str, Any]:
    entries = [{"type": "orderentries", "id": entry["id"]} for entry in record["entries"]]
    return {
        "type": "orders",
        "id": record["id"],
        "attributes": record["attributes"],
        "relationships": {"entries": {"data": entries}},
        "links": {"self": f"/shop/api/v2/orders/{record['id']}"},
    }


def kaspi_entry(record: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any]:
    attributes = {key: value for key, value in entry.items() if key != "id"}
    order = {"data": {"type": "orders", "id": record["id"]}}
    return {"type": "orderentries", "id": entry["id"], "attributes": attributes,
            "relationships": {"order": order}}  # fmt: skip


def moment(value: Any, zone: timezone) -> datetime | None:
    """An ISO 8601 date or date-time; one without an offset is read in ``zone``."""
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)


def from_ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, UTC)
