"""Words people read on the store pages (store displays, pickup boards).

Russian nouns after a number take one of three forms (CLDR plural rules for ``ru``, integers:
https://www.unicode.org/cldr/charts/latest/supplemental/language_plural_rules.html#ru):
``one`` for 1, 21, 101 … but not 11, 111; ``few`` for 2–4, 22–24 … but not 12–14; ``many`` for
the rest (0, 5–20, 25–30 …). Kazakh nouns stay singular after a number (63 тауар), so the
pages' few Kazakh words need no such rule.
"""

from __future__ import annotations


def plural(count: int, one: str, few: str, many: str) -> str:
    """The form of a Russian noun after ``count``: plural(1, "товар", "товара", "товаров")."""
    last_two = abs(count) % 100
    last = last_two % 10
    if last == 1 and last_two != 11:
        return one
    if 2 <= last <= 4 and not 12 <= last_two <= 14:
        return few
    return many
