"""Description markup: the HTML that CMSs and 1C export, made into what each channel takes.

A description is parsed once with libxml2's HTML parser (lxml, as a browser would read it:
entities decoded, unclosed and upper-case tags mended) into a neutral stream of events, then
written for a :class:`Profile`: the tags a channel keeps, the tags it renames, the rest
unwrapped with their text kept. Nothing that runs survives any profile: script, style, frames,
plug-ins and forms are dropped with their content, and no attribute is ever written (so no
``onclick``, ``style`` or ``javascript:`` link either). Removing such unsafe markup sets
:attr:`Cleaned.unsafe` so the channel can say so.

Text without ``<`` or ``&`` cannot hold markup and is returned as it is, unparsed: most of a
million-item catalogue takes that path.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from lxml import etree

from omnisync.text import xml_safe

# Dropped with everything inside them, and worth a warning: they run code, load other pages
# or take input. Nothing of theirs is text a shopper should read.
UNSAFE = frozenset({
    "script", "style", "iframe", "frame", "frameset", "noframes", "object", "embed", "applet",
    "noscript", "template", "svg", "math", "base", "link", "form", "input", "button", "select",
    "textarea",
})  # fmt: skip
# Dropped silently: page furniture and media a text description cannot show.
_DROPPED = UNSAFE | frozenset({
    "title", "meta", "img", "picture", "video", "audio", "source", "track", "map", "area",
    "param", "canvas",
})  # fmt: skip
# Elements that start and end a line of text; the rest are inline (their text runs on).
BLOCKS = frozenset({
    "address", "article", "aside", "blockquote", "caption", "center", "dd", "details", "dialog",
    "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "h1", "h2", "h3", "h4",
    "h5", "h6", "header", "hgroup", "li", "main", "nav", "ol", "p", "pre", "section", "summary",
    "table", "tbody", "tfoot", "thead", "tr", "ul",
})  # fmt: skip
_CELLS = frozenset({"td", "th"})  # a table row's cells run on, one space apart
_LINE_BREAKS = frozenset({"br", "hr"})
_TRANSPARENT = frozenset({"html", "head", "body"})  # the parser's own document around the text
_SCRIPTS = ("javascript:", "vbscript:", "expression(")  # in a link, or a style's url(...)
_SPACES = re.compile(r"[ \t\n\r\f]+")  # HTML's whitespace; U+00A0 (&nbsp;) is text
_TAG_LIKE = re.compile(r"<(?=[A-Za-z/!?])")  # what a reader of text could take for a tag
# huge_tree lifts libxml2's nesting limit from 256 (past which it silently returns an empty
# document) to 2048; past that the parse fails and the text is kept inert (see _events).
_PARSER = etree.HTMLParser(
    encoding="utf-8", remove_comments=True, remove_pis=True, no_network=True, recover=True,
    huge_tree=True,
)  # fmt: skip

_START, _END, _TEXT, _BREAK = range(4)
Event = tuple[int, str]


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: profiles are constants
class Profile:
    """What a channel takes: ``keep`` tags as they are, ``rename`` others (``b`` → ``strong``);
    any other tag is unwrapped, a block one leaving a line break (``br``) in its place. ``html``
    profiles write escaped HTML; text profiles write plain text with ``br`` as the break."""

    keep: frozenset[str]
    rename: Mapping[str, str] = field(default_factory=dict)
    br: str = "<br>"
    html: bool = True


TEXT = Profile(keep=frozenset(), br="\n", html=False)  # plain text, one line per block


# The warning every channel gives when ``Cleaned.unsafe``: one code, one message.
UNSAFE_CODE = "description_unsafe_removed"
UNSAFE_MESSAGE = "description had scripts, styles, frames or event handlers; they were removed"


class Cleaned(NamedTuple):
    text: str
    unsafe: bool  # script, style, frames, event handlers or script links were removed


def clean(text: str, profile: Profile) -> Cleaned:
    """``text`` (a description, maybe HTML) as ``profile`` takes it."""
    if "<" not in text and "&" not in text:
        return Cleaned(text, False)  # plain text: nothing to parse
    return _clean(text, profile)


@functools.lru_cache(maxsize=64)  # one product's description goes through every channel in turn
def _clean(text: str, profile: Profile) -> Cleaned:
    events, unsafe = _events(text)
    if _blank(events):
        # Only tags, white space and no-break spaces ("<p><br></p>&nbsp;"): nothing a shopper
        # reads, so nothing, and every channel reports the description as missing.
        return Cleaned("", unsafe)
    rendered = _render(events, profile)
    if profile.html and "<" not in rendered:
        # No tag is left ("Tom & Jerry", "цена&nbsp;ниже"): write it as the plain text it is.
        # Whether a channel reads a tagless description as HTML or as text, a bare "&" shows
        # as "&", where "&amp;" would show as written under the text reading. Unless the text
        # itself holds what a reader could take for a tag ("&lt;script&gt;"): that stays escaped.
        plain = html.unescape(rendered)
        if not _TAG_LIKE.search(plain):
            rendered = plain
    return Cleaned(rendered, unsafe)


# Terminal escape sequences (ECMA-48): a CSI (ESC [ or the one-byte 0x9B: parameters,
# intermediates, a final byte, as in "\x1b[31m"), an OSC (ESC ] or 0x9D, up to BEL or ST, or to
# the end when unterminated, as a terminal reads it) and the other ESC sequences ("\x1b(B").
# Dropping the ESC byte alone (xml_safe) would publish the rest: "[31mКРАСНЫЙ[0m".
_ESCAPES = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    r"|(?:\x1b\]|\x9d)[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[ -/]*[0-~]?"
)
# The warning every channel gives when a title's markup or escape sequences were removed.
TITLE_CODE = "title_markup_removed"
TITLE_MESSAGE = (
    "title had HTML markup, entities or terminal escape sequences; it is published as the "
    "plain text they show (scripts and styles removed)"
)


def title(text: str) -> tuple[str, bool]:
    """A title as plain text, and whether anything was removed to make it so. Titles are text
    on every channel: tags are unwrapped, entities decoded, script and style content dropped
    (the TEXT profile, on one line) and terminal escape sequences removed whole. Only a title
    holding "<" or "&" takes the parser; most take neither branch."""
    unescaped = text if text.isprintable() else _ESCAPES.sub("", text)
    changed = unescaped != text
    plain = xml_safe(unescaped)
    if "<" in plain or "&" in plain:
        parsed = _SPACES.sub(" ", clean(plain, TEXT).text).strip()  # one line: blocks too
        changed = changed or parsed != _SPACES.sub(" ", plain).strip()
        plain = parsed
    return plain, changed


def _blank(events: tuple[Event, ...]) -> bool:
    """Whether the events hold no text but white space (str.isspace: U+00A0 included)."""
    return all(kind != _TEXT or not value or value.isspace() for kind, value in events)


def escape(text: str) -> str:
    """Text as HTML element content."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def tagged(cleaned: str) -> bool:
    """Whether a cleaned description holds tags (cutting it would leave them broken). A
    tagless one is plain text and holds nothing a reader could take for a tag (``_clean``)."""
    return _TAG_LIKE.search(cleaned) is not None


# A channel's cut: (text, characters it may keep, its length as written) → the kept text. The
# written length is what the channel's limit is measured against (escaped, for HTML), so the
# warning can state that limit and that length, not the room left for the text before escaping.
Cut = Callable[[str, int, int], str]


def shortened(raw: str, cleaned: str, limit: int, cut: Cut) -> str:
    """``raw``'s text form cut to ``limit`` by ``cut``: as plain text when ``cleaned`` already
    was (``_clean``), else as escaped HTML text (``fit``)."""
    plain = clean(raw, TEXT).text
    if plain == cleaned:
        return cut(plain, limit, len(plain))
    return fit(plain, limit, cut)


def fit(text: str, limit: int, cut: Cut) -> str:
    """Plain ``text`` as HTML of at most ``limit`` characters, shortened by ``cut`` (the
    channel's, which warns) before escaping, so no cut falls inside an ``&amp;``."""
    head = text[:limit]
    growth = len(escape(head)) - len(head)  # no less than escaping the kept part adds
    room = limit - growth
    return escape(cut(text, room, len(escape(text)) if len(text) > room else len(text)))


@functools.lru_cache(maxsize=16)
def _events(text: str) -> tuple[tuple[Event, ...], bool]:
    """The parsed description as (kind, value) events, and whether unsafe markup was dropped."""
    try:
        root = etree.fromstring(("<html><body>" + text).encode("utf-8", "replace"), _PARSER)
    except (etree.LxmlError, ValueError):
        root = None
    if root is None or any(e.level_name == "FATAL" for e in _PARSER.error_log):
        return ((_TEXT, text),), False  # the parser gave up: keep it all as text, inert
    return _read(root)


def _read(root: etree._Element) -> tuple[tuple[Event, ...], bool]:
    """The document's events; lxml's walk, not recursion: a description may nest deeply."""
    events: list[Event] = []
    add = events.append
    unsafe = False
    walker = etree.iterwalk(root, events=("start", "end"))
    for action, el in walker:
        tag = el.tag.lower() if isinstance(el.tag, str) else ""
        written = bool(tag) and tag not in _DROPPED
        if action == "start":
            if not written:
                unsafe = unsafe or tag in UNSAFE
                walker.skip_subtree()  # its "end" still comes, for the tail
                continue
            if len(el.attrib) and not unsafe:
                unsafe = _unsafe_attributes(el)
            if tag in _LINE_BREAKS:
                add((_BREAK, tag))
            elif tag not in _TRANSPARENT:
                add((_START, tag))
            if el.text:
                add((_TEXT, el.text))
        else:
            if written and tag not in _LINE_BREAKS and tag not in _TRANSPARENT:
                add((_END, tag))
            if el.tail:
                add((_TEXT, el.tail))
    return tuple(events), unsafe


def _unsafe_attributes(el: etree._Element) -> bool:
    for name, value in el.items():
        if str(name).lower().startswith("on"):
            return True  # an event handler
        # Browsers skip whitespace and ignore case in a scheme: "Java\tScript:" still runs.
        compact = "".join(str(value).split()).lower()
        if compact.startswith("data:") or any(script in compact for script in _SCRIPTS):
            return True
    return False


Plan = tuple[str | None, bool, bool, str, str]  # written tag, block, cell, opening, closing


@functools.lru_cache(maxsize=512)
def _plan(profile: Profile, tag: str) -> Plan:
    """How ``profile`` writes ``tag``: as which tag (None: unwrapped), and how it breaks lines."""
    written = profile.rename.get(tag, tag)
    kept = written if written in profile.keep else None
    block = tag in BLOCKS or (kept is not None and kept in BLOCKS)
    return kept, block, tag in _CELLS, f"<{kept}>", f"</{kept}>"


def _render(events: tuple[Event, ...], profile: Profile) -> str:
    writer = _Writer(profile)
    handlers = (writer.start, writer.end, writer.text, writer.line_break)  # by event kind
    for kind, value in events:
        handlers[kind](value)
    return writer.result()


class _Writer:
    """Writes events for a profile: balanced tags, collapsed whitespace, no empty elements,
    and a line break (only ever between two pieces of text) where an unwrapped block was.
    Consecutive texts are merged, so only the last part of ``out`` is ever trimmed."""

    __slots__ = ("line", "out", "owed", "profile", "spaced")

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self.out: list[str] = []
        self.line = False  # text was written since the last line boundary
        self.owed = False  # a line break is due before the next text
        self.spaced = True  # the text written last ends with a space (or none was written)

    def result(self) -> str:
        self._trim()
        text = xml_safe("".join(self.out))
        return text if self.profile.html else _TAG_LIKE.sub("< ", text).strip()

    def text(self, value: str) -> None:
        text = _SPACES.sub(" ", value)
        if self.spaced or self.owed or not self.line:
            text = text.lstrip(" ")
        if not text:
            return
        self._pay()
        self.spaced = text.endswith(" ")
        self._add(escape(text) if self.profile.html else text)
        self.line = True

    def line_break(self, _: str) -> None:
        self._trim()
        self.out.append(self.profile.br)
        self.line = self.owed = False

    def start(self, tag: str) -> None:
        written, block, cell, opening, _ = _plan(self.profile, tag)
        if block:
            self._trim()
        if written is None:
            if block:
                self.owed = self.owed or self.line
            elif cell and self.line and not self.owed and not self.spaced:
                self._add(" ")  # one space between a row's cells
                self.spaced = True
            return
        if block:
            self.line = self.owed = False
        else:
            self._pay()
        self.out.append(opening)

    def end(self, tag: str) -> None:
        written, block, _, opening, closing = _plan(self.profile, tag)
        if block:
            self._trim()
        if written is None:
            self.owed = self.owed or (block and self.line)
            return
        if self.out and self.out[-1] == opening:
            self.out.pop()  # nothing inside: leave the element out
        else:
            self.out.append(closing)
        if block:
            self.line = self.owed = False

    def _add(self, text: str) -> None:
        if self.out and self._is_text(self.out[-1]):
            self.out[-1] += text
        else:
            self.out.append(text)

    def _is_text(self, part: str) -> bool:
        return not part.startswith("<") if self.profile.html else part != self.profile.br

    def _pay(self) -> None:
        if self.owed:
            self.out.append(self.profile.br)
            self.line = self.owed = False

    def _trim(self) -> None:
        """No space before a line boundary."""
        self.spaced = True
        if self.out and self.out[-1].endswith(" ") and self._is_text(self.out[-1]):
            kept = self.out.pop().rstrip(" ")
            if kept:
                self.out.append(kept)
