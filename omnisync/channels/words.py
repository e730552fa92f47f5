"""Words people read on the store pages (store displays, pickup boards).

Russian nouns after a number take one of three forms (CLDR plural rules for ``ru``, integers:
https://www.unicode.org/cldr/charts/latest/supplemental/language_plural_rules.html#ru):
``one`` for 1, 21, 101 … but not 11, 111; ``few`` for 2–4, 22–24 … but not 12–14; ``many`` for
the rest (0, 5–20, 25–30 …). Kazakh nouns stay singular after a number (63 тауар), so the
pages' few Kazakh words need no such rule. Times are written on the store's clock.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo


def plural(count: int, one: str, few: str, many: str) -> str:
    """The form of a Russian noun after ``count``: plural(1, "товар", "товара", "товаров")."""
    last_two = abs(count) % 100
    last = last_two % 10
    if last == 1 and last_two != 11:
        return one
    if 2 <= last <= 4 and not 12 <= last_two <= 14:
        return few
    return many


def local_time(moment: datetime, zone: ZoneInfo, offset: bool = True) -> str:
    """A moment on a store's clock as people there write it: ``22.11.2026 15:00 (UTC+5)``.
    The offset says which clock, since the generating machine's is often UTC."""
    here = moment.astimezone(zone)
    text = f"{here:%d.%m.%Y %H:%M}"
    return f"{text} ({utc_offset(here)})" if offset else text


def utc_offset(moment: datetime) -> str:
    """``UTC+5``, ``UTC+5:30``, ``UTC-3``, or ``UTC`` for an aware moment."""
    minutes = round((moment.utcoffset() or timedelta(0)).total_seconds() / 60)
    if minutes == 0:
        return "UTC"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{'+' if minutes > 0 else '-'}{hours}" + (f":{rest:02d}" if rest else "")
