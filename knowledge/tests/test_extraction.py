from __future__ import annotations

import pytest

from knowledge.extraction import ExtractionFailed, document_text_extract
from knowledge.models import DocumentSource
from knowledge.tests.factories import pdf_bytes


def test_extract_plain_text_strips_the_byte_order_mark():
    assert document_text_extract(source=DocumentSource.TEXT, data="\ufeffHello\r\nthere".encode()) == "Hello\nthere"


def test_extract_text_refuses_bytes_that_are_not_utf8():
    with pytest.raises(ExtractionFailed, match="not UTF-8"):
        document_text_extract(source=DocumentSource.TEXT, data="café".encode("latin-1"))


def test_extract_markdown_keeps_the_words_and_drops_the_syntax():
    markdown = b"# Returns #\n\nSend it **back** within _30 days_ ([form](https://x.test/f)).\n\n- one\n- two\n"

    text = document_text_extract(source=DocumentSource.MARKDOWN, data=markdown)

    assert text == "Returns\n\nSend it back within 30 days (form).\n\none\ntwo"


def test_extract_html_skips_scripts_and_styles_and_unescapes_entities():
    html = (
        b"<html><head><title>Ignored</title><style>p{}</style></head><body>"
        b"<h1>Fish &amp; chips</h1><p>Served\n   hot.</p><script>alert(1)</script><ul><li>Salt</li></ul></body></html>"
    )

    assert document_text_extract(source=DocumentSource.HTML, data=html) == "Fish & chips\n\nServed hot.\n\nSalt"


def test_extract_pdf_reads_every_page():
    data = pdf_bytes([["Refunds are issued within 14 days."], ["Page two (the end)."]])

    text = document_text_extract(source=DocumentSource.PDF, data=data)

    assert "Refunds are issued within 14 days." in text
    assert "Page two (the end)." in text


def test_extract_pdf_refuses_a_damaged_file():
    with pytest.raises(ExtractionFailed, match="not a readable PDF"):
        document_text_extract(source=DocumentSource.PDF, data=b"%PDF-1.4\nthis is not a pdf at all")


def test_extract_pdf_without_text_layer_fails_with_a_reason():
    with pytest.raises(ExtractionFailed, match="no text layer"):
        document_text_extract(source=DocumentSource.PDF, data=pdf_bytes([[]]))


def test_extract_pdf_refuses_more_pages_than_allowed(settings):
    settings.KNOWLEDGE_MAX_PDF_PAGES = 2

    with pytest.raises(ExtractionFailed, match="3 pages; at most 2"):
        document_text_extract(source=DocumentSource.PDF, data=pdf_bytes([["a"], ["b"], ["c"]]))


def test_extract_refuses_text_longer_than_the_limit(settings):
    settings.KNOWLEDGE_MAX_EXTRACTED_CHARS = 10

    with pytest.raises(ExtractionFailed, match="longer than 10 characters"):
        document_text_extract(source=DocumentSource.TEXT, data=b"more than ten characters")
