"""Text for the screen: the loading ``html`` subset, word wrapping and truncation (pure).

Deep Chat sets ``loading.html`` as the element's innerHTML. The screen has no browser, so it
renders the html as text with this subset:

* ``<br>`` breaks the line; ``<p>``, ``<div>``, ``<li>`` and headings end a line;
* ``<b>``, ``<strong>`` and ``<h1>``..``<h6>`` are bold;
* every other tag is dropped (its text is kept), ``<script>``/``<style>`` with their content;
* entities (``&amp;``, ``&nbsp;``, ``&#8230;``) are decoded; runs of white space collapse.

An html that leaves no text (e.g. the ``lds-ripple`` example of Deep Chat's docs, which is all
empty ``div``s) shows the screen's own ripple animation instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser

Run = tuple[str, bool]  # (text, bold)
Line = list[Run]

_BLOCK = {"p", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "section"}
_BOLD = {"b", "strong", "h1", "h2", "h3", "h4", "h5", "h6"}
_SKIP = {"script", "style", "head", "title"}


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[Line] = [[]]
        self.bold = 0
        self.skip = 0

    def _newline(self) -> None:
        if self.lines[-1]:
            self.lines.append([])

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.lines.append([])
        elif tag in _SKIP:
            self.skip += 1
        else:
            if tag in _BLOCK:
                self._newline()
            if tag in _BOLD:
                self.bold += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.lines.append([])

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
            return
        if tag in _BOLD:
            self.bold = max(0, self.bold - 1)
        if tag in _BLOCK:
            self._newline()

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        text = re.sub(r"[ \t\r\n\f]+", " ", data.replace("\xa0", "\x00"))
        if not text:
            return
        line = self.lines[-1]
        bold = self.bold > 0
        if line and line[-1][1] == bold:
            line[-1] = (line[-1][0] + text, bold)
        else:
            line.append((text, bold))


def html_lines(html: str) -> list[Line]:
    """The html subset as lines of ``(text, bold)`` runs; empty lines at the ends dropped."""
    parser = _Parser()
    parser.feed(html)
    parser.close()
    lines: list[Line] = []
    for line in parser.lines:
        runs: Line = []
        for i, (text, bold) in enumerate(line):
            if i == 0:
                text = text.lstrip(" ")
            if i == len(line) - 1:
                text = text.rstrip(" ")
            text = text.replace("\x00", " ")
            if text:
                runs.append((text, bold))
        lines.append(runs)
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return lines


def wrap(text: str, width: float, measure: Callable[[str], float], max_lines: int) -> list[str]:
    """Word-wrap ``text`` to ``width`` (``measure`` gives a string's width).

    Words longer than a line are cut; more than ``max_lines`` lines end with an ellipsis.
    """
    words = text.split()
    lines: list[str] = []
    current = ""
    for word in words:
        candidate = f"{current} {word}" if current else word
        if measure(candidate) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        while measure(word) > width and len(word) > 1:  # hard-cut a long word (URL, path)
            cut = len(word)
            while cut > 1 and measure(word[:cut]) > width:
                cut -= 1
            lines.append(word[:cut])
            word = word[cut:]
        current = word
    if current:
        lines.append(current)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = ellipsize(lines[-1] + "…", width, measure)
    return lines


def ellipsize(text: str, width: float, measure: Callable[[str], float]) -> str:
    """``text`` cut to fit ``width``, ending with an ellipsis when it was cut."""
    if measure(text) <= width:
        return text
    base = text.rstrip("…")
    while base and measure(base.rstrip() + "…") > width:
        base = base[:-1]
    return base.rstrip() + "…"
