"""A deterministic catalogue of N SKUs for the benchmarks (issue 7): products with variants,
one warehouse and four stores, stock rows, city prices for Kaspi, Russian and Kazakh text of
realistic length. Streams every file row by row, so generating 1M SKUs needs no memory.

    python benchmarks/generate.py 100000 /tmp/bench-100k

writes ``products.csv``, ``stock.csv``, ``locations.csv``, ``city_prices.csv`` and
``omnisync.yaml`` (every file channel) into the folder. The same N always gives the same bytes.
"""

from __future__ import annotations

import csv
import random
import sys
from pathlib import Path

VERSION = 2  # bump when the output changes: run.py keeps generated catalogues per version
HEADER = ["sku", "title", "description", "brand", "gtin", "mpn", "price", "sale_price",
          "currency", "url", "image_url", "additional_image_urls", "category",
          "google_category", "condition", "item_group_id", "color", "size", "material"]  # fmt: skip
LOCATIONS = [
    ("WH-1", "Склад Алматы", "warehouse", "Алматы", "ул. Бекмаханова, 93", "no"),
    ("ALM-1", "Магазин Алматы, Абая", "store", "Алматы", "пр. Абая, 109В", "yes"),
    ("ALM-2", "Магазин Алматы, Толе би", "store", "Алматы", "ул. Толе би, 180", "yes"),
    ("AST-1", "Магазин Астана, Туран", "store", "Астана", "пр. Туран, 37", "yes"),
    ("SHM-1", "Магазин Шымкент, Тауке хана", "store", "Шымкент", "пр. Тауке хана, 5", "yes"),
]
CITIES = ["750000000", "710000000", "511010000"]  # Kaspi city ids: Almaty, Astana, Shymkent
BRANDS = ["Sonora", "Acme", "Nomad", "Qazaq Textile", "Altyn", "Dala", "Steppe Home"]
KINDS = [
    ("Наушники беспроводные", "Электроника > Аудио > Наушники", "505771"),
    ("Футболка мужская", "Одежда > Мужская > Футболки", "212"),
    ("Чайник электрический", "Дом > Кухня > Чайники", "736"),
    ("Кроссовки беговые", "Обувь > Спорт > Кроссовки", "187"),
    ("Рюкзак городской", "Аксессуары > Сумки > Рюкзаки", "100"),
]
COLORS = ["чёрный", "белый", "синий", "қызыл", "жасыл", "серый"]
SIZES = ["S", "M", "L", "XL"]
WORDS_RU = [
    "надёжный",
    "удобный",
    "лёгкий",
    "прочный",
    "современный",
    "классический",
    "качественный",
    "практичный",
    "стильный",
    "тёплый",
    "мягкий",
    "компактный",
]
WORDS_KK = ["сапалы", "ыңғайлы", "жеңіл", "берік", "заманауи", "жұмсақ", "әдемі", "жылы"]
CONFIG = """\
catalog:
  products: products.csv
  stock: stock.csv
  locations: locations.csv
  city_prices: city_prices.csv
output_dir: out
state: state.db
channels:
  google: {type: google_merchant, format: xml, currency: KZT, title: Bench Store,
           link: "https://shop.example.kz"}
  kaspi: {type: kaspi, company: Bench Store, merchant_id: "12345678",
          stores: {ALM-1: PP1, ALM-2: PP2, AST-1: PP3, SHM-1: PP4}}
  satu: {type: satu, currency: KZT,
         shop: {name: Bench Store, company: Bench LLP, url: "https://shop.example.kz"}}
  local: {type: google_local_inventory, currency: KZT,
          stores: {ALM-1: alm-1, ALM-2: alm-2, AST-1: ast-1, SHM-1: shm-1}}
  meta: {type: meta, currency: KZT}
  ozon: {type: ozon, base_url: "http://127.0.0.1:9", client_id: "1", api_key: env:BENCH_OZON_KEY,
         warehouses: {WH-1: 1}, currency: KZT}  # push planning only: nothing is ever sent
"""


def gtin(rng: random.Random) -> str:
    """A valid GTIN-13 (GS1 check digit), Kazakhstan's 487 prefix."""
    body = "487" + "".join(str(rng.randrange(10)) for _ in range(9))
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def text(rng: random.Random, words: int) -> str:
    pool = WORDS_RU if rng.random() < 0.8 else WORDS_KK
    return " ".join(rng.choice(pool) for _ in range(words)).capitalize() + "."


def products(n: int, rng: random.Random) -> tuple[list[str], ...]:
    """Rows in groups of 1–4 variants (colour and size) until N SKUs."""
    made = group = 0
    while made < n:
        group += 1
        kind, category, google = KINDS[group % len(KINDS)]
        brand, variants = rng.choice(BRANDS), min(rng.choice((1, 1, 2, 3, 4)), n - made)
        price = rng.randrange(1000, 300000, 10)
        for v in range(variants):
            sku = f"SKU-{group:07d}-{v}"
            color, size = COLORS[(group + v) % len(COLORS)], SIZES[v % len(SIZES)]
            sale = str(price * 9 // 10) if rng.random() < 0.2 else ""
            link, image = f"https://shop.example.kz/p/{sku.lower()}", f"{sku.lower()}.jpg"
            yield [
                sku, f"{kind} {brand} {group}, {color}, размер {size}",
                text(rng, rng.randrange(15, 50)), brand, gtin(rng), f"{brand[:3].upper()}-{group}",
                str(price), sale, "KZT", link, f"https://cdn.example.kz/img/{image}", "",
                category, google, "new", f"G-{group:07d}" if variants > 1 else "", color, size,
                "хлопок 100%",
            ]  # fmt: skip
            made += 1


def write(folder: Path, n: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(n)  # the same N: the same bytes
    with (
        (folder / "products.csv").open("w", newline="", encoding="utf-8") as p,
        (folder / "stock.csv").open("w", newline="", encoding="utf-8") as s,
        (folder / "city_prices.csv").open("w", newline="", encoding="utf-8") as c,
    ):
        rows, stock, prices = csv.writer(p), csv.writer(s), csv.writer(c)
        rows.writerow(HEADER)
        stock.writerow(["sku", "location", "quantity"])
        prices.writerow(["sku", "city_id", "price"])
        for row in products(n, rng):
            rows.writerow(row)
            for code, *_ in rng.sample(LOCATIONS, rng.randrange(1, len(LOCATIONS) + 1)):
                stock.writerow([row[0], code, rng.randrange(0, 40)])
            if rng.random() < 0.1:
                prices.writerow([row[0], rng.choice(CITIES), int(row[6]) + 1000])
    with (folder / "locations.csv").open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["code", "name", "type", "city", "address", "pickup"])
        out.writerows(LOCATIONS)
    (folder / "omnisync.yaml").write_text(CONFIG, encoding="utf-8")


if __name__ == "__main__":
    write(Path(sys.argv[2]), int(sys.argv[1]))
