"""Benchmark 7: outgoing webhook fan-out, publish → received, through a real Celery worker.

1,000 events published at a steady rate to a tenant with 10 enabled endpoints, each a healthy
local receiver (its own HTTP server on 127.0.0.1): 10,000 signed deliveries. End-to-end latency
is the receipt time of each delivery minus the moment its event was published (the request that
caused it returned); the target is p95 < 2 s. The baseline, in the same run, is a direct POST
loop: the same signed bodies posted one after another from one thread with no database, broker
or worker in between — the floor for the HTTP part of a delivery.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from django.conf import settings
from django_tenants.utils import schema_context

from audit.services import Actor
from bench.report import fmt_ratio, fmt_seconds, summary, table, verdict
from tenants.services import tenant_provision
from webhooks.deliveries import webhook_payload
from webhooks.events import webhook_event_publish
from webhooks.models import DeliveryStatus, EventType, WebhookDelivery, WebhookEvent
from webhooks.network import webhook_post, webhook_url_check
from webhooks.services import webhook_endpoint_create
from webhooks.signing import webhook_signed_headers

ROOT = Path(__file__).resolve().parent.parent
TARGET_P95_S = 2.0
ACTOR = Actor.system("bench")


class Receipts:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.at: dict[tuple[str, str], float] = {}

    def record(self, msg_id: str, path: str) -> None:
        now = time.time()
        with self.lock:
            self.at.setdefault((msg_id, path), now)

    def count(self) -> int:
        with self.lock:
            return len(self.at)


def _receiver(receipts: Receipts) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real receivers do

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            receipts.record(self.headers.get("webhook-id", ""), self.path)
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _worker(concurrency: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "WEBHOOKS_ALLOW_PRIVATE_TARGETS": "true",
        "WEBHOOKS_ALLOW_HTTP": "true",
        "LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "celery", "-A", "config.celery", "worker", "--pool=threads"]
    command += [f"--concurrency={concurrency}", "--without-gossip", "--without-mingle", "-l", "WARNING"]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _direct_post_loop(urls: list[str], bodies: list[tuple[str, bytes]], secret: str) -> list[float]:
    latencies = []
    for index, (msg_id, body) in enumerate(bodies):
        target = webhook_url_check(urls[index % len(urls)])
        headers = webhook_signed_headers(secrets=[secret], msg_id=msg_id, timestamp=int(time.time()), body=body)
        started = time.perf_counter()
        response = webhook_post(target=target, headers={**headers, "Content-Type": "application/json"}, body=body)
        latencies.append(time.perf_counter() - started)
        assert response.succeeded, response
    return latencies


def run(*, events: int = 1000, endpoints: int = 10, rate: float = 50.0, concurrency: int = 16) -> tuple[dict, str]:
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    settings.WEBHOOKS_ALLOW_HTTP = True
    tenant = tenant_provision(
        slug="bench-hooks", name="Bench Hooks", owner_email="owner@bench-hooks.test", owner_password=None,
        plan_code="professional", actor=ACTOR,
    ).tenant  # fmt: skip
    receipts = Receipts()
    servers = [_receiver(receipts) for _ in range(endpoints)]
    urls = [f"http://127.0.0.1:{server.server_port}/hook/{n}" for n, server in enumerate(servers)]
    secrets = [
        webhook_endpoint_create(tenant=tenant, url=url, event_types=[EventType.LEAD_CREATED], actor=ACTOR).secret
        for url in urls
    ]
    worker = _worker(concurrency)
    try:
        time.sleep(3)  # let the worker connect to the broker
        published_at: dict[str, float] = {}
        started = time.time()
        for n in range(events):
            due = started + n / rate
            time.sleep(max(0.0, due - time.time()))
            event = webhook_event_publish(tenant=tenant, event_type=EventType.LEAD_CREATED, data={"lead": {"n": n}})
            assert event is not None
            published_at[event.pk] = time.time()
        expected = events * endpoints
        deadline = time.time() + 300
        while receipts.count() < expected and time.time() < deadline:
            time.sleep(0.2)
        finished = time.time()
    finally:
        os.kill(worker.pid, signal.SIGTERM)
        worker.wait(timeout=60)
    latencies = [at - published_at[msg_id] for (msg_id, _), at in receipts.at.items() if msg_id in published_at]
    with schema_context(tenant.schema_name):
        failed = WebhookDelivery.objects.exclude(status=DeliveryStatus.SUCCEEDED).count()
        sample = list(WebhookEvent.objects.order_by("created_at")[: min(events, 1000)])
        bodies = [(event.pk, webhook_payload(tenant=tenant, event=event)) for event in sample]
    baseline = _direct_post_loop(urls, bodies, secrets[0])
    for server in servers:
        server.shutdown()

    fanout = summary(latencies) if latencies else {"n": 0, "p50": 0.0, "p95": float("inf"), "max": 0.0, "mean": 0.0}
    fanout_rate = len(latencies) / (finished - started)
    direct = summary(baseline)
    direct_rate = len(baseline) / sum(baseline)
    result = {
        "events": events,
        "endpoints": endpoints,
        "publish_rate_per_s": rate,
        "worker_concurrency": concurrency,
        "delivered": len(latencies),
        "not_succeeded": failed,
        "fanout_e2e": fanout,
        "fanout_deliveries_per_s": fanout_rate,
        "direct_post": direct,
        "direct_posts_per_s": direct_rate,
        "target_p95_s": TARGET_P95_S,
    }
    rows = [
        [
            f"fan-out via Celery ({len(latencies)}/{events * endpoints} delivered)",
            fmt_seconds(fanout["p50"]),
            fmt_seconds(fanout["p95"]),
            fmt_seconds(fanout["max"]),
            f"{fanout_rate:.0f}/s",
            verdict(fanout["p95"], target=TARGET_P95_S),
        ],
        [
            "baseline: direct POST loop",
            fmt_seconds(direct["p50"]),
            fmt_seconds(direct["p95"]),
            fmt_seconds(direct["max"]),
            f"{direct_rate:.0f}/s",
            "",
        ],
    ]
    notes = [
        f"{events} events at {rate:.0f}/s to {endpoints} local receivers; worker: {concurrency} threads.",
        f"Throughput ratio fan-out / direct loop: {fmt_ratio(fanout_rate / direct_rate)}; "
        f"p95 target < {fmt_seconds(TARGET_P95_S)} publish → received.",
    ]
    text = table(
        "7. Webhook fan-out: publish → received (p95 target < 2 s)",
        ["path", "p50", "p95", "max", "throughput", "target"],
        rows,
        notes,
    )
    return result, text
