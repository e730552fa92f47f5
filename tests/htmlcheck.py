"""An independent check of the HTML omnisync writes for Google and Satu: allowed tags only,
no attributes (which covers on*= JavaScript), balanced. A test oracle, written apart from
``omnisync.markup`` (lxml) with the standard library's parser, so one cannot hide the other's
mistakes; omnisync itself never needs it (its writers emit clean markup by construction)."""

from __future__ import annotations

from html.parser import HTMLParser


class _TagChecker(HTMLParser):
    def __init__(self, allowed: frozenset[str]) -> None:
        super().__init__(convert_charrefs=True)
        self.allowed, self.open, self.problems = allowed, list[str](), list[str]()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.allowed:
            self.problems.append(f"tag <{tag}> is not allowed")
        elif attrs:
            self.problems.append(f"tag <{tag}> must not have attributes")
        if tag != "br":
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag("br" if tag == "br" else tag, attrs)
        if tag != "br" and self.open:
            self.open.pop()

    def handle_endtag(self, tag: str) -> None:
        if tag == "br":
            return
        if not self.open or self.open[-1] != tag:
            self.problems.append(f"closing </{tag}> does not match an open tag")
        else:
            self.open.pop()


def html_problems(text: str, allowed: frozenset[str]) -> list[str]:
    """Disallowed tags, attributes (which covers on*= JavaScript) and unbalanced markup."""
    if "<" not in text:
        return []
    checker = _TagChecker(allowed)
    checker.feed(text)
    checker.close()
    problems = checker.problems
    if checker.open:
        problems.append(f"<{checker.open[-1]}> is never closed")
    return problems
