"""Benchmark 7: outgoing webhook fan-out, publish → received, through a real Celery worker.

1,000 events published at a steady rate (50/s) to a tenant with 10 enabled endpoints, each a
healthy local receiver (its own HTTP server on 127.0.0.1, all ten in one process of their own,
bench/webhook_receivers.py): 10,000 signed
deliveries. End-to-end latency is the receipt time of each delivery minus the moment its event
was published (the call that caused it returned); the target is p95 < 2 s.

Each row starts its own Celery worker (prefork, 2 processes per CPU by default: the tasks mostly
wait on receivers). In the same run:
- ours: one attempt task per event, POSTing to its endpoints concurrently (webhooks.sending);
- before: the same worker with WEBHOOK_DELIVERY_BATCH=1, one task per delivery — the design
  that measured p95 ≈ 170 s (a fifth of the events, to keep the run short);
- floor: the same signed bodies POSTed one after another from one thread, with no database,
  broker or worker in between.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection
from django.test import override_settings
from django_tenants.utils import schema_context

from audit.services import Actor
from bench.report import fmt_ratio, fmt_seconds, summary, table, verdict
from bench.webhook_receivers import receivers_serve
from tenants.services import tenant_provision
from webhooks.events import webhook_event_publish
from webhooks.models import DeliveryStatus, EventType, WebhookDelivery, WebhookEvent
from webhooks.network import webhook_post, webhook_url_check
from webhooks.sending import webhook_payload
from webhooks.services import webhook_endpoint_create
from webhooks.signing import webhook_signed_headers

ROOT = Path(__file__).resolve().parent.parent
TARGET_P95_S = 2.0
PUBLISHERS = 4  # threads publishing on one schedule: one slow publish does not hold up the next
WORKER_LOG = ROOT / "bench" / "results" / "webhooks-worker.log"
ACTOR = Actor.system("bench")


class Receivers:
    """The receivers' process (bench/webhook_receivers.py) and its pipe."""

    def __init__(self, count: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=receivers_serve, args=(count, child), daemon=True)
        self.process.start()
        self.ports: list[int] = self.conn.recv()

    def ask(self, command: str) -> Any:
        self.conn.send(command)
        return self.conn.recv()

    def count(self) -> int:
        return int(self.ask("count"))

    def clear(self) -> None:
        self.ask("clear")

    def snapshot(self) -> list[tuple[tuple[str, str], float]]:
        return [(tuple(key), at) for key, at in self.ask("receipts")]  # type: ignore[misc]

    def stop(self) -> None:
        self.conn.send("stop")
        self.process.join(timeout=10)


def _worker(concurrency: int, batch: int, catch_up: int) -> subprocess.Popen[bytes]:
    """The Procfile's worker shape: prefork with `concurrency` processes; each POSTs a task's
    deliveries on WEBHOOK_SEND_CONCURRENCY threads (webhooks.sending). `batch` is
    WEBHOOK_DELIVERY_BATCH and `catch_up` WEBHOOK_DELIVERY_CATCH_UP: 1 and 0 make one task per
    delivery, the design before batching."""
    env = {
        **os.environ,
        "WEBHOOKS_ALLOW_PRIVATE_TARGETS": "true",
        "WEBHOOKS_ALLOW_HTTP": "true",
        "WEBHOOK_DELIVERY_BATCH": str(batch),
        "WEBHOOK_DELIVERY_CATCH_UP": str(catch_up),
        "LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "celery", "-A", "config.celery", "worker", "--pool=prefork"]
    command += [f"--concurrency={concurrency}", "--without-gossip", "--without-mingle", "-l", "WARNING"]
    WORKER_LOG.parent.mkdir(parents=True, exist_ok=True)
    # A file, not a pipe: a pipe nobody reads blocks the worker once full. Popen keeps its own copy.
    with WORKER_LOG.open("wb") as log:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)


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


def _publish_lane(
    tenant: Any,
    published_at: dict[str, float],
    lock: threading.Lock,
    *,
    events: int,
    rate: float,
    started: float,
    lane: int,
) -> None:
    """Publish events lane, lane + PUBLISHERS, … each at its slot of the steady schedule, as
    several web processes would; the moment each call returned is its publish time."""
    try:
        for n in range(lane, events, PUBLISHERS):
            time.sleep(max(0.0, started + n / rate - time.time()))
            event = webhook_event_publish(tenant=tenant, event_type=EventType.LEAD_CREATED, data={"lead": {"n": n}})
            assert event is not None
            with lock:
                published_at[event.pk] = time.time()
    finally:
        connection.close()  # this thread's own connection


def _require_alive(worker: subprocess.Popen[bytes]) -> None:
    if worker.poll() is not None:
        tail = WORKER_LOG.read_bytes()[-2000:].decode(errors="replace")
        raise RuntimeError(f"the Celery worker exited with {worker.returncode} (log {WORKER_LOG}): {tail}")


def _fanout(
    tenant: Any,
    receipts: Receivers,
    *,
    events: int,
    endpoints: int,
    rate: float,
    concurrency: int,
    batch: int,
    catch_up: int,
) -> dict[str, Any]:
    """Publish `events` at `rate` with a fresh worker; publish → received latency of every delivery."""
    receipts.clear()
    worker = _worker(concurrency, batch, catch_up)
    # The publisher splits an event's deliveries into tasks: it must use the worker's batch size.
    batching = override_settings(WEBHOOK_DELIVERY_BATCH=batch)
    batching.enable()
    try:
        time.sleep(3)  # let the worker connect to the broker
        published_at: dict[str, float] = {}
        started = time.time()
        lock = threading.Lock()
        publishers = [
            threading.Thread(
                target=_publish_lane,
                args=(tenant, published_at, lock),
                kwargs={"events": events, "rate": rate, "started": started, "lane": lane},
            )
            for lane in range(PUBLISHERS)
        ]
        for publisher in publishers:
            publisher.start()
        for publisher in publishers:
            publisher.join()
        published = time.time()
        expected = events * endpoints
        deadline = time.time() + 300
        while receipts.count() < expected and time.time() < deadline:
            _require_alive(worker)
            time.sleep(0.2)
        finished = time.time()
    finally:
        batching.disable()
        os.kill(worker.pid, signal.SIGTERM)
        worker.wait(timeout=60)
    latencies = [at - published_at[msg_id] for (msg_id, _), at in receipts.snapshot() if msg_id in published_at]
    return {
        "events": events,
        "batch": batch,
        "delivered": len(latencies),
        "expected": expected,
        "published_per_s": events / (published - started),
        "deliveries_per_s": len(latencies) / (finished - started),
        "e2e": summary(latencies) if latencies else {"n": 0, "p50": 0.0, "p95": float("inf"), "max": 0.0, "mean": 0.0},
    }


def run(
    *, events: int = 1000, endpoints: int = 10, rate: float = 50.0, concurrency: int | None = None
) -> tuple[dict, str]:
    concurrency = concurrency or 2 * (os.cpu_count() or 1)
    batch = int(settings.WEBHOOK_DELIVERY_BATCH)
    before_events = max(1, events // 5)
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    settings.WEBHOOKS_ALLOW_HTTP = True
    tenant = tenant_provision(
        slug="bench-hooks", name="Bench Hooks", owner_email="owner@bench-hooks.test", owner_password=None,
        plan_code="professional", actor=ACTOR,
    ).tenant  # fmt: skip
    receipts = Receivers(endpoints)
    urls = [f"http://127.0.0.1:{port}/hook/{n}" for n, port in enumerate(receipts.ports)]
    secrets = [
        webhook_endpoint_create(tenant=tenant, url=url, event_types=[EventType.LEAD_CREATED], actor=ACTOR).secret
        for url in urls
    ]
    common = {"endpoints": endpoints, "rate": rate, "concurrency": concurrency}
    catch_up = int(settings.WEBHOOK_DELIVERY_CATCH_UP)
    ours = _fanout(tenant, receipts, events=events, batch=batch, catch_up=catch_up, **common)
    with schema_context(tenant.schema_name):
        failed = WebhookDelivery.objects.exclude(status=DeliveryStatus.SUCCEEDED).count()
    before = _fanout(tenant, receipts, events=before_events, batch=1, catch_up=0, **common)
    with schema_context(tenant.schema_name):
        sample = list(WebhookEvent.objects.order_by("created_at")[: min(events, 1000)])
        bodies = [(event.pk, webhook_payload(tenant=tenant, event=event)) for event in sample]
    baseline = _direct_post_loop(urls, bodies, secrets[0])
    receipts.stop()

    direct = summary(baseline)
    direct_rate = len(baseline) / sum(baseline)
    p95_ratio = before["e2e"]["p95"] / ours["e2e"]["p95"] if ours["e2e"]["p95"] else None
    result = {
        "events": events,
        "endpoints": endpoints,
        "publish_rate_per_s": rate,
        "worker_processes": concurrency,
        "send_threads_per_process": settings.WEBHOOK_SEND_CONCURRENCY,
        "catch_up": catch_up,
        "ours": ours,
        "not_succeeded": failed,
        "one_task_per_delivery": before,
        "p95_ratio_before_over_ours": p95_ratio,
        "direct_post": direct,
        "direct_posts_per_s": direct_rate,
        "target_p95_s": TARGET_P95_S,
    }

    def row(label: str, phase: dict[str, Any], target: str) -> list[str]:
        e2e = phase["e2e"]
        return [
            f"{label} ({phase['delivered']}/{phase['expected']} delivered)",
            f"{phase['published_per_s']:.0f}/s",
            fmt_seconds(e2e["p50"]),
            fmt_seconds(e2e["p95"]),
            fmt_seconds(e2e["max"]),
            f"{phase['deliveries_per_s']:.0f}/s",
            target,
        ]

    rows = [
        row(f"ours: a task per event, + ≤ {catch_up} due", ours, verdict(ours["e2e"]["p95"], target=TARGET_P95_S)),
        row("before: one task per delivery", before, ""),
        [
            "floor: direct POST loop, one thread",
            "-",
            fmt_seconds(direct["p50"]),
            fmt_seconds(direct["p95"]),
            fmt_seconds(direct["max"]),
            f"{direct_rate:.0f}/s",
            "",
        ],
    ]
    notes = [
        f"{events} events ({before_events} for 'before') at {rate:.0f}/s asked to {endpoints} local receivers; "
        f"one Celery worker per row, prefork, {concurrency} processes, each POSTing a task's deliveries on "
        f"{settings.WEBHOOK_SEND_CONCURRENCY} threads. 'published' is the rate the bench achieved.",
        f"p95 publish → received: before ÷ ours = {fmt_ratio(p95_ratio)}; ours "
        f"{fmt_seconds(ours['e2e']['p95'])} (target < {fmt_seconds(TARGET_P95_S)}); "
        f"{failed} of ours not succeeded.",
    ]
    text = table(
        "7. Webhook fan-out: publish → received (p95 target < 2 s)",
        ["path", "published", "p50", "p95", "max", "delivered", "target"],
        rows,
        notes,
    )
    return result, text
