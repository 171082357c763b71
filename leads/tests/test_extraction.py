"""Contact details from free text: English, Arabic, international phone formats, and what is not a lead."""

from __future__ import annotations

import pytest

from leads.extraction import contact_details_extract, email_normalize, phone_normalize


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Hi, my name is john smith and my email is John.Smith@Example.COM",
            {"name": "John Smith", "email": "John.Smith@Example.COM"},
        ),
        (
            "I'm Sarah Connor from Cyberdyne Systems, call me on +44 20 7946 0958 about pricing",
            {"name": "Sarah Connor", "company": "Cyberdyne Systems", "phone": "+44 20 7946 0958", "intent": "pricing"},
        ),
        (
            "This is Maria at Globex. maria@globex.io",
            {"name": "Maria", "company": "Globex", "email": "maria@globex.io"},
        ),
        (
            "I work for Initech; reach me at bill@initech.com",
            {"company": "Initech", "email": "bill@initech.com", "intent": "callback"},
        ),
        ("name: Li Wei, phone: +86 138 0013 8000", {"name": "Li Wei", "phone": "+86 138 0013 8000"}),
        ("My phone is (555) 123-4567.", {"phone": "(555) 123-4567"}),
        ("Call me at 0044 7911 123456 please", {"phone": "0044 7911 123456", "intent": "callback"}),
        ("+971 50 123 4567", {"phone": "+971 50 123 4567"}),
        ("I'd like a demo for 20 people", {"intent": "demo"}),
        (
            "اسمي أحمد علي من شركة النور للتجارة ورقمي ٠٥٠١٢٣٤٥٦٧",
            {"name": "أحمد علي", "company": "النور للتجارة", "phone": "0501234567"},
        ),
        ("أنا مهتم بالأسعار", {"intent": "pricing"}),
        ("أنا سارة، بريدي sara@example.sa", {"name": "سارة", "email": "sara@example.sa"}),
    ],
)
def test_contact_details_extract_finds_what_the_visitor_said(text, expected):
    details = contact_details_extract(text)

    found = {field: getattr(details, field) for field in ("name", "email", "phone", "company", "intent")}
    assert found == {"name": "", "email": "", "phone": "", "company": "", "intent": "", **expected}


@pytest.mark.parametrize(
    "text",
    [
        "I'm interested in your product",
        "Our meeting is 2026-03-02, order 12",
        "What are your opening hours?",
        "It costs 1,000 dollars?",
        "I am Looking for something",
    ],
)
def test_contact_details_extract_invents_no_contact(text):
    details = contact_details_extract(text)

    assert (details.name, details.email, details.phone, details.company) == ("", "", "", "")
    assert not details.has_contact


def test_normalisation_makes_formats_of_one_contact_equal():
    assert email_normalize("  Sam@Example.COM ") == email_normalize("sam@example.com") == "sam@example.com"
    formats = ["+44 20 7946 0958", "0044 (20) 7946-0958", "+44.20.7946.0958", "+٤٤ ٢٠ ٧٩٤٦ ٠٩٥٨"]
    assert {phone_normalize(phone) for phone in formats} == {"+442079460958"}
    assert phone_normalize("(555) 123-4567") == "5551234567"
