"""Plain text from the HTML of an e-mail, for people to read and agents to answer: the words
and the line structure, never markup, scripts or styles. Made with the standard library's
tolerant parser, so malformed HTML gives text rather than an error (pure)."""

import re
from html.parser import HTMLParser

# Elements whose content is not text a person wrote.
SKIPPED = frozenset({"script", "style", "head", "title", "template", "noscript", "svg"})
# Elements that start a new line; text inside stays on it.
BLOCKS = frozenset(
    {"p", "div", "br", "tr", "li", "ul", "ol", "table", "blockquote", "pre", "hr"}
    | {"h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "header", "footer"}
)


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in SKIPPED:
            self._skipping.append(tag)
        elif tag in BLOCKS:
            self.parts.append("\n")
            if tag == "li":
                self.parts.append("- ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if self._skipping and tag == self._skipping[-1]:
            self._skipping.pop()
        elif tag in BLOCKS and tag != "li" and not self._skipping:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            # Whitespace in HTML is layout, not content: runs of it are one space.
            self.parts.append(re.sub(r"\s+", " ", data))


def html_to_text(html: str) -> str:
    collector = _TextCollector()
    collector.feed(html)
    collector.close()
    lines = (line.strip() for line in "".join(collector.parts).split("\n"))
    # At most one blank line between paragraphs.
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
