"""A deterministic fake OpenAI-compatible `/embeddings` endpoint (pytest-httpserver) for vector search tests.

A text's vector counts its words per concept (synonyms share a concept, e.g. "refund", "money
back" and "reimbursement"), plus a small constant so that no vector is zero: texts about the same
thing in different words are close, which full-text search cannot see.
"""

from __future__ import annotations

import json
import math

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from conversations.services import provider_settings_update
from knowledge.tests.factories import ACTOR

API_KEY = "sk-embed-0123456789wxyz"
MODEL = "fake-embedding-model"
CONCEPTS = (
    ("refund", "money back", "reimburse"),
    ("delivery", "shipping", "parcel", "courier"),
    ("password", "login", "credentials"),
    ("opening hours", "open from", "closed on"),
)
DIMENSIONS = len(CONCEPTS) + 1


def concept_vector(text: str) -> list[float]:
    lowered = text.lower()
    return [float(sum(lowered.count(word) for word in words)) for words in CONCEPTS] + [0.1]


def unit(vector: list[float]) -> list[float]:
    norm = math.sqrt(sum(x * x for x in vector))
    return [x / norm for x in vector]


def _embeddings(request: Request) -> Response:
    body = json.loads(request.get_data())
    texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
    length = body.get("dimensions") or DIMENSIONS
    data = [
        {"object": "embedding", "index": i, "embedding": concept_vector(text)[:length]} for i, text in enumerate(texts)
    ]
    answer = {"object": "list", "data": data, "model": body["model"], "usage": {"prompt_tokens": 1, "total_tokens": 1}}
    return Response(json.dumps(answer), status=200, content_type="application/json")


def fake_embeddings_serve(httpserver: HTTPServer) -> None:
    """Answer every `/v1/embeddings` request with concept vectors."""
    httpserver.expect_request("/v1/embeddings", method="POST").respond_with_handler(_embeddings)


def provider_point_at(httpserver: HTTPServer, *, retries: int = 0, timeout: int = 5) -> None:
    """The current tenant's model provider settings, aimed at the fake server."""
    provider_settings_update(
        base_url=httpserver.url_for("/v1"),
        default_model="fake-chat-model",
        timeout_seconds=timeout,
        max_retries=retries,
        api_key=API_KEY,
        actor=ACTOR,
    )
