"""Ranked, language-aware full-text search (knowledge.selectors.knowledge_search)."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from knowledge.indexing import document_index
from knowledge.selectors import knowledge_search
from knowledge.tests.factories import FaqFactory, KnowledgeBaseFactory, text_document


def _indexed(knowledge_base, text, **kwargs):  # type: ignore[no-untyped-def]
    document = text_document(knowledge_base, text, **kwargs)
    return document_index(document_id=document.pk)


@pytest.fixture
def in_a(tenant_a):  # type: ignore[no-untyped-def]
    with schema_context(tenant_a.schema):
        yield


def test_search_english_ranks_the_most_relevant_passage_first(in_a):
    kb = KnowledgeBaseFactory(language="en")
    _indexed(kb, "Our office is in Lisbon. We like coffee.", title="About us")
    returns = _indexed(
        kb,
        "Returning a product is easy: returns are accepted for 30 days and every returned product is refunded.",
        title="Returns policy",
    )
    _indexed(kb, "Shipping takes two days. A product may be returned by post.", title="Shipping")

    hits = knowledge_search(knowledge_base_ids=[kb.pk], query="return products")

    assert hits[0].document_id == returns.pk
    assert len(hits) == 2  # the office page mentions neither word
    assert hits[0].score > hits[1].score > 0
    assert hits[0].search_config == "english"


def test_search_english_stems_words(in_a):
    kb = KnowledgeBaseFactory(language="en")
    document = _indexed(kb, "Refunds are processed by our accounting team.")

    hits = knowledge_search(knowledge_base_ids=[kb.pk], query="refund processing")

    assert [hit.document_id for hit in hits] == [document.pk]


def test_search_faq_question_weighs_more_than_a_passing_mention(in_a):
    kb = KnowledgeBaseFactory(language="en")
    _indexed(kb, "Passwords are stored hashed. Opening hours are 9 to 5. Staff reset the coffee machine daily.")
    faq = FaqFactory(
        knowledge_base=kb, question="How do I reset my password?", answer="Use the link on the login page."
    )

    hits = knowledge_search(knowledge_base_ids=[kb.pk], query="reset password")

    assert (hits[0].kind, hits[0].faq_id) == ("faq", faq.pk)
    assert hits[0].title == "How do I reset my password?"
    assert hits[0].text == "Use the link on the login page."


def test_search_arabic_stems_words(in_a):
    kb = KnowledgeBaseFactory(language="ar")
    faq = FaqFactory(
        knowledge_base=kb,
        question="كيف يمكنني إرجاع المنتجات؟",
        answer="يمكنك إرجاع المنتجات خلال ثلاثين يوما من تاريخ الشراء.",
    )
    _indexed(kb, "نحن نشحن الطلبات إلى جميع المدن خلال يومين.", title="الشحن")

    # "المنتج" (the product) finds "المنتجات" (the products): both stem to منتج.
    hits = knowledge_search(knowledge_base_ids=[kb.pk], query="إرجاع المنتج")

    assert [hit.faq_id for hit in hits] == [faq.pk]
    assert hits[0].search_config == "arabic"
    assert "<mark>المنتجات</mark>" in hits[0].headline


def test_search_arabic_without_stemming_misses_inflected_forms(in_a):
    """The same content in a knowledge base of language "other" (no stemming) does not match:
    the Arabic configuration is what makes the previous test pass."""
    kb = KnowledgeBaseFactory(language="other")
    FaqFactory(knowledge_base=kb, question="كيف يمكنني إرجاع المنتجات؟", answer="خلال ثلاثين يوما.")

    assert knowledge_search(knowledge_base_ids=[kb.pk], query="المنتج") == []


def test_search_each_chunk_is_matched_in_its_own_language(in_a):
    english = KnowledgeBaseFactory(language="en")
    arabic = KnowledgeBaseFactory(language="ar")
    doc_en = _indexed(english, "Deliveries arrive within two days.")
    faq_ar = FaqFactory(knowledge_base=arabic, question="متى يصل الطلب؟", answer="تصل الطلبات خلال يومين.")

    both = [english.pk, arabic.pk]
    assert [hit.document_id for hit in knowledge_search(knowledge_base_ids=both, query="delivery")] == [doc_en.pk]
    assert [hit.faq_id for hit in knowledge_search(knowledge_base_ids=both, query="الطلب")] == [faq_ar.pk]
    assert knowledge_search(knowledge_base_ids=both, query="الطلب", language="en") == []


def test_search_falls_back_to_any_word_when_no_passage_has_all(in_a):
    kb = KnowledgeBaseFactory(language="en")
    document = _indexed(kb, "Invoices are sent by email on the first day of the month.")

    hits = knowledge_search(knowledge_base_ids=[kb.pk], query="When will I get my invoice and a discount?")

    assert [hit.document_id for hit in hits] == [document.pk]


def test_search_websearch_syntax_excludes_words(in_a):
    kb = KnowledgeBaseFactory(language="en")
    tea = _indexed(kb, "Green tea is served all day.", title="Tea")
    _indexed(kb, "Green coffee beans are roasted here.", title="Coffee")

    hits = knowledge_search(knowledge_base_ids=[kb.pk], query="green -coffee")

    assert [hit.document_id for hit in hits] == [tea.pk]


def test_search_headline_escapes_html_and_marks_matches(in_a):
    kb = KnowledgeBaseFactory(language="en")
    _indexed(kb, "If 3 < 4 & <b>bold</b> <script>alert(1)</script>, paste the widget snippet.")

    (hit,) = knowledge_search(knowledge_base_ids=[kb.pk], query="widget")

    assert "<b>" not in hit.headline and "<script" not in hit.headline  # PostgreSQL drops tags
    assert "3 &lt; 4 &amp;" in hit.headline  # the rest is escaped
    assert "<mark>widget</mark>" in hit.headline


def test_search_only_looks_in_the_given_knowledge_bases(in_a):
    kb, other = KnowledgeBaseFactory(), KnowledgeBaseFactory()
    _indexed(other, "Secret roadmap for the penguin project.")

    assert knowledge_search(knowledge_base_ids=[kb.pk], query="penguin") == []
    assert knowledge_search(knowledge_base_ids=["kb_doesnotexist"], query="penguin") == []
    assert knowledge_search(knowledge_base_ids=[], query="penguin") == []
    assert len(knowledge_search(knowledge_base_ids=[other.pk], query="penguin")) == 1


def test_search_limit_caps_the_hits(in_a):
    kb = KnowledgeBaseFactory()
    for n in range(4):
        FaqFactory(knowledge_base=kb, question=f"Parking question {n}", answer="Parking is free.")

    assert len(knowledge_search(knowledge_base_ids=[kb.pk], query="parking", limit=3)) == 3


def test_search_never_sees_another_tenants_knowledge(tenant_a, tenant_b):
    with schema_context(tenant_a.schema):
        kb = KnowledgeBaseFactory(name="Alpha secrets")
        FaqFactory(knowledge_base=kb, question="What is the launch code?", answer="Alpha launch code 1234.")
        assert len(knowledge_search(knowledge_base_ids=[kb.pk], query="launch code")) == 1
    with schema_context(tenant_b.schema):
        assert knowledge_search(knowledge_base_ids=[kb.pk], query="launch code") == []


def test_search_query_count_is_bounded(in_a, django_assert_max_num_queries):
    kb = KnowledgeBaseFactory()
    for n in range(5):
        _indexed(kb, f"Paragraph about topic {n} and the shared subject.")

    with django_assert_max_num_queries(2):
        assert len(knowledge_search(knowledge_base_ids=[kb.pk], query="shared subject")) == 5
