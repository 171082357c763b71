"""Reads of knowledge bases, documents and FAQs, storage in use, and ranked full-text search.

All of it runs in the schema the connection is on (the tenant's): callers outside a request use
`tenant_context()`.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank
from django.db import connection
from django.db.models import (
    BigIntegerField,
    BooleanField,
    Count,
    F,
    Func,
    OuterRef,
    QuerySet,
    Subquery,
    Sum,
    TextField,
    Value,
)
from django.db.models.functions import Coalesce, Concat

from knowledge.languages import search_config_for
from knowledge.models import Chunk, Document, Faq, KnowledgeBase
from knowledge.vector_search import (
    nearest_chunks,
    plain_headline,
    query_vector,
    reciprocal_rank_fusion,
    vector_candidates,
)

# Marks around matches in headlines: control characters, stripped from all indexed text, so the
# text can be escaped first and the marks turned into <mark> after.
_START, _STOP = "\x1e", "\x1f"
# ts_rank_cd normalization 1|32: divide by 1 + log(length), then map into [0, 1).
_RANK_NORMALIZATION = 1 | 32
MAX_SEARCH_LIMIT = 50
MAX_QUERY_CHARS = 500


@dataclass(frozen=True)
class SearchHit:
    """One passage that matched: a document chunk or an FAQ."""

    kind: str  # "document" | "faq"
    knowledge_base_id: str
    document_id: str | None
    faq_id: str | None
    title: str  # the document's title, or the FAQ's question
    text: str  # the passage (a document chunk, or the FAQ's answer)
    headline: str  # HTML: the best fragments, escaped, matches wrapped in <mark>
    score: float  # in [0, 1): higher is better; comparable within one search
    position: int  # the chunk's index within its document (0 for FAQs)
    search_config: str  # the PostgreSQL text search configuration used (`english`, `arabic`…)


def _with_counts(knowledge_bases: QuerySet[KnowledgeBase]) -> QuerySet[KnowledgeBase]:
    documents = Document.objects.filter(knowledge_base=OuterRef("pk")).order_by().values("knowledge_base")
    faqs = Faq.objects.filter(knowledge_base=OuterRef("pk")).order_by().values("knowledge_base")
    return knowledge_bases.annotate(
        document_count=Coalesce(Subquery(documents.annotate(n=Count("pk")).values("n")), 0),
        faq_count=Coalesce(Subquery(faqs.annotate(n=Count("pk")).values("n")), 0),
    )


def knowledge_base_list() -> QuerySet[KnowledgeBase]:
    """Every knowledge base, by name, with `document_count` and `faq_count`."""
    return _with_counts(KnowledgeBase.objects.all())


def knowledge_base_get(*, knowledge_base_id: str) -> KnowledgeBase | None:
    return _with_counts(KnowledgeBase.objects.filter(pk=knowledge_base_id)).first()


def document_list(*, knowledge_base: KnowledgeBase, status: str | None = None) -> QuerySet[Document]:
    documents = Document.objects.filter(knowledge_base=knowledge_base).defer("text")
    return documents.filter(status=status) if status else documents


def document_get(*, knowledge_base: KnowledgeBase, document_id: str) -> Document | None:
    return Document.objects.filter(knowledge_base=knowledge_base, pk=document_id).first()


def faq_list(*, knowledge_base: KnowledgeBase) -> QuerySet[Faq]:
    return Faq.objects.filter(knowledge_base=knowledge_base)


def faq_get(*, knowledge_base: KnowledgeBase, faq_id: str) -> Faq | None:
    return Faq.objects.filter(knowledge_base=knowledge_base, pk=faq_id).first()


class _OctetLength(Func):
    function = "OCTET_LENGTH"
    output_field = BigIntegerField()


def knowledge_storage_bytes_used() -> int:
    """Bytes of knowledge kept by the current tenant: original files, extracted text and FAQs."""
    documents = Document.objects.aggregate(total=Coalesce(Sum(F("file_bytes") + F("text_bytes")), 0))["total"]
    faqs = Faq.objects.aggregate(
        total=Coalesce(Sum(_OctetLength("question") + _OctetLength("answer")), 0, output_field=BigIntegerField())
    )["total"]
    return int(documents) + int(faqs)


class _Matches(Func):
    """`vector @@ query` as a boolean expression (Django's lookup would re-wrap a raw tsquery)."""

    template = "(%(expressions)s)"
    arg_joiner = " @@ "
    output_field = BooleanField()


class _RawTsQuery(Func):
    """A tsquery given in tsquery syntax (`'a' | 'b'`), lexemes already normalized."""

    template = "%(expressions)s::tsquery"


def _lexemes(*, config: str, query: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tsvector_to_array(to_tsvector(%s::regconfig, %s))", [config, query])
        row = cursor.fetchone()
    return list(row[0]) if row and row[0] else []


def _any_word_query(lexemes: Iterable[str]) -> str:
    quoted = ("'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'" for lexeme in lexemes)
    return " | ".join(quoted)


def _search_config(
    *, knowledge_base_ids: list[str], config: str, query: str, limit: int
) -> list[tuple[Chunk, float, str]]:
    chunks = Chunk.objects.filter(knowledge_base_id__in=knowledge_base_ids, search_config=config)
    all_words = SearchQuery(query, search_type="websearch", config=config)
    hits = _ranked(chunks, all_words, config=config, limit=limit)
    if hits:
        return hits
    # Nothing has every word (a question in natural language rarely does): any word, ranked.
    lexemes = _lexemes(config=config, query=query)
    if not lexemes:
        return []
    return _ranked(chunks, _RawTsQuery(Value(_any_word_query(lexemes))), config=config, limit=limit)


def _ranked(
    chunks: QuerySet[Chunk], tsquery: SearchQuery | _RawTsQuery, *, config: str, limit: int
) -> list[tuple[Chunk, float, str]]:
    rows = (
        chunks.filter(_Matches(F("search_vector"), tsquery))
        .annotate(
            rank=SearchRank(F("search_vector"), tsquery, cover_density=True, normalization=Value(_RANK_NORMALIZATION)),
            snippet=SearchHeadline(
                Concat("heading", Value("\n"), "text", output_field=TextField()),
                tsquery,
                config=config,
                start_sel=_START,
                stop_sel=_STOP,
                max_words=35,
                min_words=12,
                max_fragments=2,
                fragment_delimiter=" … ",
            ),
        )
        .defer("search_vector")
        .order_by("-rank", "id")[:limit]
    )
    return [(row, float(row.rank), row.snippet) for row in rows]


def _headline_html(snippet: str) -> str:
    return html.escape(snippet).replace(_START, "<mark>").replace(_STOP, "</mark>")


def _hit(chunk: Chunk, snippet: str, config: str, *, score: float) -> SearchHit:
    is_faq = chunk.faq_id is not None
    return SearchHit(
        kind="faq" if is_faq else "document",
        knowledge_base_id=chunk.knowledge_base_id,
        document_id=chunk.document_id,
        faq_id=chunk.faq_id,
        title=chunk.heading,
        text=chunk.text,
        headline=_headline_html(snippet),
        score=round(score, 6),
        position=chunk.position,
        search_config=config,
    )


def knowledge_search(
    *, knowledge_base_ids: Iterable[str], query: str, language: str | None = None, limit: int = 5
) -> list[SearchHit]:
    """The best `limit` passages of the given knowledge bases for `query`, best first.

    Each chunk is matched with the text search configuration it was indexed with (stemming and
    stop words of its language); `language` (`en`, `ar`…) restricts the search to content in that
    language. All words must match (websearch syntax: `"a phrase"`, `or`, `-word`); when no
    passage has them all, passages with any of the words are ranked instead. Unknown knowledge
    base ids match nothing. Queries: one, plus one or two per language present.

    With vector search on (KNOWLEDGE_EMBEDDINGS_PROVIDER) and passages of these knowledge bases
    embedded, the query is embedded too (the provider settings and a check: two queries; one
    `/embeddings` call) and the full-text ranking is fused with the nearest passages by cosine
    similarity (one more query) by reciprocal rank fusion: `score` is then the fused score. A
    provider failure falls back to full-text search alone.
    """
    kb_ids = sorted(set(knowledge_base_ids))
    query = query.strip()[:MAX_QUERY_CHARS]
    limit = max(1, min(limit, MAX_SEARCH_LIMIT))
    if not kb_ids or not query:
        return []
    if language is not None:
        configs = [search_config_for(language)]
    else:
        configs = sorted(
            Chunk.objects.filter(knowledge_base_id__in=kb_ids)
            .values_list("search_config", flat=True)
            .distinct()
            .order_by()
        )
    embedded = query_vector(knowledge_base_ids=kb_ids, query=query, language=language)
    found = _full_text(kb_ids, configs, query, depth=limit if embedded is None else vector_candidates(limit))
    if embedded is None:
        return [_hit(chunk, snippet, config, score=score) for chunk, score, snippet, config in found[:limit]]
    vector, model = embedded
    nearest = nearest_chunks(
        knowledge_base_ids=kb_ids, vector=vector, model=model, configs=configs, limit=vector_candidates(limit)
    )
    return _fused(found, nearest, limit)


def _full_text(kb_ids: list[str], configs: list[str], query: str, *, depth: int) -> list[tuple[Chunk, float, str, str]]:
    found: list[tuple[Chunk, float, str, str]] = []
    for config in configs:
        for chunk, score, snippet in _search_config(knowledge_base_ids=kb_ids, config=config, query=query, limit=depth):
            found.append((chunk, score, snippet, config))
    found.sort(key=lambda item: (-item[1], item[0].pk))
    return found


def _fused(
    found: list[tuple[Chunk, float, str, str]], nearest: list[tuple[Chunk, float]], limit: int
) -> list[SearchHit]:
    """Both rankings merged by reciprocal rank fusion; the score is the fused one."""
    passages = {chunk.pk: (chunk, snippet, config) for chunk, _, snippet, config in found}
    for chunk, _ in nearest:
        passages.setdefault(chunk.pk, (chunk, plain_headline(chunk.text), chunk.search_config))
    fused = reciprocal_rank_fusion([[item[0].pk for item in found], [chunk.pk for chunk, _ in nearest]])
    return [_hit(*passages[chunk_id], score=score) for chunk_id, score in fused[:limit]]
