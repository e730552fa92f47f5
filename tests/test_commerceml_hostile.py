"""A hostile or broken 1C exchange set (``catalog: {source: commerceml}``) is refused with one
clear error naming the file, and nothing else happens: no entity is expanded, no local file or
DTD is read, no product comes out of a file that cannot be trusted whole, and the CLI publishes
no feed (a feed published before stays byte-identical)."""

from __future__ import annotations

import gc
import re
import shutil
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from omnisync.cli import app
from omnisync.config import load_config
from omnisync.errors import ConfigError, SourceError
from omnisync.models import Problem, Product
from omnisync.sources.registry import make_source

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
SECRET = "root-secret-line-5f2c"
ITEM = {"import.xml": "<Товар>", "offers.xml": "<Предложение>"}
runner = CliRunner()


def exchange(tmp_path: Path, price_type: str = "Розничная") -> Path:
    """The demo exchange set, locations and reviews copied into tmp_path, with a config like
    configs/demo-1c.yaml whose output_dir (out/) and state are in tmp_path."""
    shutil.copytree(CONFIGS / "demo" / "1c", tmp_path / "demo" / "1c")
    for name in ("locations.csv", "reviews.csv"):
        shutil.copy(CONFIGS / "demo" / name, tmp_path / "demo" / name)
    data = yaml.safe_load((CONFIGS / "demo-1c.yaml").read_text(encoding="utf-8"))
    data.update(output_dir="out", state="state.db")
    data["catalog"]["price_type"] = price_type
    config = tmp_path / "demo-1c.yaml"
    config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return config


def valid(name: str) -> str:
    return (CONFIGS / "demo" / "1c" / name).read_text(encoding="utf-8")


def with_doctype(name: str, doctype: str, entity: str) -> str:
    """The valid file with ``doctype`` after its XML declaration and ``&entity;`` in every
    Наименование and Описание (so an expanded entity would reach titles and descriptions)."""
    declaration, _, rest = valid(name).partition("\n")
    for tag in ("<Наименование>", "<Описание>"):
        rest = rest.replace(tag, f"{tag}&{entity};")
    return f"{declaration}\n{doctype}\n{rest}"


def billion_laughs(name: str) -> str:
    entities = ['<!ENTITY l0 "ha">'] + [
        f'<!ENTITY l{n} "{("&l" + str(n - 1) + ";") * 10}">' for n in range(1, 10)
    ]
    return with_doctype(name, f"<!DOCTYPE КоммерческаяИнформация [{''.join(entities)}]>", "l9")


def secret_entity(name: str, secret: Path) -> str:
    doctype = f'<!DOCTYPE КоммерческаяИнформация [<!ENTITY x SYSTEM "{secret.as_uri()}">]>'
    return with_doctype(name, doctype, "x")


def external_dtd(name: str, dtd: Path) -> str:
    return with_doctype(name, f'<!DOCTYPE КоммерческаяИнформация SYSTEM "{dtd.as_uri()}">', "leak")


def truncated(name: str) -> str:
    """Cut a little way into a Товар / Предложение halfway through the file."""
    text = valid(name)
    return text[: text.index(ITEM[name], len(text) // 2) + 120]


def edited(name: str, pattern: str, new: str) -> str:
    text, found = re.subn(pattern, new, valid(name), count=1)
    assert found == 1, pattern
    return text


def partial(name: str) -> str:
    """СодержитТолькоИзменения="true" on the file's Каталог / ПакетПредложений."""
    flag = "СодержитТолькоИзменения"
    return edited(name, rf'<(Каталог|ПакетПредложений) {flag}="false"', rf'<\1 {flag}="true"')


def secret_files(tmp_path: Path) -> tuple[Path, Path]:
    """A local secret, and a DTD on disk defining an entity holding the same text."""
    secret, dtd = tmp_path / "passwd", tmp_path / "evil.dtd"
    secret.write_text(SECRET, encoding="utf-8")
    dtd.write_text(f'<!ENTITY leak "{SECRET}">', encoding="utf-8")
    return secret, dtd


def read(config: Path) -> tuple[list[Product], list[Problem], SourceError | ConfigError]:
    """Read the catalogue as build does; what came out before the error, and the error."""
    source = make_source(load_config(config))
    products: list[Product] = []
    problems: list[Problem] = []
    with pytest.raises((SourceError, ConfigError)) as caught:
        products.extend(source.read(problems.append))
    return products, problems, caught.value


def refused(tmp_path: Path, name: str, text: str) -> tuple[SourceError, str]:
    """Write ``text`` as the exchange set's ``name`` and read: a SourceError naming the file,
    no product; returns it and everything the read produced, as text (to look for leaks)."""
    config = exchange(tmp_path)
    (tmp_path / "demo" / "1c" / name).write_text(text, encoding="utf-8")
    began = time.monotonic()
    products, problems, error = read(config)
    assert time.monotonic() - began < 30  # a guard against a hang, not a speed claim
    assert isinstance(error, SourceError) and error.file == name, error
    assert str(error).startswith(name)
    assert products == []
    return error, repr((str(error), products, problems))


FILES = pytest.mark.parametrize("name", ["import.xml", "offers.xml"])


@FILES
def test_billion_laughs_is_refused_unexpanded(tmp_path: Path, name: str) -> None:
    """A DOCTYPE with nested entities is refused before any element is used, saying DOCTYPE."""
    error, everything = refused(tmp_path, name, billion_laughs(name))
    assert "DOCTYPE" in str(error)
    assert "haha" not in everything


@FILES
@pytest.mark.parametrize("through", ["entity", "dtd"])
def test_a_local_file_is_never_read(tmp_path: Path, name: str, through: str) -> None:
    """``<!ENTITY x SYSTEM "file:///passwd">``, or ``<!DOCTYPE … SYSTEM "file:///evil.dtd">``
    whose DTD defines an entity, is refused; the secret is in no error, problem or product."""
    secret, dtd = secret_files(tmp_path)
    text = secret_entity(name, secret) if through == "entity" else external_dtd(name, dtd)
    error, everything = refused(tmp_path, name, text)
    assert "DOCTYPE" in str(error)
    assert SECRET not in everything


@FILES
def test_truncated_xml_is_not_well_formed_with_a_line(tmp_path: Path, name: str) -> None:
    """A file cut inside a Товар / Предложение: 'not well-formed' at a line, not a partial
    catalogue. (An offers.xml cut short may yield products first; see the CLI tests.)"""
    config = exchange(tmp_path)
    (tmp_path / "demo" / "1c" / name).write_text(truncated(name), encoding="utf-8")
    _, _, error = read(config)
    assert isinstance(error, SourceError) and error.file == name
    assert "not well-formed" in str(error)
    assert error.line is not None and error.line > 100
    assert str(error).startswith(f"{name}:{error.line}: ")


@FILES
def test_a_partial_export_is_refused(tmp_path: Path, name: str) -> None:
    """СодержитТолькоИзменения="true" would withdraw every item left out: refused, saying so."""
    error, _ = refused(tmp_path, name, partial(name))
    assert "СодержитТолькоИзменения" in str(error) and "whole catalogue" in str(error)


@FILES
def test_commerceml_3_is_refused(tmp_path: Path, name: str) -> None:
    """ВерсияСхемы="3.01" is another format: refused naming the version, not misread."""
    text = edited(name, r'ВерсияСхемы="[^"]*"', 'ВерсияСхемы="3.01"')
    error, _ = refused(tmp_path, name, text)
    assert "3.01" in str(error) and "not supported" in str(error)


def test_a_price_type_offers_xml_lacks_is_a_config_error(tmp_path: Path) -> None:
    """catalog.price_type naming no ТипЦены: a ConfigError on that key listing what there is."""
    products, _, error = read(exchange(tmp_path, price_type="Оптовая"))
    assert isinstance(error, ConfigError) and products == []
    assert [key for key, _ in error.issues] == ["catalog.price_type"]
    message = str(error)
    assert "'Оптовая' is not a ТипЦены in offers.xml" in message
    for existing in ("Розничная", "Акция", "Цена Алматы", "Цена Астана", "Цена Шымкент"):
        assert existing in message


def build(config: Path) -> tuple[int, str, str]:
    result = runner.invoke(app, ["build", "--config", str(config)])
    return result.exit_code, result.stdout, result.stderr


def error_line(stderr: str) -> str:
    lines = stderr.splitlines()
    assert "Traceback" not in stderr and len(lines) == 1, stderr
    assert lines[0].startswith("error: "), stderr
    return lines[0]


def files_in(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


Hostile = Callable[[str, Path], str]
CASES: list[tuple[str, Hostile, str]] = [
    ("import.xml", lambda name, _: billion_laughs(name), "DOCTYPE"),
    ("offers.xml", lambda name, tmp: secret_entity(name, tmp / "passwd"), "DOCTYPE"),
    ("import.xml", lambda name, tmp: external_dtd(name, tmp / "evil.dtd"), "DOCTYPE"),
    ("import.xml", lambda name, _: truncated(name), "not well-formed"),
    ("offers.xml", lambda name, _: truncated(name), "not well-formed"),
    ("offers.xml", lambda name, _: partial(name), "whole catalogue"),
]


@pytest.mark.parametrize(("name", "hostile", "reason"), CASES)
def test_cli_exits_1_naming_the_file_and_writes_no_feed(
    tmp_path: Path, name: str, hostile: Hostile, reason: str
) -> None:
    """`omnisync build` exits 1 with one error line naming the file and why; output_dir gets no
    feed (an offers.xml cut short after some good offers included); no secret is printed."""
    config = exchange(tmp_path)
    secret_files(tmp_path)
    (tmp_path / "demo" / "1c" / name).write_text(hostile(name, tmp_path), encoding="utf-8")
    exit_code, stdout, stderr = build(config)
    assert exit_code == 1, (stdout, stderr)
    line = error_line(stderr)
    assert line.startswith(f"error: {name}") and reason in line
    assert SECRET not in stdout + stderr
    assert files_in(tmp_path / "out") == {}


def test_cli_wrong_price_type_exits_2_and_writes_no_feed(tmp_path: Path) -> None:
    """A price_type offers.xml lacks is a config error (exit 2), also from a real subprocess."""
    config = exchange(tmp_path, price_type="Оптовая")
    exit_code, stdout, stderr = build(config)
    assert exit_code == 2, (stdout, stderr)
    line = error_line(stderr)
    assert "catalog.price_type" in line and "offers.xml" in line
    assert files_in(tmp_path / "out") == {}
    command = [sys.executable, "-m", "omnisync", "build", "--config", str(config)]
    proc = subprocess.run(command, capture_output=True, encoding="utf-8", timeout=120)
    assert proc.returncode == 2 and error_line(proc.stderr) == line


@pytest.mark.parametrize(
    ("name", "hostile"),
    [("import.xml", billion_laughs), ("offers.xml", truncated)],
)
def test_a_published_feed_survives_a_hostile_next_run(
    tmp_path: Path, name: str, hostile: Callable[[str], str]
) -> None:
    """Build from the valid set, then from a hostile one: exit 1, every published file
    byte-identical (no feed replaced by a partial or empty one)."""
    config = exchange(tmp_path)
    exit_code, stdout, stderr = build(config)
    assert exit_code == 0, (stdout, stderr)
    published = files_in(tmp_path / "out")
    assert any(path.endswith(".xml") for path in published), published
    (tmp_path / "demo" / "1c" / name).write_text(hostile(name), encoding="utf-8")
    exit_code, stdout, stderr = build(config)
    assert exit_code == 1, (stdout, stderr)
    assert f"error: {name}" in error_line(stderr)
    assert files_in(tmp_path / "out") == published


@pytest.mark.parametrize("stop", ["wrong price type", "header only"])
def test_a_file_read_is_closed_when_the_read_stops(tmp_path: Path, stop: str) -> None:
    """offers.xml is closed when reading stops part-way (a price_type it lacks raises at
    Предложения; locations() reads the header only), not left to the garbage collector."""
    source = make_source(load_config(exchange(tmp_path, price_type="Оптовая")))
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        if stop == "header only":
            source.locations(lambda _: None)
        else:
            with pytest.raises(ConfigError):
                list(source.read(lambda _: None))
        gc.collect()
    assert [str(w.message) for w in seen if w.category is ResourceWarning] == []
