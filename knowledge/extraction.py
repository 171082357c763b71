"""Plain text out of the document formats we accept: plain text, Markdown, HTML and PDF.

Text formats must be UTF-8 (a byte-order mark is allowed). PDFs are read with pypdf (pure
Python, no system libraries); scanned PDFs without a text layer fail: there is no OCR.
"""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser
from typing import IO

from django.conf import settings
from pypdf import PdfReader
from pypdf.errors import PdfReadError, PyPdfError

from knowledge.chunking import text_normalize
from knowledge.models import DocumentSource


class ExtractionFailed(Exception):
    """The file cannot be turned into text; `reason` is shown to the user as the failure reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _decoded(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ExtractionFailed(f"The file is not UTF-8 text (invalid byte at position {exc.start}).") from exc


_MD_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^[ \t]*(```|~~~).*$", re.M), ""),  # code fences (the code itself stays)
    (re.compile(r"^[ \t]{0,3}\[[^\]]+\]:[ \t]*\S+.*$", re.M), ""),  # reference link definitions
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),  # images → alt text
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),  # links → their text
    (re.compile(r"\[([^\]]+)\]\[[^\]]*\]"), r"\1"),  # reference links → their text
    (re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+(.*?)[ \t]*#*[ \t]*$", re.M), r"\1"),  # ATX headings
    (re.compile(r"^[ \t]{0,3}(=+|-+)[ \t]*$", re.M), ""),  # setext underlines and rules
    (re.compile(r"^[ \t]{0,3}([*_-][ \t]*){3,}$", re.M), ""),  # thematic breaks
    (re.compile(r"^[ \t]{0,3}>[ \t]?", re.M), ""),  # block quotes
    (re.compile(r"^([ \t]*)([*+-]|\d{1,9}[.)])[ \t]+", re.M), r"\1"),  # list markers
    (re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1"), r"\2"),  # strong
    (re.compile(r"(?<![\w*])([*_])(?=\S)(.+?)(?<=\S)\1(?![\w*])"), r"\2"),  # emphasis
    (re.compile(r"~~(.+?)~~"), r"\1"),  # strikethrough
    (re.compile(r"`([^`]*)`"), r"\1"),  # inline code
    (re.compile(r"<[^>\n]+>"), ""),  # inline HTML tags
    (re.compile(r"^[ \t]*\|?([ \t]*:?-+:?[ \t]*\|)+[ \t]*:?-*:?[ \t]*$", re.M), ""),  # table separator rows
]


def markdown_to_text(markdown: str) -> str:
    for pattern, replacement in _MD_RULES:
        markdown = pattern.sub(replacement, markdown)
    return markdown.replace("|", " ")


class _HtmlText(HTMLParser):
    _SKIPPED = frozenset({"script", "style", "noscript", "template", "svg", "head"})
    _BLOCKS = frozenset(
        {
            "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "fieldset",
            "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
            "hr", "li", "main", "nav", "ol", "p", "pre", "section", "table", "tr", "ul", "title",
        }
    )  # fmt: skip

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        elif tag in self._SKIPPED:
            self._skipping += 1
        if tag in self._BLOCKS:
            self.parts.append("\n\n")
        elif tag in {"td", "th"}:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag in self._SKIPPED and self._skipping:
            self._skipping -= 1
        if tag in self._BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        elif not self._skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _HtmlText()
    parser.feed(html)
    parser.close()
    # Inline white space (including newlines in the source) is one space, as a browser shows it.
    blocks = ("".join(parser.parts)).split("\n\n")
    return "\n\n".join(" ".join(block.split()) for block in blocks if block.strip())


def pdf_to_text(stream: IO[bytes]) -> str:
    try:
        reader = PdfReader(stream)
        if reader.is_encrypted and not reader.decrypt(""):
            raise ExtractionFailed("The PDF is password-protected.")
        page_count = len(reader.pages)
        if page_count > settings.KNOWLEDGE_MAX_PDF_PAGES:
            raise ExtractionFailed(
                f"The PDF has {page_count} pages; at most {settings.KNOWLEDGE_MAX_PDF_PAGES} are accepted."
            )
        pages: list[str] = []
        size = 0
        for page in reader.pages:
            text = page.extract_text() or ""
            size += len(text)
            if size > settings.KNOWLEDGE_MAX_EXTRACTED_CHARS:
                break  # the caller reports the length
            pages.append(text)
    except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError) as exc:
        # pypdf raises assorted exception types on damaged files.
        raise ExtractionFailed("The file is not a readable PDF.") from exc
    if size > settings.KNOWLEDGE_MAX_EXTRACTED_CHARS:
        raise ExtractionFailed(_too_long_reason())
    text = "\n\n".join(pages)
    if not text.strip():
        raise ExtractionFailed("The PDF has no text layer (scanned pages are not supported: there is no OCR).")
    return text


def _too_long_reason() -> str:
    return f"The extracted text is longer than {settings.KNOWLEDGE_MAX_EXTRACTED_CHARS:,} characters."


def document_text_extract(*, source: str, data: bytes) -> str:
    """The normalized plain text of a file's bytes; raises `ExtractionFailed` with a reason for users."""
    if source == DocumentSource.PDF:
        text = pdf_to_text(io.BytesIO(data))
    elif source == DocumentSource.HTML:
        text = html_to_text(_decoded(data))
    elif source == DocumentSource.MARKDOWN:
        text = markdown_to_text(_decoded(data))
    else:
        text = _decoded(data)
    text = text_normalize(text)
    if len(text) > settings.KNOWLEDGE_MAX_EXTRACTED_CHARS:
        raise ExtractionFailed(_too_long_reason())
    if not text:
        raise ExtractionFailed("The document contains no text.")
    return text
