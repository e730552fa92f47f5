"""The goods of ``import.xml`` by ``Ид``, in a temporary SQLite file: offers may come in any
order, and a million goods must not sit in memory while the offers stream past."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from omnisync.commerceml.parse import Good
from omnisync.keyset import KeySet
from omnisync.models import Problem, Severity
from omnisync.sources.base import ProblemSink


def problem(
    file: str,
    line: int | None,
    code: str,
    field: str,
    message: str,
    severity: Severity = Severity.ERROR,
    sku: str = "",
) -> Problem:
    return Problem(
        code=code,
        message=message,
        severity=severity,
        sku=sku or None,
        field=field,
        file=file,
        line=line,
    )


class Goods:
    """The goods of import.xml by Ид, on disk: offers may come in any order."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path)
        self.db.executescript(
            "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-16000;"
            "CREATE TABLE goods (id TEXT PRIMARY KEY, sku TEXT, line INT, deleted INT, body TEXT)"
        )
        self.offered = KeySet()

    def add(self, good: Good, file: str, on_problem: ProblemSink) -> None:
        sku = good.article or good.id
        if not good.id:
            on_problem(
                problem(file, good.line, "missing_value", "Ид", "Ид: the Товар has none", sku=sku)
            )
            return
        body = json.dumps(_plain(good), ensure_ascii=False)
        row = (good.id, sku, good.line, good.deleted, body)
        if self.db.execute("INSERT OR IGNORE INTO goods VALUES (?,?,?,?,?)", row).rowcount == 0:
            on_problem(
                problem(
                    file,
                    good.line,
                    "duplicate_good",
                    "Ид",
                    f"Ид {good.id} appears twice; the first Товар is kept",
                    sku=sku,
                )
            )
        elif good.deleted:
            on_problem(
                problem(
                    file,
                    good.line,
                    "deleted_item",
                    "Статус",
                    "marked deleted in 1C: left out of every channel",
                    Severity.WARNING,
                    sku,
                )
            )

    def take(self, good_id: str) -> Good | None:
        found = self.db.execute("SELECT body FROM goods WHERE id = ?", (good_id,)).fetchone()
        if found is None:
            return None
        self.offered.add(good_id)
        return Good(**json.loads(found[0]))

    def report_unoffered(self, file: str, on_problem: ProblemSink) -> None:
        """Goods no offer sold: no price, so on no channel — said, never silently."""
        rows = self.db.execute("SELECT id, sku, line FROM goods WHERE NOT deleted")
        for good_id, sku, line in rows:
            if good_id not in self.offered:
                on_problem(
                    problem(
                        file,
                        line,
                        "no_offer",
                        "Предложение",
                        "offers.xml has no offer for it (no price, no stock): left out",
                        Severity.WARNING,
                        sku,
                    )
                )

    def close(self) -> None:
        self.db.close()


def _plain(good: Good) -> dict[str, Any]:
    return {name: getattr(good, name) for name in Good.__dataclass_fields__}
