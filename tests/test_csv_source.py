"""The CSV catalogue source: products.csv, stock.csv, locations.csv, and what the pipeline
does with duplicated SKUs."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from conftest import HEADER, Workspace, csv_text, good_row

from omnisync.config import load_config
from omnisync.errors import SourceError
from omnisync.models import Problem, Product, Severity
from omnisync.pipeline import validate
from omnisync.sources.csvfile import CsvSource

STOCK_HEADER = "sku,location,quantity\n"
LOCATIONS_CSV = (
    "code,name,type,city,address,pickup\n"
    "WH-1,Main warehouse,warehouse,Almaty,Rayimbek 1,no\n"
    "ALM-1,Dostyk store,store,Almaty,Dostyk 5,yes\n"
    "AST-1,Astana store,store,Astana,Mangilik El 10,no\n"
)


def write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def body(rows: list[dict[str, str]]) -> str:
    """CSV records without the header line, to append after other text."""
    return csv_text(rows).split("\n", 1)[1]


def products_file(tmp_path: Path, rows: list[dict[str, str]], **kw: list[str]) -> Path:
    return write(tmp_path / "products.csv", csv_text(rows, kw.get("header")))


def read_all(source: CsvSource) -> tuple[list[Product], list[Problem]]:
    problems: list[Problem] = []
    source.locations(problems.append)  # the documented order: locations first, then products
    products = list(source.read(problems.append))
    return products, problems


def read_rows(tmp_path: Path, rows: list[dict[str, str]]) -> tuple[list[Product], list[Problem]]:
    return read_all(CsvSource(products_file(tmp_path, rows)))


def with_stock(
    tmp_path: Path, rows: list[dict[str, str]], stock: str, locations: str | None = None
) -> tuple[list[Product], list[Problem]]:
    stock_path = write(tmp_path / "stock.csv", STOCK_HEADER + stock)
    locations_path = write(tmp_path / "locations.csv", locations) if locations else None
    return read_all(
        CsvSource(products_file(tmp_path, rows), stock=stock_path, locations=locations_path)
    )


def codes(problems: list[Problem]) -> list[str]:
    return [p.code for p in problems]


# --- file level ------------------------------------------------------------------------------


def test_utf8_bom_is_not_part_of_the_first_column(tmp_path: Path) -> None:
    path = tmp_path / "products.csv"
    path.write_bytes(b"\xef\xbb\xbf" + csv_text([good_row()]).encode("utf-8"))
    products, problems = read_all(CsvSource(path))
    assert problems == []
    assert [p.sku for p in products] == ["KETTLE-1"]


def test_header_names_are_trimmed_and_lower_cased(tmp_path: Path) -> None:
    text = " SKU ,Title,PRICE,Url,IMAGE_URL\nK-1,Kettle,100,https://a.kz/p,https://a.kz/i.jpg\n"
    products, problems = read_all(CsvSource(write(tmp_path / "products.csv", text)))
    assert problems == []
    assert (products[0].sku, products[0].price) == ("K-1", Decimal("100"))


def test_missing_required_column_names_file_line_and_column(tmp_path: Path) -> None:
    header = [c for c in HEADER if c != "price"]
    row = {k: v for k, v in good_row().items() if k != "price"}
    source = CsvSource(products_file(tmp_path, [row], header=header))
    with pytest.raises(SourceError) as caught:
        list(source.read(lambda p: None))
    assert caught.value.file == "products.csv"
    assert caught.value.line == 1
    assert "products.csv:1" in str(caught.value)
    assert "price" in str(caught.value)


def test_empty_file_raises_source_error(tmp_path: Path) -> None:
    source = CsvSource(write(tmp_path / "products.csv", b""))
    with pytest.raises(SourceError, match=r"products\.csv:1: the file is empty"):
        list(source.read(lambda p: None))


def test_header_only_file_yields_nothing_and_no_problems(tmp_path: Path) -> None:
    products, problems = read_rows(tmp_path, [])
    assert products == []
    assert problems == []


def test_blank_lines_are_not_rows(tmp_path: Path) -> None:
    text = csv_text([good_row(sku="A-1")]) + "\n\n" + body([good_row(sku="B-1")])
    products, problems = read_all(CsvSource(write(tmp_path / "products.csv", text)))
    assert problems == []
    assert [(p.sku, p.line) for p in products] == [("A-1", 2), ("B-1", 5)]


@pytest.mark.parametrize("lead", ["\n\n", "\r\n  \r\n", ",,,,\n , ,\n", '"",""\n\t\n'])
def test_blank_lines_before_the_header_are_skipped(tmp_path: Path, lead: str) -> None:
    # Excel and 1C leave empty (or delimiter-only) lines above the header.
    text = lead + csv_text([good_row(sku="A-1"), good_row(sku="B-1", price="abc")])
    products, problems = read_all(CsvSource(write(tmp_path / "products.csv", text)))
    assert [(p.sku, p.line) for p in products] == [("A-1", 4)]
    assert [(p.code, p.line) for p in problems] == [("not_a_number", 5)]


def test_blank_lines_before_the_header_keep_header_problems_on_its_line(tmp_path: Path) -> None:
    path = write(tmp_path / "products.csv", "\n;;;\nsku;title;url;image_url\n")
    with pytest.raises(SourceError, match=r"products\.csv:3: missing required column\(s\): price"):
        list(CsvSource(path, delimiter=";").read(lambda p: None))


def test_only_blank_lines_is_an_empty_file(tmp_path: Path) -> None:
    source = CsvSource(write(tmp_path / "products.csv", "\n  \n;;;\n"), delimiter=";")
    with pytest.raises(SourceError, match=r"products\.csv:1: the file is empty"):
        list(source.read(lambda p: None))


def test_blank_lines_before_a_side_files_header_are_skipped(tmp_path: Path) -> None:
    stock = write(tmp_path / "stock.csv", "\n,,\n" + STOCK_HEADER + "A-1,WH-1,3\n")
    source = CsvSource(products_file(tmp_path, [good_row(sku="A-1")]), stock=stock)
    products, problems = read_all(source)
    assert problems == []
    assert products[0].stock == {"WH-1": 3}


# --- row level: encoding, field count, line numbers ------------------------------------------


def test_invalid_utf8_row_is_reported_and_other_rows_are_read(tmp_path: Path) -> None:
    text = csv_text([good_row(sku="A-1"), good_row(sku="B-1", title="BROKEN"), good_row(sku="C-1")])
    data = text.encode("utf-8").replace(b"BROKEN", b"Kettle \xff\xfe")
    products, problems = read_all(CsvSource(write(tmp_path / "products.csv", data)))
    assert [p.sku for p in products] == ["A-1", "C-1"]
    assert [(p.code, p.file, p.line, p.sku) for p in problems] == [
        ("invalid_utf8", "products.csv", 3, "B-1")
    ]


def test_row_with_too_few_fields_is_reported_with_its_line(tmp_path: Path) -> None:
    text = csv_text([good_row(sku="A-1")]) + "B-1,only,three\n" + body([good_row(sku="C-1")])
    products, problems = read_all(CsvSource(write(tmp_path / "products.csv", text)))
    assert [p.sku for p in products] == ["A-1", "C-1"]
    assert [(p.code, p.line, p.sku) for p in problems] == [("field_count", 3, "B-1")]
    assert f"3 fields but the header has {len(HEADER)}" in problems[0].message


def test_row_with_too_many_fields_is_reported_with_its_line(tmp_path: Path) -> None:
    text = csv_text([good_row(sku="A-1"), good_row(sku="B-1")]).replace("\nB-1,", "\nB-1,extra,", 1)
    products, problems = read_all(CsvSource(write(tmp_path / "products.csv", text)))
    assert [p.sku for p in products] == ["A-1"]
    assert [(p.code, p.line) for p in problems] == [("field_count", 3)]


def test_bad_row_after_multiline_field_reports_its_physical_line(tmp_path: Path) -> None:
    multi = good_row(sku="A-1", description="first line\nsecond line\nthird line")
    text = csv_text([multi]) + "BAD-1,too,few\n" + body([good_row(sku="C-1")])
    # line 1 header, lines 2-4 the A-1 record, line 5 the bad row, line 6 C-1
    products, problems = read_all(CsvSource(write(tmp_path / "products.csv", text)))
    assert [(p.code, p.line, p.sku) for p in problems] == [("field_count", 5, "BAD-1")]
    assert [(p.sku, p.line) for p in products] == [("A-1", 2), ("C-1", 6)]
    assert products[0].description == "first line\nsecond line\nthird line"


def test_line_numbers_count_crlf_lines_inside_quoted_fields(tmp_path: Path) -> None:
    multi = good_row(sku="A-1", description="one\ntwo\nthree")
    text = csv_text([multi, good_row(sku="B-1")]).replace("\n", "\r\n")  # every break CRLF
    products, problems = read_all(CsvSource(write(tmp_path / "products.csv", text)))
    assert problems == []
    assert [(p.sku, p.line) for p in products] == [("A-1", 2), ("B-1", 5)]
    assert products[0].description == "one\r\ntwo\r\nthree"


def test_a_lone_cr_in_a_quoted_field_is_no_line_break(tmp_path: Path) -> None:
    """In a file of LF lines a CR alone (pasted from an old Mac app) ends no line: the rows
    after it keep their line, and a problem names the line its record starts on."""
    quoted = good_row(sku="A-1", description="QUOTED")
    text = csv_text([quoted, good_row(sku="B-1", price="x"), good_row(sku="C-1")])
    text = text.replace("QUOTED", '"one\rtwo"')
    source = CsvSource(write(tmp_path / "products.csv", text))
    products, problems = read_all(source)
    assert [(p.code, p.line, p.sku) for p in problems] == [("not_a_number", 3, "B-1")]
    assert [(p.sku, p.line) for p in products] == [("A-1", 2), ("C-1", 4)]
    assert products[0].description == "one\rtwo"


def test_a_lone_cr_outside_quotes_refuses_the_row_whole(tmp_path: Path) -> None:
    """It split "CR<CR>SKU,..." into a field_count problem and a product "SKU" made of the
    second half of the row."""
    text = csv_text([good_row(sku="A-1"), good_row(sku="B-1"), good_row(sku="C-1")])
    text = text.replace("\nB-1,", "\nCR\rSKU,")
    products, problems = read_all(CsvSource(write(tmp_path / "products.csv", text)))
    assert [(p.code, p.line) for p in problems] == [("csv_syntax", 3)]
    assert "lone CR" in problems[0].message
    assert [(p.sku, p.line) for p in products] == [("A-1", 2), ("C-1", 4)]


def test_a_file_of_cr_lines_still_reads(tmp_path: Path) -> None:
    """Old Mac Excel ends every line with a CR alone."""
    text = csv_text([good_row(sku="A-1"), good_row(sku="B-1", price="x")]).replace("\n", "\r")
    products, problems = read_all(CsvSource(write(tmp_path / "products.csv", text)))
    assert [(p.code, p.line) for p in problems] == [("not_a_number", 3)]
    assert [(p.sku, p.line) for p in products] == [("A-1", 2)]


def test_csv_syntax_error_is_reported_and_reading_goes_on(tmp_path: Path) -> None:
    broken = 'B-1,"Kettle"junk' + "," * (len(HEADER) - 2) + "\n"
    text = csv_text([good_row(sku="A-1")]) + broken + body([good_row(sku="C-1")])
    products, problems = read_all(CsvSource(write(tmp_path / "products.csv", text)))
    assert [(p.code, p.file, p.line) for p in problems] == [("csv_syntax", "products.csv", 3)]
    assert [(p.sku, p.line) for p in products] == [("A-1", 2), ("C-1", 4)]


def test_product_remembers_file_and_line(tmp_path: Path) -> None:
    products, _ = read_rows(tmp_path, [good_row(sku="A-1"), good_row(sku="B-1")])
    assert [(p.file, p.line) for p in products] == [("products.csv", 2), ("products.csv", 3)]


def test_empty_sku_is_missing_value(tmp_path: Path) -> None:
    products, problems = read_rows(tmp_path, [good_row(sku="  ")])
    assert products == []
    assert [(p.code, p.field, p.line) for p in problems] == [("missing_value", "sku", 2)]


# --- prices ----------------------------------------------------------------------------------


def test_negative_price_is_rejected_as_negative(tmp_path: Path) -> None:
    products, problems = read_rows(tmp_path, [good_row(price="-100")])
    assert products == []
    assert [(p.code, p.field, p.sku, p.line) for p in problems] == [
        ("negative", "price", "KETTLE-1", 2)
    ]
    assert problems[0].severity is Severity.ERROR


def test_zero_price_is_read_for_the_channel_to_reject(tmp_path: Path) -> None:
    products, problems = read_rows(tmp_path, [good_row(price="0")])
    assert problems == []
    assert products[0].price == Decimal("0")


def test_non_numeric_price_is_not_a_number(tmp_path: Path) -> None:
    products, problems = read_rows(tmp_path, [good_row(price="договорная")])
    assert products == []
    assert [(p.code, p.field) for p in problems] == [("not_a_number", "price")]
    assert "договорная" in problems[0].message


@pytest.mark.parametrize("raw", ["NaN", "Infinity", "-Infinity", "15990 ₸"])
def test_other_non_finite_or_decorated_prices_are_not_a_number(tmp_path: Path, raw: str) -> None:
    _, problems = read_rows(tmp_path, [good_row(price=raw)])
    assert codes(problems) == ["not_a_number"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("15990", "15990"),
        ("15990.00", "15990.00"),
        ("15 990,50", "15990.50"),
        ("15\u00a0990,50", "15990.50"),
        (" 15990.5 ", "15990.5"),
    ],
)
def test_price_forms_are_parsed_exactly(tmp_path: Path, raw: str, expected: str) -> None:
    products, problems = read_rows(tmp_path, [good_row(price=raw)])
    assert problems == []
    assert products[0].price == Decimal(expected)
    assert str(products[0].price) == expected


def test_price_is_a_decimal_never_a_float(tmp_path: Path) -> None:
    products, _ = read_rows(tmp_path, [good_row(price="0.1", sale_price="0.07")])
    assert type(products[0].price) is Decimal
    assert type(products[0].sale_price) is Decimal
    assert products[0].price == Decimal("0.1")


def test_empty_sale_price_is_none(tmp_path: Path) -> None:
    products, _ = read_rows(tmp_path, [good_row(sale_price="")])
    assert products[0].sale_price is None


# --- text fields and lists -------------------------------------------------------------------


def test_100kb_description_is_read_intact(tmp_path: Path) -> None:
    description = ('Чайник, 2200 W; "quoted"\nline. ' * 4000)[: 100 * 1024].strip()
    assert len(description) > 100_000
    products, problems = read_rows(tmp_path, [good_row(description=description)])
    assert problems == []
    assert products[0].description == description


def test_additional_image_urls_are_split_on_pipe(tmp_path: Path) -> None:
    raw = "https://cdn.kz/a.jpg | https://cdn.kz/b.jpg||https://cdn.kz/c.jpg "
    products, _ = read_rows(tmp_path, [good_row(additional_image_urls=raw)])
    assert products[0].additional_image_urls == (
        "https://cdn.kz/a.jpg",
        "https://cdn.kz/b.jpg",
        "https://cdn.kz/c.jpg",
    )


def test_category_is_split_on_angle_bracket_and_trimmed(tmp_path: Path) -> None:
    products, _ = read_rows(tmp_path, [good_row(category=" Бытовая техника >Кухня >  Чайники ")])
    assert products[0].category == ("Бытовая техника", "Кухня", "Чайники")


def test_empty_lists_are_empty_tuples(tmp_path: Path) -> None:
    products, _ = read_rows(tmp_path, [good_row(additional_image_urls="", category="")])
    assert products[0].additional_image_urls == ()
    assert products[0].category == ()


def test_extra_columns_become_attributes(tmp_path: Path) -> None:
    header = [*HEADER, "Material", "warranty"]
    rows = [
        good_row(sku="A-1", Material="Steel", warranty="2 years"),
        good_row(sku="B-1", Material="Glass", warranty=""),
    ]
    products, problems = read_all(CsvSource(products_file(tmp_path, rows, header=header)))
    assert problems == []
    assert dict(products[0].attributes) == {"material": "Steel", "warranty": "2 years"}
    assert dict(products[1].attributes) == {"material": "Glass"}


def test_known_columns_are_not_attributes(tmp_path: Path) -> None:
    products, _ = read_rows(tmp_path, [good_row()])
    assert dict(products[0].attributes) == {}
    assert products[0].brand == "Acme"
    assert products[0].gtin == "4006381333931"


def test_quantity_column_without_stock_file(tmp_path: Path) -> None:
    products, _ = read_rows(tmp_path, [good_row(quantity="7")])
    assert products[0].quantity == 7
    assert products[0].stock is None
    assert products[0].on_hand() == 7


# --- stock.csv -------------------------------------------------------------------------------


def test_stock_is_summed_per_location(tmp_path: Path) -> None:
    stock = "KETTLE-1,WH-1,3\nKETTLE-1,ALM-1,2\nKETTLE-1,WH-1,4\n"
    products, problems = with_stock(tmp_path, [good_row()], stock)
    assert problems == []
    assert dict(products[0].stock or {}) == {"WH-1": 7, "ALM-1": 2}
    assert products[0].on_hand() == 9


def test_product_without_stock_rows_has_none_on_hand(tmp_path: Path) -> None:
    products, problems = with_stock(
        tmp_path, [good_row(sku="A-1", quantity="5"), good_row(sku="B-1")], "B-1,WH-1,1\n"
    )
    assert problems == []
    assert products[0].stock == {}
    assert products[0].on_hand() == 0  # stock.csv is the stock; the quantity column is not


def test_negative_stock_is_a_warning_and_counts_as_zero(tmp_path: Path) -> None:
    products, problems = with_stock(tmp_path, [good_row()], "KETTLE-1,WH-1,-3\nKETTLE-1,ALM-1,2\n")
    assert [(p.code, p.severity, p.file, p.line) for p in problems] == [
        ("negative_quantity", Severity.WARNING, "stock.csv", 2)
    ]
    assert dict(products[0].stock or {}) == {"WH-1": 0, "ALM-1": 2}


def test_non_integer_stock_is_a_bad_stock_row(tmp_path: Path) -> None:
    products, problems = with_stock(tmp_path, [good_row()], "KETTLE-1,WH-1,2.5\nKETTLE-1,ALM-1,1\n")
    assert [(p.code, p.severity, p.file, p.line, p.sku) for p in problems] == [
        ("bad_stock_row", Severity.ERROR, "stock.csv", 2, "KETTLE-1")
    ]
    assert dict(products[0].stock or {}) == {"ALM-1": 1}


def test_stock_for_unknown_location_is_a_bad_stock_row(tmp_path: Path) -> None:
    products, problems = with_stock(
        tmp_path, [good_row()], "KETTLE-1,WH-1,1\nKETTLE-1,SHY-9,4\n", LOCATIONS_CSV
    )
    assert [(p.code, p.field, p.line) for p in problems] == [("bad_stock_row", "location", 3)]
    assert "SHY-9" in problems[0].message
    assert dict(products[0].stock or {}) == {"WH-1": 1}


def test_stock_for_sku_not_in_products_is_a_warning(tmp_path: Path) -> None:
    products, problems = with_stock(tmp_path, [good_row()], "KETTLE-1,WH-1,1\nGHOST-1,WH-1,4\n")
    assert [(p.code, p.severity, p.sku, p.file) for p in problems] == [
        ("stock_unknown_sku", Severity.WARNING, "GHOST-1", "stock.csv")
    ]
    assert [p.sku for p in products] == ["KETTLE-1"]


def test_stock_of_a_rejected_product_is_not_reported_as_unknown(tmp_path: Path) -> None:
    products, problems = with_stock(tmp_path, [good_row(price="-1")], "KETTLE-1,WH-1,1\n")
    assert products == []
    assert codes(problems) == ["negative"]


def test_stock_file_missing_a_required_column_raises(tmp_path: Path) -> None:
    stock_path = write(tmp_path / "stock.csv", "sku,quantity\nKETTLE-1,1\n")
    source = CsvSource(products_file(tmp_path, [good_row()]), stock=stock_path)
    with pytest.raises(SourceError, match=r"stock\.csv:1: .*location"):
        list(source.read(lambda p: None))


# --- locations.csv ---------------------------------------------------------------------------


def read_locations(tmp_path: Path, text: str) -> tuple[list, list[Problem]]:
    source = CsvSource(
        products_file(tmp_path, [good_row()]), locations=write(tmp_path / "locations.csv", text)
    )
    problems: list[Problem] = []
    return source.locations(problems.append), problems


def test_locations_are_read_with_pickup_parsed(tmp_path: Path) -> None:
    locations, problems = read_locations(tmp_path, LOCATIONS_CSV)
    assert problems == []
    assert [(loc.code, loc.type, loc.pickup) for loc in locations] == [
        ("WH-1", "warehouse", False),
        ("ALM-1", "store", True),
        ("AST-1", "store", False),
    ]
    assert (locations[1].city, locations[1].address) == ("Almaty", "Dostyk 5")


@pytest.mark.parametrize(
    ("raw", "pickup"), [("yes", True), ("Yes", True), ("да", True), ("no", False), ("", False)]
)
def test_pickup_values(tmp_path: Path, raw: str, pickup: bool) -> None:
    locations, problems = read_locations(tmp_path, f"code,name,type,pickup\nS-1,Shop,store,{raw}\n")
    assert problems == []
    assert locations[0].pickup is pickup


def test_location_type_shop_is_a_bad_location(tmp_path: Path) -> None:
    text = "code,name,type\nS-1,Shop,shop\nS-2,Store,store\n"
    locations, problems = read_locations(tmp_path, text)
    assert [(p.code, p.field, p.file, p.line) for p in problems] == [
        ("bad_location", "type", "locations.csv", 2)
    ]
    assert [loc.code for loc in locations] == ["S-2"]


def test_unparseable_pickup_is_a_bad_location(tmp_path: Path) -> None:
    locations, problems = read_locations(tmp_path, "code,name,type,pickup\nS-1,Shop,store,maybe\n")
    assert [(p.code, p.field) for p in problems] == [("bad_location", "pickup")]
    assert locations == []


def test_no_locations_file_means_no_locations(tmp_path: Path) -> None:
    problems: list[Problem] = []
    assert CsvSource(products_file(tmp_path, [good_row()])).locations(problems.append) == []
    assert problems == []


def test_on_hand_sums_only_the_given_locations(tmp_path: Path) -> None:
    stock = "KETTLE-1,WH-1,10\nKETTLE-1,ALM-1,2\nKETTLE-1,AST-1,5\n"
    products, problems = with_stock(tmp_path, [good_row()], stock, LOCATIONS_CSV)
    assert problems == []
    product = products[0]
    assert product.on_hand(frozenset({"ALM-1"})) == 2
    assert product.on_hand(frozenset({"ALM-1", "AST-1"})) == 7
    assert product.on_hand(frozenset({"NOWHERE"})) == 0
    assert product.on_hand() == 17


# --- pipeline: SKU uniqueness ----------------------------------------------------------------


def test_duplicated_sku_is_one_item_and_one_problem(workspace: Workspace) -> None:
    config = workspace.setup([good_row(title="First"), good_row(title="Second")])
    report = validate(load_config(config))
    assert [(s.channel, s.items_total, s.items_valid) for s in report.channels] == [
        ("google", 1, 1)
    ]
    duplicates = [p for p in report.problems if p.code == "duplicate_sku"]
    assert [(p.sku, p.file, p.line) for p in duplicates] == [("KETTLE-1", "products.csv", 3)]
    assert codes(report.problems) == ["duplicate_sku"]


def test_skus_differing_only_in_case_are_not_unique_for_google(workspace: Workspace) -> None:
    config = workspace.setup([good_row(sku="abc-1"), good_row(sku="ABC-1")])
    report = validate(load_config(config))
    assert [(p.code, p.sku, p.channel) for p in report.problems] == [
        ("id_not_unique", "ABC-1", "google")
    ]
    assert [(s.items_total, s.items_valid) for s in report.channels] == [(2, 1)]
