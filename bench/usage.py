"""Benchmark 8: usage metering. Three measurements, each against a baseline of the same run:

- 8a. metered API request vs the same request with metering off (USAGE_METERING_ENABLED):
  GET /api/v1/api-keys?limit=20 with a key, in process (interleaved rounds) and over HTTP (one
  gunicorn per setting, bench/http_load.py). Metering adds one quota script before the view
  and one record script after it. Target: throughput ≥ 0.9× of metering off.
- 8b. ingest: BATCH_PROCESSES processes call `usage_record_many` (batches of INGEST_BATCH
  API-call events with key, latency and outcome, one Redis round trip per batch) as fast as they
  can for --usage-seconds, while this process runs the rollup on the beat's schedule. Target:
  ≥ 10,000 events/s sustained. Baseline, same run: INGEST_PROCESSES processes calling
  `usage_record` (one round trip per event) for BASELINE_SECONDS. The rollup's own throughput
  (events folded per second of rollup) is compared with the ingest rate: ≥ 1× keeps up.
- 8c. rollup lag: for every event, the time from its recording to the commit of the batch that
  folded it in; the rollup keeps up when the backlog is empty after the last scheduled run.
  Target: p99 ≤ 60 s.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from django.conf import settings
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from audit.services import Actor
from bench.api_list import PAGE_SIZE, client_call, in_process, seed, variants
from bench.http_load import over_http
from bench.report import fmt_ratio, fmt_seconds, percentile, summary, table
from bench.usage_ingest import ingest_worker
from billing.models import Limit
from billing.services import tenant_entitlement_override_create
from tenants.models import Tenant

SLUG = "bench-usage"
INGEST_SLUG = "bench-ingest"
INGEST_PROCESSES = 2  # baseline: usage_record, one round trip per event
BASELINE_SECONDS = 10.0
BATCH_PROCESSES = 4  # usage_record_many: several web/worker processes recording at once
INGEST_BATCH = 500
TARGET_THROUGHPUT_RATIO = 0.9
TARGET_EVENTS_PER_S = 10_000
TARGET_LAG_P99_S = 60.0


def _metering(enabled: bool, call: Callable[[], Any]) -> Callable[[], Any]:
    def wrapped() -> None:
        with override_settings(USAGE_METERING_ENABLED=enabled):
            call()

    return wrapped


def metered_vs_off(*, n: int, http_seconds: float) -> dict[str, Any]:
    host, tenant_id, secret = seed(SLUG)
    tenant_entitlement_override_create(
        tenant=Tenant.objects.get(pk=tenant_id),
        limits={Limit.API_CALLS_PER_MONTH: None},  # never stopped by its own quota
        features=[],
        reason="bench",
        actor=Actor.system("bench"),
    )
    ours = variants(host, tenant_id, secret)["ours"]
    off = replace(ours, key="bare", label="metering off", settings_module="bench.metering_off_settings")
    metered = replace(ours, label="metered (quota + record)")
    call = client_call(metered)
    samples = in_process({"metered": _metering(True, call), "off": _metering(False, call)}, n)
    rows = {key: {**summary(values), "req_per_s": len(values) / sum(values)} for key, values in samples.items()}
    result: dict[str, Any] = {
        "in_process": {"rows": rows, "throughput_ratio": rows["metered"]["req_per_s"] / rows["off"]["req_per_s"]},
    }
    if http_seconds > 0:
        result["http"] = over_http({"ours": metered, "bare": off}, seconds=http_seconds)
    return result


def _ingest_processes(tenant: Tenant, *, seconds: float, processes: int, batch: int, queue: Any) -> list[Any]:
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=ingest_worker, args=(tenant.pk, seconds, f"{batch}-{worker}", queue, batch))
        for worker in range(processes)
    ]
    for process in workers:
        process.start()
    return workers


def ingest_baseline(tenant: Tenant, *, seconds: float) -> dict[str, Any]:
    """`usage_record` (one round trip per event) from INGEST_PROCESSES processes, nothing else running."""
    queue = multiprocessing.get_context("spawn").Queue()
    connection.close()
    workers = _ingest_processes(tenant, seconds=seconds, processes=INGEST_PROCESSES, batch=1, queue=queue)
    counts = [queue.get(timeout=60 + seconds) for _ in workers]
    for process in workers:
        process.join(timeout=30)
    return {
        "processes": INGEST_PROCESSES,
        "seconds": seconds,
        "recorded": sum(counts),
        "events_per_s": sum(counts) / seconds,
    }


def ingest_and_lag(*, seconds: float) -> dict[str, Any]:
    from bench.provisioning import provision
    from usage import rollup as rollup_module
    from usage.meters import UsagePeriod
    from usage.selectors import usage_period_total

    provision(INGEST_SLUG, owner_password=None)
    tenant = Tenant.objects.get(slug=INGEST_SLUG)
    baseline = ingest_baseline(tenant, seconds=BASELINE_SECONDS)
    baseline_rollup_started = time.perf_counter()
    baseline_folded = rollup_module.usage_rollup(tenant=tenant).events  # a clean start for the lag
    baseline["rollup_events_per_s"] = baseline_folded / (time.perf_counter() - baseline_rollup_started)
    interval = float(settings.CELERY_BEAT_SCHEDULE["usage-rollup"]["schedule"])
    lags: list[float] = []
    pending: list[float] = []
    original_add, original_batch = rollup_module.aggregates_add, rollup_module._stream_batch

    def add_noting_times(events):  # type: ignore[no-untyped-def]
        events = list(events)
        pending.extend(event.occurred_at.timestamp() for event in events)
        return original_add(events)

    def batch_then_lag(*args):  # type: ignore[no-untyped-def]
        folded = original_batch(*args)  # committed when it returns
        now = time.time()
        lags.extend(now - moment for moment in pending)
        pending.clear()
        return folded

    rollup_module.aggregates_add = add_noting_times  # type: ignore[assignment]
    rollup_module._stream_batch = batch_then_lag  # type: ignore[assignment]
    queue = multiprocessing.get_context("spawn").Queue()
    connection.close()
    rollups: list[dict[str, float]] = []
    try:
        started = time.perf_counter()
        workers = _ingest_processes(tenant, seconds=seconds, processes=BATCH_PROCESSES, batch=INGEST_BATCH, queue=queue)
        next_run = started + interval
        while any(process.is_alive() for process in workers) or len(rollups) == 0:
            time.sleep(max(0.0, next_run - time.perf_counter()))
            began = time.perf_counter()
            folded = rollup_module.usage_rollup(tenant=tenant).events
            rollups.append({"at_s": began - started, "events": folded, "duration_s": time.perf_counter() - began})
            next_run += interval
        counts = [queue.get(timeout=30) for _ in workers]
        for process in workers:
            process.join(timeout=30)
        final = rollup_module.usage_rollup(tenant=tenant).events  # what the next scheduled run would find
    finally:
        rollup_module.aggregates_add, rollup_module._stream_batch = original_add, original_batch
    recorded = sum(counts)
    rollup_events = sum(run["events"] for run in rollups)
    rollup_seconds = sum(run["duration_s"] for run in rollups)
    events_per_s = recorded / seconds
    rollup_per_s = rollup_events / rollup_seconds if rollup_seconds else 0.0
    return {
        "redis_ping_us": _redis_ping_us(),
        "baseline": baseline,
        "seconds": seconds,
        "processes": BATCH_PROCESSES,
        "batch": INGEST_BATCH,
        "recorded": recorded,
        "events_per_s": events_per_s,
        "ratio_vs_single": events_per_s / baseline["events_per_s"] if baseline["events_per_s"] else None,
        "interval_s": interval,
        "rollups": rollups,
        "rollup_events_per_s": rollup_per_s,
        "rollup_over_ingest": rollup_per_s / events_per_s if events_per_s else None,
        "backlog_after_last_run": final,
        "rolled_up_total": usage_period_total(tenant=tenant, meter="api_calls", period=UsagePeriod.of(timezone.now()))
        - baseline["recorded"],
        "lag_p50_s": percentile(lags, 50),
        "lag_p99_s": percentile(lags, 99),
        "lag_max_s": max(lags, default=0.0),
    }


def _redis_ping_us() -> float:
    """Mean PING round trip now: on a busy machine every event's round trip is this slow too."""
    from usage.store import usage_redis

    client = usage_redis()
    started = time.perf_counter()
    for _ in range(200):
        client.ping()
    return (time.perf_counter() - started) / 200 * 1e6


def run(*, n: int = 2000, http_seconds: float = 10.0, ingest_seconds: float = 70.0) -> tuple[dict[str, Any], str]:
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    result = {
        "metered_vs_off": metered_vs_off(n=n, http_seconds=http_seconds),
        "ingest": ingest_and_lag(seconds=ingest_seconds),
    }
    in_proc = result["metered_vs_off"]["in_process"]
    http = result["metered_vs_off"].get("http")
    ingest = result["ingest"]
    ratio = http["throughput_ratio"] if http else in_proc["throughput_ratio"]
    verdicts = {
        "throughput_ratio": ratio >= TARGET_THROUGHPUT_RATIO,
        "ingest_events_per_s": ingest["events_per_s"] >= TARGET_EVENTS_PER_S,
        "rollup_keeps_up": ingest["rolled_up_total"] == ingest["recorded"],
        "lag_p99": ingest["lag_p99_s"] <= TARGET_LAG_P99_S,
    }
    result["verdicts"] = {name: "PASS" if ok else "FAIL" for name, ok in verdicts.items()}
    return result, report(result, n=n)


def report(result: dict[str, Any], *, n: int) -> str:
    verdicts = result["verdicts"]
    rows = result["metered_vs_off"]["in_process"]["rows"]
    http = result["metered_vs_off"].get("http")
    lines = [
        [
            label,
            fmt_seconds(rows[key]["p50"]),
            f"{rows[key]['req_per_s']:.0f}",
            f"{http['rows']['ours' if key == 'metered' else 'bare']['req_per_s']:.0f}" if http else "-",
        ]
        for key, label in (("metered", "metered (quota + record)"), ("off", "USAGE_METERING_ENABLED=false"))
    ]
    ratio_http = (
        f"{http['throughput_ratio']:.2f}× over HTTP "
        f"(rounds {min(http['throughput_ratios']):.2f}–{max(http['throughput_ratios']):.2f}×)"
        if http
        else "HTTP skipped"
    )
    text = table(
        f"8a. Metered API request vs metering off: GET /api/v1/api-keys?limit={PAGE_SIZE} (N={n} each in process)",
        ["variant", "p50 in process", "req/s in process", "req/s over HTTP"],
        lines,
        notes=[
            f"throughput metered/off {result['metered_vs_off']['in_process']['throughput_ratio']:.2f}× in process, "
            f"{ratio_http} (target ≥ {TARGET_THROUGHPUT_RATIO}×) -> {verdicts['throughput_ratio']}",
        ],
    )
    ingest = result["ingest"]
    base = ingest["baseline"]
    text += "\n" + table(
        f"8b/8c. Ingest into Redis ({ingest['seconds']:.0f} s) with the rollup every {ingest['interval_s']:.0f} s",
        ["path", "events recorded", "events/s", "vs single"],
        [
            [
                f"usage_record_many, {ingest['processes']} processes × batches of {ingest['batch']}",
                f"{ingest['recorded']:,}",
                f"{ingest['events_per_s']:,.0f}",
                fmt_ratio(ingest["ratio_vs_single"]),
            ],
            [
                f"baseline: usage_record, {base['processes']} processes, {base['seconds']:.0f} s, no rollup",
                f"{base['recorded']:,}",
                f"{base['events_per_s']:,.0f}",
                "1.0×",
            ],
        ],
        notes=[
            f"ingest {ingest['events_per_s']:,.0f} events/s sustained (target ≥ {TARGET_EVENTS_PER_S:,}) -> "
            f"{verdicts['ingest_events_per_s']}; PING {ingest['redis_ping_us']:.0f} µs during this run "
            "(~40 µs on an idle machine): one round trip per event bounds the baseline, one per batch ours",
            "rollups (events, duration): "
            + "; ".join(f"{r['events']:,} in {r['duration_s']:.1f} s" for r in ingest["rollups"]),
            f"rollup throughput {ingest['rollup_events_per_s']:,.0f} events/s = "
            f"{fmt_ratio(ingest['rollup_over_ingest'])} the ingest rate; rolled up {ingest['rolled_up_total']:,} of "
            f"{ingest['recorded']:,}, backlog after the last run {ingest['backlog_after_last_run']:,} "
            f"-> {verdicts['rollup_keeps_up']}",
            f"lag = batch commit − event time: p50 {fmt_seconds(ingest['lag_p50_s'])}, p99 "
            f"{fmt_seconds(ingest['lag_p99_s'])}, max {fmt_seconds(ingest['lag_max_s'])} "
            f"(target p99 ≤ {TARGET_LAG_P99_S:.0f} s) -> {verdicts['lag_p99']}",
        ],
    )
    return text
