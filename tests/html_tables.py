"""Read a generated page back as data: each ``<section id=...>``'s table rows and links.

``tables(html)`` -> ``{section id: [[cell text, ...], ...]}`` (body rows only, in order);
``links(html)`` -> ``{section id: [href, ...]}``. Uses the standard library's HTML
parser, which decodes entities: a cell reads exactly as a person sees it.
"""

from __future__ import annotations

from html.parser import HTMLParser


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.section = ""
        self.in_body = False
        self.cell: list[str] | None = None
        self.row: list[str] | None = None
        self.tables: dict[str, list[list[str]]] = {}
        self.links: dict[str, list[str]] = {}

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "section":
            self.section = attributes.get("id") or ""
        elif tag == "tbody":
            self.in_body = True
        elif tag == "tr" and self.in_body:
            self.row = []
        elif tag in ("td", "th") and self.row is not None:
            self.cell = []
        elif tag == "a" and "href" in attributes:
            self.links.setdefault(self.section, []).append(attributes["href"])

    def handle_endtag(self, tag):
        if tag == "tbody":
            self.in_body = False
        elif tag in ("td", "th") and self.cell is not None and self.row is not None:
            self.row.append("".join(self.cell).strip())
            self.cell = None
        elif tag == "tr" and self.row is not None:
            self.tables.setdefault(self.section, []).append(self.row)
            self.row = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def _read(html: str) -> _Reader:
    reader = _Reader()
    reader.feed(html)
    reader.close()
    return reader


def tables(html: str) -> dict[str, list[list[str]]]:
    return _read(html).tables


def links(html: str) -> dict[str, list[str]]:
    return _read(html).links
