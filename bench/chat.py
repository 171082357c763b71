"""Benchmark 9: POST /api/v1/chat with the local provider while 100 tenants chat at once.

Seed: `tenants` tenants cloned from the template, each with a knowledge base of FAQs, an active
support agent answering from it (local provider) and an API key (`chat`, huge rate limit).
Load: one gunicorn (2 workers × 4 threads, the production settings module) and one visitor per
tenant, all at once: each visitor sends a message (cycling through questions the FAQs answer,
one it cannot answer, and a greeting) in its own session, waits `think_s` seconds (5: a person
reading the reply and typing the next question), and again, for `seconds`. So every tenant has an
open conversation growing in memory, and the server sees up to `tenants` requests in flight.
Baseline, same visitors and pacing, same server: GET /api/v1/me (authenticated, trivial). The
ratio p95(chat) ÷ p95(baseline) is what the chat path itself costs under the same load.

Target: p95 of the chat below 500 ms.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from http.client import HTTPConnection, HTTPException
from pathlib import Path
from typing import Any

from django.db import connections
from django_tenants.utils import schema_context

from agents.services import agent_create
from apikeys.scopes import Scope
from apikeys.services import api_key_create
from audit.services import Actor
from bench.http_load import Server, Variant, gunicorn_start, wait_until_serving
from bench.provisioning import provision
from bench.report import fmt_ratio, fmt_seconds, summary, table
from knowledge.services import faq_create, knowledge_base_create
from tenants.models import Domain

ACTOR = Actor.system("bench")
HUGE_LIMIT = 10_000_000
TARGET_P95_S = 0.5
FAQS = [
    ("How do I return a product?", "You can return any product within 30 days of delivery from the Orders page."),
    ("What are your opening hours?", "Our support team is available Monday to Friday, 9:00 to 18:00."),
    ("Do you ship internationally?", "Yes, we ship to 40 countries; delivery takes 5 to 10 working days."),
    ("How can I change my password?", "Open Settings, then Security, and choose Change password."),
    ("Which payment methods do you accept?", "Cards, PayPal and bank transfer are accepted."),
]
QUESTIONS = [
    "How can I return a product I bought?",
    "When are you open?",
    "Do you ship to other countries?",
    "Hello",
    "Can I pay with PayPal?",
    "What is the weather like on Mars?",
    "How do I change my password?",
]


def seed_tenant(slug: str) -> dict[str, str]:
    """One chatting tenant: {"host", "secret", "agent"}."""
    provision(slug, owner_password=None, fresh_connection=False)
    domain = Domain.objects.select_related("tenant").get(tenant__slug=slug)
    with schema_context(domain.tenant.schema_name):
        knowledge_base = knowledge_base_create(name="Help centre", language="en", actor=ACTOR)
        for question, answer in FAQS:
            faq_create(knowledge_base=knowledge_base, question=question, answer=answer, actor=ACTOR)
        agent = agent_create(
            name="Support", type="support", status="active", knowledge_base_ids=[knowledge_base.pk], actor=ACTOR
        )
    issued = api_key_create(
        tenant=domain.tenant,
        name="Bench chat",
        scopes=[Scope.CHAT],
        actor=ACTOR,
        granter_scopes=frozenset(Scope),
        rate_limit_per_minute=HUGE_LIMIT,
        rate_limit_burst=HUGE_LIMIT,
    )
    return {"host": domain.domain, "secret": issued.secret, "agent": agent.pk}


def seed(count: int) -> tuple[list[dict[str, str]], float]:
    started = time.perf_counter()
    visitors = [seed_tenant(f"bench-chat-{index:03d}") for index in range(count)]
    connections.close_all()
    return visitors, time.perf_counter() - started


def visit(
    port: int, visitor: dict[str, str], *, chat: bool, seconds: float, think_s: float, offset: float
) -> dict[str, Any]:
    """One visitor's requests for `seconds`: their latencies and any failures."""
    headers = {"Host": visitor["host"], "Authorization": f"Bearer {visitor['secret']}"}
    latencies: list[float] = []
    failures: list[str] = []
    time.sleep(offset)  # visitors arrive spread over one think time, not in lockstep
    deadline = time.perf_counter() + seconds
    turn = 0
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        # A connection per message, as a visitor's browser after seconds of reading: no keep-alive
        # race with gunicorn closing idle connections (its keepalive is 2 s).
        http = HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            if chat:
                body = {"agent": visitor["agent"], "session_id": "visitor", "message": QUESTIONS[turn % len(QUESTIONS)]}
                http.request(
                    "POST",
                    "/api/v1/chat",
                    body=json.dumps(body),
                    headers={**headers, "Content-Type": "application/json"},
                )
            else:
                http.request("GET", "/api/v1/me", headers=headers)
            response = http.getresponse()
            content = response.read()
        except (OSError, HTTPException) as error:
            failures.append(type(error).__name__)
            time.sleep(think_s)
            continue
        finally:
            http.close()
        latencies.append(time.perf_counter() - started)
        if response.status != 200:
            failures.append(f"{response.status} {content[:120]!r}")
        turn += 1
        time.sleep(think_s)
    return {"latencies": latencies, "failures": failures}


def load(
    server: Server, visitors: list[dict[str, str]], *, chat: bool, seconds: float, think_s: float
) -> dict[str, Any]:
    results: list[dict[str, Any]] = [{} for _ in visitors]

    def run(index: int) -> None:
        offset = think_s * index / len(visitors)
        results[index] = visit(server.port, visitors[index], chat=chat, seconds=seconds, think_s=think_s, offset=offset)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(visitors))]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    samples = [value for result in results for value in result["latencies"]]
    failures = [failure for result in results for failure in result["failures"]]
    return {
        **summary(samples),
        "req_per_s": len(samples) / elapsed,
        "failures": len(failures),
        "first_failures": failures[:3],
    }


def run(*, tenants: int = 100, seconds: float = 30, think_s: float = 5.0) -> tuple[dict[str, Any], str]:
    visitors, seed_s = seed(tenants)
    variant = Variant(
        key="chat",
        label="chat",
        path="/api/v1/me",
        host=visitors[0]["host"],
        headers={"Authorization": f"Bearer {visitors[0]['secret']}"},
        settings_module=os.environ["DJANGO_SETTINGS_MODULE"],
    )
    with tempfile.TemporaryDirectory(prefix="bench-chat-") as log_dir:
        server = gunicorn_start("chat", variant.settings_module, Path(log_dir))
        try:
            wait_until_serving(server, variant)
            load(server, visitors[:8], chat=True, seconds=2, think_s=0)  # warm the workers
            baseline = load(server, visitors, chat=False, seconds=seconds, think_s=think_s)
            chat = load(server, visitors, chat=True, seconds=seconds, think_s=think_s)
        finally:
            server.stop()
    result = {
        "tenants": tenants,
        "seconds": seconds,
        "think_s": think_s,
        "seed_s": seed_s,
        "baseline": baseline,
        "chat": chat,
        "p95_ratio": chat["p95"] / baseline["p95"],
        "target_p95_s": TARGET_P95_S,
        "passed": chat["p95"] < TARGET_P95_S and chat["failures"] == 0,
    }
    return result, render(result)


def render(result: dict[str, Any]) -> str:
    rows = [
        [
            label,
            result[key]["n"],
            f"{result[key]['req_per_s']:.1f}",
            fmt_seconds(result[key]["p50"]),
            fmt_seconds(result[key]["p95"]),
            fmt_seconds(result[key]["max"]),
            result[key]["failures"],
        ]
        for key, label in (("baseline", "GET /api/v1/me (baseline)"), ("chat", "POST /api/v1/chat (local provider)"))
    ]
    verdict = "PASS" if result["passed"] else "FAIL"
    notes = [
        f"{result['tenants']} tenants (seeded in {result['seed_s']:.0f} s), one visitor each, all at once, "
        f"{result['think_s']:g} s think time between messages, {result['seconds']:g} s per phase; "
        "gunicorn 2 workers × 4 threads.",
        f"p95 chat ÷ p95 baseline: {fmt_ratio(result['p95_ratio'])}. "
        f"Target p95 < {fmt_seconds(result['target_p95_s'])}: {verdict}.",
    ]
    if result["chat"]["failures"]:
        notes.append(f"chat failures: {result['chat']['first_failures']}")
    return table(
        "9. Chat under 100 concurrent tenants", ["request", "n", "req/s", "p50", "p95", "max", "failed"], rows, notes
    )
