"""Benchmark 6: rate limiting under concurrency, our GCRA script against DRF's SimpleRateThrottle.

200 threads released together by a barrier each ask for one request against a limit of 100:
- ours: `api.ratelimit.rate_limit_hit` with RateLimit(per_minute=1, burst=100) — one atomic Lua
  script in Redis, so exactly 100 are admitted;
- DRF: a `SimpleRateThrottle` with rate "100/hour" on the Redis cache, `allow_request` per thread
  as DRF calls it per request — it reads the history list, decides, then writes it back, so
  concurrent requests that read the same history are all admitted.
Each repeated, the two taking turns, every repetition on a fresh bucket. Then the cost of one
call, single-threaded, both admitting every call (fresh buckets of 100 calls, taking turns).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from django.core.cache import caches
from rest_framework.throttling import SimpleRateThrottle

from api.ratelimit import RateLimit, rate_limit_hit
from bench.report import fmt_seconds, percentile, summary, table

CALLERS = 200
LIMIT = 100
OUR_LIMIT = RateLimit(per_minute=1, burst=LIMIT)  # 100 at once, then one a minute
LATENCY_BUCKETS = 20  # × LIMIT calls per variant for the per-call latency


class BenchThrottle(SimpleRateThrottle):
    """DRF's own throttle as shipped, on its default cache (Redis here), keyed by the fake request's `ident`."""

    scope = "bench"
    rate = f"{LIMIT}/hour"

    def get_cache_key(self, request: Any, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": request.ident}


def ours_call(bucket: str) -> Callable[[], tuple[bool, bool]]:
    def call() -> tuple[bool, bool]:
        decision = rate_limit_hit(subject=bucket, limit=OUR_LIMIT)
        return decision.allowed, decision.degraded

    return call


def drf_call(bucket: str) -> Callable[[], tuple[bool, bool]]:
    request, view = SimpleNamespace(ident=bucket), SimpleNamespace()

    def call() -> tuple[bool, bool]:
        return BenchThrottle().allow_request(request, view), False  # a new throttle per request, as DRF does

    return call


def concurrent_admitted(call: Callable[[], tuple[bool, bool]], callers: int = CALLERS) -> dict[str, Any]:
    """Admitted calls when `callers` threads, each ready and connected, call at the same moment;
    wall = from the barrier's release to the last decision."""
    released: list[float] = []
    barrier = threading.Barrier(callers, action=lambda: released.append(time.perf_counter()))
    outcomes: list[tuple[bool, bool] | None] = [None] * callers
    finished = [0.0] * callers
    errors: list[BaseException] = []

    def caller(index: int) -> None:
        caches["default"].get("bench-warm")  # this thread's cache connection, opened before the start
        try:
            barrier.wait(timeout=30)
            outcomes[index] = call()
            finished[index] = time.perf_counter()
        except BaseException as error:  # reported below; a thread must not die silently
            errors.append(error)

    threads = [threading.Thread(target=caller, args=(index,)) for index in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise RuntimeError(f"{len(errors)} of {callers} callers failed: {errors[0]!r}") from errors[0]
    done = [outcome for outcome in outcomes if outcome is not None]
    return {
        "admitted": sum(allowed for allowed, _ in done),
        "degraded": sum(degraded for _, degraded in done),
        "wall_s": max(finished) - released[0],
    }


def bucket_name(kind: str) -> str:
    return f"bench-{kind}-{uuid.uuid4().hex[:12]}"


def per_call_seconds(factories: dict[str, Callable[[str], Callable[[], tuple[bool, bool]]]]) -> dict[str, list[float]]:
    """Seconds per call, one thread, every call admitted: LIMIT calls per fresh bucket, taking turns."""
    samples: dict[str, list[float]] = {key: [] for key in factories}
    clock = time.perf_counter
    for _ in range(LATENCY_BUCKETS):
        for key, factory in factories.items():
            call = factory(bucket_name(key))
            for _ in range(LIMIT):
                started = clock()
                allowed, _ = call()
                samples[key].append(clock() - started)
                assert allowed, f"{key}: a call within the limit was refused"
    return samples


def run(*, repeats: int = 5) -> tuple[dict[str, Any], str]:
    factories = {"ours": ours_call, "drf": drf_call}
    for key, factory in factories.items():  # warm-up: connection pools, script load; not counted
        concurrent_admitted(factory(bucket_name(key)))
    bursts: dict[str, list[dict[str, Any]]] = {key: [] for key in factories}
    for _ in range(repeats):
        for key, factory in factories.items():
            bursts[key].append(concurrent_admitted(factory(bucket_name(key))))
    latency = per_call_seconds(factories)
    labels = {
        "ours": f"ours: GCRA Lua script, RateLimit(per_minute=1, burst={LIMIT})",
        "drf": f'DRF SimpleRateThrottle "{LIMIT}/hour", Redis cache',
    }
    rows = {
        key: {
            "label": labels[key],
            "admitted": [b["admitted"] for b in bursts[key]],
            "degraded": sum(b["degraded"] for b in bursts[key]),
            "burst_wall": summary([b["wall_s"] for b in bursts[key]]),
            "per_call": summary(latency[key]),
        }
        for key in factories
    }
    ours_exact = all(count == LIMIT for count in rows["ours"]["admitted"]) and rows["ours"]["degraded"] == 0
    over = [count - LIMIT for count in rows["drf"]["admitted"]]
    result = {
        "callers": CALLERS,
        "limit": LIMIT,
        "repeats": repeats,
        "rows": rows,
        "ours_exact": ours_exact,
        "drf_over_admitted": over,
        "drf_over_admitted_mean": sum(over) / len(over),
        "per_call_ratio_drf_over_ours": rows["drf"]["per_call"]["p50"] / rows["ours"]["per_call"]["p50"],
        "verdict": "PASS" if ours_exact else "FAIL",
    }
    text = table(
        f"6. Rate limits under concurrency: {CALLERS} simultaneous calls against a limit of {LIMIT} "
        f"({repeats} repetitions, interleaved)",
        ["limiter", "admitted per repetition", "per call p50", "per call p95", f"all {CALLERS} decided, p50"],
        [
            [
                row["label"],
                " ".join(str(count) for count in row["admitted"]),
                fmt_seconds(row["per_call"]["p50"]),
                fmt_seconds(row["per_call"]["p95"]),
                fmt_seconds(row["burst_wall"]["p50"]),
            ]
            for row in rows.values()
        ],
        notes=[
            f"ours admits exactly {LIMIT} every time: {result['verdict']}"
            + (f" ({rows['ours']['degraded']} decided by the fallback limiter)" if rows["ours"]["degraded"] else ""),
            f"DRF over-admits by {' '.join(f'+{n}' for n in over)} (mean +{result['drf_over_admitted_mean']:.0f}, "
            f"i.e. {percentile([LIMIT + n for n in over], 50) / LIMIT:.1f}× the limit at the median)",
            f"per call = one thread, every call admitted ({LATENCY_BUCKETS}×{LIMIT} calls on fresh buckets); "
            f"DRF/ours at p50 {result['per_call_ratio_drf_over_ours']:.1f}×",
        ],
    )
    return result, text
