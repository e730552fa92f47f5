"""Every problem code the Google channel can emit, driven through the real mapping + validation.

A good product plus exactly one defect must yield exactly that one problem (code, severity,
field). ``test_the_table_covers_every_code_in_the_source`` reads ``rules.py`` and ``channel.py``
so a new rule without a case here fails.
"""

from __future__ import annotations

import ast
import inspect
import re
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import Workspace, good_row

from omnisync import markup, pipeline
from omnisync.channels.google import GoogleMerchant, GoogleMerchantConfig
from omnisync.channels.google import channel as channel_module
from omnisync.channels.google import rules as rules_module
from omnisync.config import load_config
from omnisync.models import Problem, Product, Severity
from omnisync.text import xml_safe

ERROR, WARNING = Severity.ERROR, Severity.WARNING
FILE, LINE = "products.csv", 7

BASE: dict[str, object] = {
    "sku": "KETTLE-1",
    "title": "Acme Electric Kettle 1.7 L",
    "description": "2200 W kettle, 1.7 L, auto shut-off.",
    "brand": "Acme",
    "gtin": "4006381333931",
    "mpn": "AK-1700",
    "price": Decimal("15990"),
    "url": "https://shop.example.kz/p/kettle-1",
    "image_url": "https://cdn.example.kz/img/kettle-1.jpg",
    "category": ("Бытовая техника", "Кухня"),
    "condition": "new",
    "quantity": 5,
    "file": FILE,
    "line": LINE,
}


def make_channel(**config: object) -> GoogleMerchant:
    settings: dict[str, object] = {"type": "google_merchant", "currency": "KZT", **config}
    return GoogleMerchant("google", GoogleMerchantConfig(**settings))  # type: ignore[arg-type]


def product(**overrides: object) -> Product:
    return Product(**{**BASE, **overrides})  # type: ignore[arg-type]


def problems_of(prod: Product, channel: GoogleMerchant | None = None) -> list[Problem]:
    channel = channel or make_channel()
    return channel.validate(channel.to_record(prod))


def triples(problems: list[Problem]) -> list[tuple[str, Severity, str | None]]:
    return [(p.code, p.severity, p.field) for p in problems]


def _images(n: int) -> tuple[str, ...]:
    return tuple(f"https://cdn.example.kz/img/kettle-1-{i}.jpg" for i in range(n))


# (code, severity, field, product override); ids are "<code>" or "<code>-<variant>".
CASES: list[tuple[str, str, Severity, str, dict[str, object]]] = [
    ("id_length", "empty", ERROR, "id", {"sku": ""}),
    ("id_length", "51-chars", ERROR, "id", {"sku": "K" * 51}),
    ("id_length", "only-forbidden-chars", ERROR, "id", {"sku": "\x00\x01"}),
    ("id_characters", "", WARNING, "id", {"sku": "KETTLE#1"}),
    ("id_characters", "cyrillic", WARNING, "id", {"sku": "ЧАЙНИК-1"}),
    ("title_missing", "", ERROR, "title", {"title": ""}),
    ("title_missing", "only-forbidden-chars", ERROR, "title", {"title": "\x00\x0b"}),
    ("description_missing", "", ERROR, "description", {"description": ""}),
    (
        "description_unsafe_removed",
        "script",
        WARNING,
        "description",
        {"description": "<p>A kettle.</p><script>alert(1)</script>"},
    ),
    (
        "description_unsafe_removed",
        "onclick",
        WARNING,
        "description",
        {"description": '<strong onclick="x()">A kettle.</strong>'},
    ),
    ("brand_too_long", "", ERROR, "brand", {"brand": "B" * 71}),
    ("mpn_too_long", "", ERROR, "mpn", {"mpn": "M" * 71}),
    ("product_type_too_long", "", ERROR, "product_type", {"category": ("C" * 400, "D" * 400)}),
    ("item_group_id_too_long", "", ERROR, "item_group_id", {"item_group_id": "G" * 51}),
    ("item_group_id_characters", "", WARNING, "item_group_id", {"item_group_id": "kettle 1"}),
    ("link_invalid", "empty", ERROR, "link", {"url": ""}),
    ("link_invalid", "relative", ERROR, "link", {"url": "/p/kettle-1"}),
    ("link_invalid", "ftp", ERROR, "link", {"url": "ftp://shop.example.kz/p/kettle-1"}),
    ("link_invalid", "space", ERROR, "link", {"url": "https://shop.example.kz/p/kettle 1"}),
    ("link_invalid", "control-char", ERROR, "link", {"url": "https://shop.example.kz/p/\x01"}),
    (
        "link_invalid",
        "2001-chars",
        ERROR,
        "link",
        {"url": "https://shop.example.kz/" + "p" * (2001 - 23)},
    ),
    ("image_link_invalid", "empty", ERROR, "image_link", {"image_url": ""}),
    (
        "image_link_invalid",
        "protocol-relative",
        ERROR,
        "image_link",
        {"image_url": "//cdn.example.kz/img/kettle-1.jpg"},
    ),
    (
        "image_link_type",
        "",
        ERROR,
        "image_link",
        {"image_url": "https://cdn.example.kz/img/kettle-1.svg"},
    ),
    ("availability_invalid", "", ERROR, "availability", {"availability": "limited"}),
    (
        "availability_date_missing",
        "preorder",
        ERROR,
        "availability_date",
        {"availability": "preorder"},
    ),
    (
        "availability_date_missing",
        "backorder",
        ERROR,
        "availability_date",
        {"availability": "backorder"},
    ),
    (
        "availability_date_invalid",
        "preorder",
        ERROR,
        "availability_date",
        {"availability": "preorder", "availability_date": "next week"},
    ),
    (
        "availability_date_invalid",
        "in-stock",
        ERROR,
        "availability_date",
        {"availability_date": "2026-13-01"},
    ),
    ("currency_invalid", "lower-case", ERROR, "currency", {"currency": "kzt"}),
    ("currency_invalid", "word", ERROR, "currency", {"currency": "тенге"}),
    ("price_not_positive", "", ERROR, "price", {"price": Decimal("0")}),
    ("price_format", "", ERROR, "price", {"price": Decimal("15990.005")}),
    ("sale_price_not_positive", "", ERROR, "sale_price", {"sale_price": Decimal("0")}),
    ("sale_price_format", "", ERROR, "sale_price", {"sale_price": Decimal("14990.999")}),
    ("sale_price_above_price", "", ERROR, "sale_price", {"sale_price": Decimal("15990.01")}),
    ("gtin_invalid", "check-digit", ERROR, "gtin", {"gtin": "4006381333932"}),
    ("gtin_invalid", "length", ERROR, "gtin", {"gtin": "400638133393"}),
    ("gtin_invalid", "letters", ERROR, "gtin", {"gtin": "40063813339AB"}),
    ("condition_invalid", "", ERROR, "condition", {"condition": "broken"}),
    ("brand_missing", "", ERROR, "brand", {"gtin": "", "brand": ""}),  # handmade, custom goods
    ("title_truncated", "", WARNING, "title", {"title": "слово " * 40}),
    ("description_truncated", "", WARNING, "description", {"description": "word " * 1200}),
    (
        "description_html_removed",
        "",
        WARNING,
        "description",
        {"description": "<ul><li>short</li></ul>" * 300},
    ),
    ("url_encoded", "link-path", WARNING, "link", {"url": "https://shop.example.kz/p/чайник"}),
    ("url_encoded", "link-idn-host", WARNING, "link", {"url": "https://магазин.kz/p/kettle-1"}),
    (
        "url_encoded",
        "image-link",
        WARNING,
        "image_link",
        {"image_url": "https://cdn.example.kz/img/чайник.jpg"},
    ),
    (
        "additional_image_dropped",
        "",
        WARNING,
        "additional_image_link",
        {"additional_image_urls": ("not a url",)},
    ),
    (
        "too_many_images",
        "",
        WARNING,
        "additional_image_link",
        {"additional_image_urls": _images(11)},
    ),
]
TABLE_CODES = {case[0] for case in CASES}


def _ids() -> list[str]:
    return [f"{code}-{variant}" if variant else code for code, variant, *_ in CASES]


def test_the_base_product_is_clean() -> None:
    assert problems_of(product()) == []


@pytest.mark.parametrize(("code", "variant", "severity", "field", "overrides"), CASES, ids=_ids())
def test_one_defect_gives_exactly_one_problem(
    code: str, variant: str, severity: Severity, field: str, overrides: dict[str, object]
) -> None:
    assert triples(problems_of(product(**overrides))) == [(code, severity, field)]


@pytest.mark.parametrize(("code", "variant", "severity", "field", "overrides"), CASES, ids=_ids())
def test_every_problem_names_the_sku_channel_file_and_line(
    code: str, variant: str, severity: Severity, field: str, overrides: dict[str, object]
) -> None:
    prod = product(**overrides)
    problems = problems_of(prod)
    assert problems, "the case must produce a problem"
    for p in problems:
        assert p.sku == xml_safe(prod.sku)
        assert p.channel == "google"
        assert (p.file, p.line) == (FILE, LINE)
        assert p.message


# --- the table covers the source --------------------------------------------------------------


def _template_regex(node: ast.JoinedStr) -> str:
    parts = []
    for value in node.values:
        if isinstance(value, ast.Constant):
            parts.append(re.escape(str(value.value)))
        else:
            parts.append("[a-z_]+")
    return "".join(parts)


def _code_nodes(tree: ast.AST) -> list[ast.expr]:
    """The code expression of every finding: the 2nd element of each ``yield (field, code,
    message)`` in rules.py and the 2nd argument of each ``warn(field, code, message)`` call."""
    found: list[ast.expr] = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Yield)
            and isinstance(node.value, ast.Tuple)
            and len(node.value.elts) == 3
        ):
            found.append(node.value.elts[1])
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "warn"
            and len(node.args) == 3
        ):
            found.append(node.args[1])
    return found


def _function_of(tree: ast.AST, target: ast.AST) -> ast.FunctionDef:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and any(n is target for n in ast.walk(node)):
            return node
    raise AssertionError("code expression outside a function")


def _names_for(tree: ast.AST, module: object, func: ast.FunctionDef, var: str) -> set[str]:
    """The values ``var`` takes inside ``func``: a loop over a literal tuple, a loop over a
    module-level dict's ``.items()``, or a parameter given as a literal by every caller."""
    for node in ast.walk(func):
        if not isinstance(node, ast.For):
            continue
        target = node.target
        loop_var = target.elts[0] if isinstance(target, ast.Tuple) else target
        if not (isinstance(loop_var, ast.Name) and loop_var.id == var):
            continue
        if isinstance(node.iter, ast.Tuple):
            return {ast.literal_eval(e) for e in node.iter.elts}
        call = node.iter
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute):
            holder = call.func.value
            assert isinstance(holder, ast.Name), ast.dump(call)
            return set(getattr(module, holder.id))
    params = [a.arg for a in func.args.args if a.arg != "self"]
    assert var in params, f"cannot tell what {var!r} is in {func.name}()"
    index = params.index(var)
    values = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and (
            (isinstance(node.func, ast.Name) and node.func.id == func.name)
            or (isinstance(node.func, ast.Attribute) and node.func.attr == func.name)
        ):
            values.add(ast.literal_eval(node.args[index]))
    assert values, f"no literal callers of {func.name}()"
    return values


def _codes_in(module: object) -> set[str]:
    tree = ast.parse(inspect.getsource(module))  # type: ignore[arg-type]
    codes: set[str] = set()
    for node in _code_nodes(tree):
        if isinstance(node, ast.Constant):
            codes.add(node.value)
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            codes.add(getattr(getattr(module, node.value.id), node.attr))  # markup.UNSAFE_CODE
        elif isinstance(node, ast.JoinedStr):
            [var] = [v.value for v in node.values if isinstance(v, ast.FormattedValue)]
            assert isinstance(var, ast.Name), ast.dump(node)
            func = _function_of(tree, node)
            suffix = "".join(str(v.value) for v in node.values if isinstance(v, ast.Constant))
            expanded = {f"{name}{suffix}" for name in _names_for(tree, module, func, var.id)}
            assert all(re.fullmatch(_template_regex(node), c) for c in expanded)
            codes |= expanded
        else:
            raise AssertionError(f"unexpected code expression: {ast.dump(node)}")
    return codes


# Channel.cut (channels/base.py) makes "<field>_truncated"; the Google channel cuts these two.
CUT_CODES = {"title_truncated", "description_truncated"}


def _channel_codes() -> set[str]:
    return _codes_in(channel_module) | CUT_CODES


def test_the_google_channel_cuts_exactly_title_and_description() -> None:
    source = inspect.getsource(channel_module)
    cut_fields = set(re.findall(r'truncated\(\s*"(\w+)"', source))
    assert {f"{field}_truncated" for field in cut_fields} == CUT_CODES


def test_the_source_scan_finds_known_codes() -> None:
    """The scanner itself works: it sees literal, looped, dict-driven and parameter codes."""
    rules_codes, channel_codes = _codes_in(rules_module), _channel_codes()
    assert {"id_length", "sale_price_above_price", "brand_too_long", "image_link_invalid"} <= (
        rules_codes
    )
    assert {"price_format", "sale_price_not_positive"} <= rules_codes
    assert {"url_encoded", "title_truncated", "description_truncated"} <= channel_codes
    assert {f"{field}_too_long" for field in rules_module.LENGTH_LIMITS} <= rules_codes


def test_the_table_covers_every_code_in_the_source() -> None:
    in_source = _codes_in(rules_module) | _channel_codes()
    assert in_source == TABLE_CODES


def test_every_table_code_appears_in_the_source_text() -> None:
    modules = (rules_module, channel_module, markup)  # markup: the unsafe-description warning
    source = "".join(Path(m.__file__).read_text(encoding="utf-8") for m in modules)
    templated = ("_too_long", "_invalid", "_not_positive", "_format", "_truncated")
    for code in TABLE_CODES - CUT_CODES:
        suffix = next((s for s in templated if code.endswith(s) and f'}}{s}"' in source), None)
        assert f'"{code}"' in source or suffix is not None, code


def test_warning_codes_are_the_ones_the_table_marks_as_warnings() -> None:
    table_warnings = {code for code, _, severity, _, _ in CASES if severity is WARNING}
    # Warnings either come from the mapping notes (channel.py) or from rules._WARNING_CODES.
    assert table_warnings >= rules_module._WARNING_CODES
    assert table_warnings - rules_module._WARNING_CODES == _channel_codes()


# --- id_not_unique: raised by the pipeline with the channel's key -----------------------------


def test_ids_differing_only_in_case_are_reported_as_id_not_unique(workspace: Workspace) -> None:
    config = workspace.setup([good_row(sku="kettle-1"), good_row(sku="KETTLE-1")])
    report = pipeline.validate(load_config(config))
    assert [(p.code, p.severity, p.field, p.sku, p.channel, p.line) for p in report.problems] == [
        ("id_not_unique", ERROR, "id", "KETTLE-1", "google", 3)
    ]


# --- boundaries and specific behaviour --------------------------------------------------------


CLEAN: dict[str, dict[str, object]] = {
    "sku-50-chars": {"sku": "K" * 50},
    "title-150-chars": {"title": "t" * 150},
    "description-5000-chars": {"description": "d" * 5000},
    "brand-70": {"brand": "B" * 70},
    "mpn-70": {"mpn": "M" * 70},
    "product-type-750": {"category": ("C" * 375, "D" * 372)},  # joined by " > "
    "item-group-id-50": {"item_group_id": "G" * 50},
    "ten-additional-images": {"additional_image_urls": _images(10)},
    "preorder-with-date": {
        "availability": "preorder",
        "availability_date": "2026-06-01T00:00+0500",
    },
    "backorder-with-date": {"availability": "backorder", "availability_date": "2026-06-01"},
    "old-spelling-in-stock": {"availability": "In Stock"},
    "sale-price-equals-price": {"sale_price": Decimal("15990")},
    "sale-price-below-price": {"sale_price": Decimal("14990.50")},
    "two-decimals": {"price": Decimal("15990.99")},
    "gtin-with-spaces-and-dashes": {"gtin": "400-638 133 393-1"},
    "gtin-8": {"gtin": "96385074"},
    "no-gtin": {"gtin": ""},
    "no-condition": {"condition": ""},
    "condition-capitalised": {"condition": "Refurbished"},
    "allowed-html": {"description": "<strong>Fast</strong><br><ul><li>1.7 L</li></ul><br/>"},
    "cms-paragraph": {"description": "<p>A kettle.</p>"},
    "unclosed-em": {"description": "<em>A kettle."},
    "style-attribute": {"description": '<p style="color:red"><span class="x">A kettle.</span></p>'},
    "link": {"description": '<a href="https://shop.example.kz">A kettle.</a>'},
    "less-than-as-text": {"description": "Boils 1 L in < 3 minutes"},
    "image-without-extension": {"image_url": "https://cdn.example.kz/img/kettle-1"},
    "image-upper-case-extension": {"image_url": "https://cdn.example.kz/img/kettle-1.JPEG"},
    "image-with-query": {"image_url": "https://cdn.example.kz/img/kettle-1.webp?w=800"},
    "image-with-comma": {"image_url": "https://cdn.example.kz/img/kettle,1.jpg"},
}


@pytest.mark.parametrize("overrides", list(CLEAN.values()), ids=list(CLEAN))
def test_boundary_values_are_clean(overrides: dict[str, object]) -> None:
    assert problems_of(product(**overrides)) == []


def test_preorder_with_a_valid_date_is_clean_and_keeps_the_date() -> None:
    channel = make_channel()
    record = channel.to_record(
        product(availability="preorder", availability_date="2026-06-01T00:00+0500")
    )
    assert channel.validate(record) == []
    assert record.fields["availability"] == "preorder"
    assert record.fields["availability_date"] == "2026-06-01T00:00+0500"


def test_sale_price_equal_to_price_is_clean() -> None:
    channel = make_channel()
    record = channel.to_record(product(price=Decimal("15990"), sale_price=Decimal("15990.00")))
    assert channel.validate(record) == []
    assert record.fields["sale_price"] == Decimal("15990")


def _long_list_description() -> str:
    """Over 6000 characters of <ul><li>…</li></ul> whose text alone is still over 5000."""
    item = "Stainless steel body, 1.7 L, 2200 W, auto shut-off and boil-dry protection. " * 2
    block = f"<ul><li>{item}</li></ul>"
    text = block * (6000 // len(block) + 1)
    assert len(text) >= 6000
    return text


@pytest.mark.parametrize(
    ("raw", "written"),
    [
        (
            "<p>A <b>kettle</b></p><p>1.7 L</p>",
            "<div>A <strong>kettle</strong></div><div>1.7 L</div>",
        ),
        ("<UL><LI>Steel<LI>Glass</UL>", "<ul><li>Steel</li><li>Glass</li></ul>"),
        ('<h2 class="t">Specs</h2><i>quiet</i>', "<div>Specs</div><em>quiet</em>"),
        # no tag left: plain text, entities decoded (a bare & reads the same as text or HTML)
        ("Tea&nbsp;&amp;&nbsp;coffee &laquo;Dala&raquo;", "Tea\xa0&\xa0coffee «Dala»"),
        ("<b>Tea</b> &amp; coffee", "<strong>Tea</strong> &amp; coffee"),
        ("<p>x</p><script>alert(1)</script><style>p{}</style>", "<div>x</div>"),
        ("2200 W kettle, 1.7 L, auto shut-off.", "2200 W kettle, 1.7 L, auto shut-off."),
    ],
)
def test_description_markup_is_written_in_googles_tags(raw: str, written: str) -> None:
    channel = make_channel()
    assert channel.to_record(product(description=raw)).fields["description"] == written


def test_description_of_only_unsafe_markup_is_missing() -> None:
    problems = problems_of(product(description="<script>alert(1)</script>"))
    assert triples(problems) == [
        ("description_unsafe_removed", WARNING, "description"),
        ("description_missing", ERROR, "description"),
    ]


def test_long_description_of_escaped_text_is_cut_outside_an_entity() -> None:
    channel = make_channel()
    record = channel.to_record(product(description="<b>Tom</b> &amp; Jerry " * 400))
    description = record.fields["description"]
    assert len(description) <= 5000 and "<" not in description
    assert description.endswith(("Tom", "&amp;", "Jerry"))
    assert triples(channel.validate(record)) == [
        ("description_html_removed", WARNING, "description"),
        ("description_truncated", WARNING, "description"),
    ]


def test_long_plain_text_is_cut_as_plain_text() -> None:
    channel = make_channel()
    record = channel.to_record(product(description="Tom &amp; Jerry " * 500))
    description = record.fields["description"]
    assert len(description) <= 5000 and "&amp;" not in description
    assert description.startswith("Tom & Jerry Tom & Jerry")
    assert triples(channel.validate(record)) == [("description_truncated", WARNING, "description")]


def test_long_html_description_is_kept_as_text_with_only_warnings() -> None:
    channel = make_channel()
    raw = _long_list_description()
    record = channel.to_record(product(description=raw))
    assert triples(channel.validate(record)) == [
        ("description_html_removed", WARNING, "description"),
        ("description_truncated", WARNING, "description"),
    ]
    description = record.fields["description"]
    assert 0 < len(description) <= 5000
    assert "<" not in description
    assert ">" not in description
    assert description.startswith("Stainless steel body")
    assert "  " not in description


def test_long_html_description_that_fits_as_text_still_gets_a_warning() -> None:
    raw = "<ul><li>…</li></ul>" * 316  # 6004 characters, 631 of text
    channel = make_channel()
    record = channel.to_record(product(description=raw))
    assert "<" not in record.fields["description"]
    assert triples(channel.validate(record)) == [
        ("description_html_removed", WARNING, "description")
    ]


def test_long_description_with_escaped_markup_stays_valid() -> None:
    block = "<ul><li>Write &lt;script&gt; in the search box " + "x" * 100 + "</li></ul>"
    raw = block * 50  # valid HTML, > 5000 characters
    problems = problems_of(product(description=raw))
    assert triples(problems) == [
        ("description_html_removed", WARNING, "description"),
        ("description_truncated", WARNING, "description"),
    ]


def test_control_character_in_a_url_is_an_error_not_a_crash() -> None:
    channel = make_channel()
    record = channel.to_record(product(url="https://shop.example.kz/p/kettle\x01-1"))
    assert triples(channel.validate(record)) == [("link_invalid", ERROR, "link")]


def test_control_character_in_an_image_url_is_an_error() -> None:
    problems = problems_of(product(image_url="https://cdn.example.kz/img/\x01kettle.jpg"))
    assert triples(problems) == [("image_link_invalid", ERROR, "image_link")]


def test_comma_in_image_link_is_written_as_percent_2c() -> None:
    channel = make_channel()
    extra = "https://cdn.example.kz/img/kettle,2.jpg"
    record = channel.to_record(
        product(image_url="https://cdn.example.kz/img/kettle,1.jpg", additional_image_urls=(extra,))
    )
    assert channel.validate(record) == []
    assert record.fields["image_link"] == "https://cdn.example.kz/img/kettle%2C1.jpg"
    assert record.fields["additional_image_link"] == ["https://cdn.example.kz/img/kettle%2C2.jpg"]
    assert record.fields["link"] == BASE["url"]  # only image links are re-encoded


def test_non_ascii_link_is_percent_encoded_in_the_record() -> None:
    channel = make_channel()
    record = channel.to_record(product(url="https://shop.example.kz/p/чайник"))
    assert record.fields["link"] == "https://shop.example.kz/p/%D1%87%D0%B0%D0%B9%D0%BD%D0%B8%D0%BA"


def test_truncated_title_is_at_most_150_characters_and_cut_at_a_word() -> None:
    channel = make_channel()
    record = channel.to_record(product(title="слово " * 40))
    title = record.fields["title"]
    assert len(title) <= 150
    assert title.split() == ["слово"] * len(title.split())


def test_too_many_images_keeps_the_first_ten() -> None:
    channel = make_channel()
    record = channel.to_record(product(additional_image_urls=_images(12)))
    assert record.fields["additional_image_link"] == list(_images(10))


def test_dropped_additional_image_leaves_the_others() -> None:
    channel = make_channel()
    good = _images(2)
    record = channel.to_record(product(additional_image_urls=(good[0], "ftp://x/y.jpg", good[1])))
    assert record.fields["additional_image_link"] == list(good)
    assert triples(channel.validate(record)) == [
        ("additional_image_dropped", WARNING, "additional_image_link")
    ]


def test_missing_currency_everywhere_is_currency_invalid() -> None:
    channel = make_channel(currency=None)
    assert triples(problems_of(product(), channel)) == [("currency_invalid", ERROR, "currency")]
    assert problems_of(product(currency="USD"), channel) == []


def test_several_defects_are_all_reported() -> None:
    problems = problems_of(product(title="", gtin="123", price=Decimal("0"), sku="A B"))
    assert {p.code for p in problems} == {
        "title_missing",
        "gtin_invalid",
        "price_not_positive",
        "id_characters",
    }


def test_title_that_is_only_whitespace_after_sanitizing_is_missing() -> None:
    assert triples(problems_of(product(title="\x01 \x01"))) == [("title_missing", ERROR, "title")]


def test_trailing_zero_decimals_are_not_a_price_format_error() -> None:
    assert problems_of(product(price=Decimal("15990.000"))) == []
