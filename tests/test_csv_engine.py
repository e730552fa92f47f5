"""The engine's CSV reader (csvshape + CsvTable's engine body) against the csv module's, the
reference: the same rows, the same lines, the same problems, for any file. A file the engine
cannot read exactly is left to the csv module whole."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omnisync.models import Problem
from omnisync.sources import csvengine, csvshape
from omnisync.sources.csvrows import CsvTable

HEADER = b"sku,title,price\n"


def read(path: Path, engine: bool, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, ...]:
    """(rows, problems, whether the engine read the file)."""
    used: list[bool] = []
    frame = csvengine.frame

    def spied(*args: Any) -> Any:
        found = frame(*args) if engine else None
        used.append(found is not None)
        return found

    with monkeypatch.context() as m:
        m.setattr(csvengine, "frame", spied)
        problems: list[Problem] = []
        table = CsvTable(path, required=("sku",))
        rows = [(line, list(cells)) for line, cells in table.rows(problems.append)]
    return rows, [p.as_dict() for p in problems], used == [True]


def both(tmp_path: Path, data: bytes, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, bool]:
    path = tmp_path / "products.csv"
    path.write_bytes(data)
    *engine, used = read(path, True, monkeypatch)
    *reference, _ = read(path, False, monkeypatch)
    assert engine == reference
    return engine, used


def test_a_plain_file_is_read_by_the_engine_with_each_records_first_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = HEADER + b'A,"two\nlines",1\n\nB,"x, ""y""",2\r\nC,plain,3\n'
    (rows, problems), used = both(tmp_path, data, monkeypatch)
    assert used
    assert rows == [
        (2, ["A", "two\nlines", "1"]),
        (5, ["B", 'x, "y"', "2"]),
        (6, ["C", "plain", "3"]),
    ]
    assert problems == []


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (HEADER + b"A,short\n", "a short row"),
        (HEADER + b"A,b,1,extra\n", "a long row"),
        (HEADER + b'A,b"c,1\n', "a quote in an unquoted field"),
        (HEADER + b'A,"b"c,1\n', "text after a closing quote"),
        (HEADER + b"A,b\rc,1\n", "a lone CR"),
        (HEADER + b"A,\xff,1\n", "a byte that is not UTF-8"),
        (HEADER + b'A,"open,1\n', "a quote open at the end"),
        (HEADER + b"   \n", "a line of spaces"),
    ],
)
def test_what_the_csv_module_reports_leaves_the_file_to_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: bytes, why: str
) -> None:
    _, used = both(tmp_path, data, monkeypatch)
    assert not used, why


def test_empty_trailing_header_cells_and_sep_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = b"sep=;\n\nsku;title;price;;\nA;x;1;;\nB;y;2\nC;z;3;;q\n"
    (rows, problems), used = both(tmp_path, data, monkeypatch)
    assert used
    assert [line for line, _ in rows] == [4, 5]
    assert [p["code"] for p in problems] == ["field_count"] and problems[0]["line"] == 6


def test_a_bom_and_windows_line_ends(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = b"\xef\xbb\xbf" + HEADER.replace(b"\n", b"\r\n") + b'A,"x\r\ny",1\r\nB,z,2\r\n'
    (rows, _), used = both(tmp_path, data, monkeypatch)
    assert used and rows == [(2, ["A", "x\r\ny", "1"]), (4, ["B", "z", "2"])]


def test_the_shape_of_a_tab_or_pipe_delimited_file(tmp_path: Path) -> None:
    for delimiter in "\t|;":
        path = tmp_path / "f.csv"
        text = f'a{delimiter}"b{delimiter}c"\n\nx{delimiter}y\n'
        path.write_text(text, encoding="utf-8")
        shape = csvshape.scan(path, delimiter, 0, frozenset({2}))
        assert shape.plain and shape.lines.to_list() == [1, 0, 3]
        assert not csvshape.scan(path, delimiter, 0, frozenset({3})).plain


CELL = st.one_of(
    st.text(alphabet='ab ,"\n\r;é\t', max_size=6),
    st.sampled_from(["", " ", '""', "x,y", 'a"b', "line\nbreak", "\r\n"]),
)


def _field(cell: str, quote: bool) -> str:
    if quote or any(c in cell for c in ',"\n\r'):
        return '"' + cell.replace('"', '""') + '"'
    return cell


@st.composite
def files(draw: st.DrawFn) -> bytes:
    """CSV text as shops write it and as they break it: quoted and multi-line cells, blank
    lines, rows too short or too long, raw quotes and CRs, CR LF line ends."""
    lines = []
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["row", "row", "row", "blank", "raw"]))
        if kind == "blank":
            lines.append("")
        elif kind == "raw":
            lines.append(draw(st.text(alphabet='ab,"\r ', max_size=8)))
        else:
            width = draw(st.sampled_from([3, 3, 3, 2, 4]))
            cells = draw(st.lists(CELL, min_size=width, max_size=width))
            quote = draw(st.booleans())
            lines.append(",".join(_field(c, quote) for c in cells))
    end = draw(st.sampled_from(["\n", "\r\n"]))
    body = end.join(lines) + (end if lines and draw(st.booleans()) else "")
    return HEADER + body.encode("utf-8")


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=files())
def test_any_file_reads_as_the_csv_module_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: bytes
) -> None:
    both(tmp_path, data, monkeypatch)


def test_the_sku_column_alone_reads_as_the_rows_give_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``orders pull`` matches order lines against the catalogue's SKUs: read as one column
    by the engine, stripped as Python strips (U+001C-U+001F too), empty ones left out."""
    from omnisync.sources.csvfile import CsvSource

    path = tmp_path / "products.csv"
    rest = ",1,https://s.kz/p,https://c.kz/i.jpg"
    rows = [" A ,x", '"\x1cB\x1f",y', ",z", "", 'C,"two\nlines"', "A,again"]
    header = "sku,title,price,url,image_url"
    path.write_text("\n".join([header, *(r + rest if r else r for r in rows)]) + "\n")
    with monkeypatch.context() as m:  # no row crosses into Python whole
        m.setattr(CsvTable, "rows", lambda *_: pytest.fail("read row by row"))
        engine = list(CsvSource(path).skus(lambda _: None))
    with monkeypatch.context() as m:
        m.setattr(csvengine, "frame", lambda *_: None)
        reference = list(CsvSource(path).skus(lambda _: None))
    assert engine == reference == ["A", "B", "C", "A"]


def test_rows_of_a_few_skus_leave_the_others_in_the_engine(tmp_path: Path) -> None:
    """``stock_of`` (an order pull's oversell check) wants a few SKUs of a million: the
    engine filters them before any row crosses into Python; the caller still checks."""
    path = tmp_path / "stock.csv"
    path.write_text("sku,location,quantity\nA,W,1\n B\x1c,W,2\nC,W,3\nB,S,4\n")
    table = CsvTable(path, required=("sku",))
    rows = list(table.rows(lambda _: None, only={"B"}))
    assert rows == [(3, [" B\x1c", "W", "2"]), (5, ["B", "S", "4"])]


def test_an_empty_polars_setting_counts_as_unset(tmp_path: Path) -> None:
    """Polars panics on an empty POLARS_CSV_CHUNK_SIZE; a shell that exports it empty must
    not break a run."""
    import subprocess
    import sys

    path = tmp_path / "f.csv"
    path.write_text('sku,title\nA,"x, y"\n')
    code = (
        "import sys; from pathlib import Path; from omnisync.sources import csvshape;"
        "print(csvshape.scan(Path(sys.argv[1]), ',', 1, frozenset({2})).plain)"
    )
    env = {"PATH": "/usr/bin:/bin", "POLARS_CSV_CHUNK_SIZE": "", "POLARS_MAX_THREADS": ""}
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)], env=env, capture_output=True, text=True
    )
    assert done.stdout.strip() == "True", done.stderr[-500:]


def test_a_file_is_scanned_once_while_it_stays_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``orders pull`` reads the SKUs, then a few SKUs' rows: one scan. A file written anew
    is scanned again."""
    path = tmp_path / "products.csv"
    path.write_text("sku,title\nA-1,Kettle\nB-2,Mug\n")
    scans: list[Path] = []
    scan = csvshape.scan
    monkeypatch.setattr(csvshape, "scan", lambda p, *a: scans.append(p) or scan(p, *a))
    table = CsvTable(path)
    assert [cells for _, cells in table.rows(print)] == [["A-1", "Kettle"], ["B-2", "Mug"]]
    assert [cells for _, cells in table.rows(print, only=["B-2"])] == [["B-2", "Mug"]]
    assert len(scans) == 1
    path.write_text("sku,title\nA-1,Kettle\nB-2,Mug\nC-3,Pot\n")
    assert len(list(table.rows(print))) == 3 and len(scans) == 2
