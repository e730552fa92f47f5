"""XML elements built as columns: the bytes ``channels.writers.XmlDocument`` writes for the
same element (its indentation, its escaping — the libxml2 way), one string per row."""

from __future__ import annotations

from collections.abc import Sequence

from omnisync.engine import pl


def escaped(value: pl.Expr) -> pl.Expr:
    """Element content escaped as ``writers.escape_text`` escapes it, in one pass (so an
    entity's "&" is never escaped again)."""
    return value.str.replace_many(["&", "<", ">", "\r"], ["&amp;", "&lt;", "&gt;", "&#13;"])


def leaf(tag: str, value: pl.Expr, depth: int) -> pl.Expr:
    """A text element on its own line at ``depth`` (its line break and indentation first);
    null for an empty value, which a writer leaves out (concatenate with ``ignore_nulls``)."""
    text = pl.concat_str(pl.lit(f"\n{'  ' * depth}<{tag}>"), escaped(value), pl.lit(f"</{tag}>"))
    return pl.when(value != "").then(text)


def element(tag: str, leaves: Sequence[tuple[str, pl.Expr]], depth: int) -> pl.Expr:
    """``<tag>`` at ``depth`` holding one text element per non-empty leaf, in order, each on
    its own line one level deeper: what ``XmlDocument.open``, ``leaves`` and ``close`` write."""
    indent = "\n" + "  " * depth
    parts = [pl.lit(f"{indent}<{tag}>")]
    parts += [leaf(name, value, depth + 1) for name, value in leaves]
    parts.append(pl.lit(f"{indent}</{tag}>"))
    return pl.concat_str(parts, ignore_nulls=True)
