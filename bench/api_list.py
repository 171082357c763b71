"""Benchmark 5: an authenticated API list against the same list served by a bare DRF view.

Ours: GET /api/v1/api-keys?limit=20 on a tenant host with an API key — tenant routing (Redis),
key check (Redis), entitlements (Redis) and GCRA rate limit (one Redis script), scope check,
cursor pagination over 20 keys. The bench key's limit is huge, so no request is ever limited
(every response is checked).
Bare: the same query, pagination and ApiKeyOutput serializer in a DRF APIView with no
authentication, permissions or throttles, behind the app's middleware minus tenancy and
sessions/auth (bench/bare_settings.py, bench/bare_api.py). Both: same database, backend, Redis,
renderer, exception handler and ATOMIC_REQUESTS, persistent connections.

- in process: the test Client through the whole Django handler, interleaved rounds;
- over HTTP: one gunicorn per variant (2 workers × 4 threads, started on free ports) and wrk
  (installed with apt-get when missing and possible; else a threaded Python client), in
  bench/http_load.py.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import redis
from django.db import connection
from django.test import Client, override_settings

from apikeys.models import ApiKey
from apikeys.scopes import ALL_SCOPES, Scope
from apikeys.services import api_key_create
from audit.services import Actor
from bench.bare_api import bare_path
from bench.bare_settings import BARE_MIDDLEWARE
from bench.http_load import GUNICORN_THREADS, GUNICORN_WORKERS, Variant, over_http, response_checked
from bench.provisioning import provision
from bench.report import fmt_seconds, summary, table
from tenants.models import Domain

SLUG = "bench-api"
SEEDED_KEYS = 20  # the bench key included
PAGE_SIZE = 20
OURS_PATH = f"/api/v1/api-keys?limit={PAGE_SIZE}"
HUGE_LIMIT = 10_000_000  # per minute and burst: the bench key is never limited
WARMUP = 100
ROUNDS = 10
TARGET_THROUGHPUT_RATIO = 0.6  # ours ÷ bare, at least
TARGET_ADDED_P50_S = 0.0015  # ours − bare, at most
TARGET_SEARCH_PATH_SETS = 1  # per request, at most
ACTOR = Actor.system("bench")


def seed(tenant_slug: str = SLUG) -> tuple[str, int, str]:
    """(host, tenant id, bench key secret): a tenant with SEEDED_KEYS keys, the last one the bench's."""
    provision(tenant_slug, owner_password=None)
    domain = Domain.objects.select_related("tenant").get(tenant__slug=tenant_slug)
    scope_cycle = sorted(ALL_SCOPES)
    for index in range(SEEDED_KEYS - 1):
        api_key_create(
            tenant=domain.tenant,
            name=f"Integration {index + 1}",
            scopes=scope_cycle[index % len(scope_cycle) :][:3],
            actor=ACTOR,
            granter_scopes=ALL_SCOPES,
            allowed_cidrs=["203.0.113.0/24"] if index % 4 == 0 else None,
        )
    issued = api_key_create(
        tenant=domain.tenant,
        name="Bench",
        scopes=[Scope.KEYS_MANAGE],
        actor=ACTOR,
        granter_scopes=ALL_SCOPES,
        rate_limit_per_minute=HUGE_LIMIT,
        rate_limit_burst=HUGE_LIMIT,
    )
    assert ApiKey.objects.filter(tenant=domain.tenant).count() == SEEDED_KEYS
    return domain.domain, domain.tenant_id, issued.secret


def variants(host: str, tenant_id: int, secret: str) -> dict[str, Variant]:
    return {
        "ours": Variant(
            key="ours",
            label="ours: tenant host + key + rate limit",
            path=OURS_PATH,
            host=host,
            headers={"Authorization": f"Bearer {secret}"},
            settings_module=os.environ["DJANGO_SETTINGS_MODULE"],
        ),
        "bare": Variant(
            key="bare",
            label="bare DRF view, no tenancy/auth",
            path=f"{bare_path(tenant_id)}?limit={PAGE_SIZE}",
            host="127.0.0.1",
            headers={},
            settings_module="bench.bare_settings",
        ),
    }


# --- in process ------------------------------------------------------------------------------------


def client_call(variant: Variant) -> Callable[[], Any]:
    client = Client(
        HTTP_HOST=variant.host, **{f"HTTP_{k.upper().replace('-', '_')}": v for k, v in variant.headers.items()}
    )
    if variant.key == "bare":
        with override_settings(MIDDLEWARE=["bench.bare_api.BareUrlconfMiddleware", *BARE_MIDDLEWARE]):
            client.handler.load_middleware()  # the client keeps this chain after the override ends
    expected = PAGE_SIZE

    def call() -> None:
        response = client.get(variant.path)
        response_checked(response.status_code, response.content)
        assert len(response.json()["results"]) == expected

    return call


@contextlib.contextmanager
def redis_commands_counted() -> Iterator[list[str]]:
    """Redis commands sent meanwhile (cache GETs, the limiter's script …), by command name."""
    commands: list[str] = []
    original = redis.Redis.execute_command

    def counting(self: redis.Redis, *args: Any, **options: Any) -> Any:
        commands.append(str(args[0]))
        return original(self, *args, **options)

    redis.Redis.execute_command = counting  # type: ignore[method-assign]
    try:
        yield commands
    finally:
        redis.Redis.execute_command = original  # type: ignore[method-assign]


def statements_of_one_call(call: Callable[[], Any]) -> dict[str, Any]:
    """SQL statements (SET search_path included) and Redis commands of one request, after warm-up."""
    statements: list[str] = []

    def record(execute: Callable[..., Any], sql: str, *args: Any) -> Any:
        statements.append(sql)
        return execute(sql, *args)

    with connection.execute_wrapper(record), redis_commands_counted() as commands:
        call()
    search_paths = [sql for sql in statements if sql.lstrip().upper().startswith("SET SEARCH_PATH")]
    return {
        "queries": len(statements),
        "search_path_sets": len(search_paths),
        "statements": statements,
        "redis_commands": commands,
    }


def in_process(calls: dict[str, Callable[[], Any]], n: int) -> dict[str, list[float]]:
    """Per-request seconds of every variant, variants taking turns in ROUNDS blocks."""
    for call in calls.values():
        for _ in range(WARMUP):
            call()
    per_round = max(1, n // ROUNDS)
    samples: dict[str, list[float]] = {key: [] for key in calls}
    clock = time.perf_counter
    for _ in range(ROUNDS):
        for key, call in calls.items():
            out = samples[key]
            for _ in range(per_round):
                started = clock()
                call()
                out.append(clock() - started)
    return samples


# --- report ----------------------------------------------------------------------------------------


def pass_fail(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def run(*, n: int = 2000, http_seconds: float = 10.0) -> tuple[dict[str, Any], str]:
    host, tenant_id, secret = seed()
    all_variants = variants(host, tenant_id, secret)
    calls = {key: client_call(variant) for key, variant in all_variants.items()}
    labels = {key: variant.label for key, variant in all_variants.items()}
    samples = in_process({key: calls[key] for key in ("ours", "bare")}, n)
    rows: dict[str, dict[str, Any]] = {}
    for key, key_samples in samples.items():
        rows[key] = {
            "label": labels[key],
            "request": f"GET {all_variants['bare' if key == 'bare' else 'ours'].path}",
            **summary(key_samples),
            "req_per_s": len(key_samples) / sum(key_samples),
            **statements_of_one_call(calls[key]),
        }
    bare = rows["bare"]
    for row in rows.values():
        row["throughput_ratio"] = row["req_per_s"] / bare["req_per_s"]
        row["added_p50_s"] = row["p50"] - bare["p50"]
    ours = rows["ours"]
    in_process_ratio, added_p50 = ours["throughput_ratio"], ours["added_p50_s"]
    result: dict[str, Any] = {
        "host": host,
        "keys_listed": PAGE_SIZE,
        "in_process": {"rows": rows, "throughput_ratio": in_process_ratio, "added_p50_s": added_p50},
    }
    verdicts = {
        "in_process_throughput": in_process_ratio >= TARGET_THROUGHPUT_RATIO,
        "in_process_added_p50": added_p50 <= TARGET_ADDED_P50_S,
        "search_path_sets": ours["search_path_sets"] <= TARGET_SEARCH_PATH_SETS,
    }
    http: dict[str, Any] | None = None
    if http_seconds > 0:
        http = over_http(all_variants, seconds=http_seconds)
        result["http"] = http
        verdicts["http_throughput"] = http["throughput_ratio"] >= TARGET_THROUGHPUT_RATIO
        verdicts["http_added_p50"] = http["added_p50_s"] <= TARGET_ADDED_P50_S
    result["verdicts"] = {name: pass_fail(ok) for name, ok in verdicts.items()}
    return result, report(result, n=n)


def _redis_summary(commands: list[str]) -> str:
    counts: dict[str, int] = {}
    for command in commands:
        counts[command] = counts.get(command, 0) + 1
    return f"{len(commands)} ({', '.join(f'{c} {name}' for name, c in sorted(counts.items()))})" if commands else "0"


def report(result: dict[str, Any], *, n: int) -> str:
    rows = result["in_process"]["rows"]
    verdicts = result["verdicts"]
    text = table(
        f"5a. API list in process: GET /api/v1/api-keys?limit={PAGE_SIZE} on {result['host']} "
        f"(N={n} each, interleaved in {ROUNDS} rounds)",
        ["variant", "p50", "p95", "req/s", "vs bare", "added p50", "SQL", "SET search_path", "Redis commands"],
        [
            [
                row["label"],
                fmt_seconds(row["p50"]),
                fmt_seconds(row["p95"]),
                f"{row['req_per_s']:.0f}",
                f"{row['throughput_ratio']:.2f}×",
                fmt_seconds(row["added_p50_s"]) if row is not rows["bare"] else "-",
                row["queries"],
                row["search_path_sets"],
                _redis_summary(row["redis_commands"]),
            ]
            for row in rows.values()
        ],
        notes=[
            f"throughput ours/bare {result['in_process']['throughput_ratio']:.2f}× (target ≥ "
            f"{TARGET_THROUGHPUT_RATIO}×) -> {verdicts['in_process_throughput']}; added p50 "
            f"{fmt_seconds(result['in_process']['added_p50_s'])} (target ≤ {fmt_seconds(TARGET_ADDED_P50_S)}) "
            f"-> {verdicts['in_process_added_p50']}",
            f"SET search_path per request: {rows['ours']['search_path_sets']} (target ≤ {TARGET_SEARCH_PATH_SETS}) "
            f"-> {verdicts['search_path_sets']}; SQL/Redis counted on one request after warm-up",
            "single client, test Client through the whole handler: req/s = 1 ÷ mean time per request",
        ],
    )
    http = result.get("http")
    if http is None:
        return text + "\n5b. over HTTP: skipped (--api-http-seconds 0)"
    http_rows = http["rows"]
    text += "\n" + table(
        f"5b. API list over HTTP: gunicorn {GUNICORN_WORKERS} workers × {GUNICORN_THREADS} threads per variant, "
        f"load from {http['client']}",
        [
            "variant",
            f"req/s ({http['connections']} conn)",
            "p50 loaded",
            "p99 loaded",
            "p50 (1 conn)",
            "p99 (1 conn)",
            "non-200 / errors",
        ],
        [
            [
                rows[key]["label"],
                f"{row['req_per_s']:.0f}",
                fmt_seconds(row["p50_loaded"]),
                fmt_seconds(row["p99_loaded"]),
                fmt_seconds(row["p50_single"]),
                fmt_seconds(row["p99_single"]),
                row["failed"],
            ]
            for key, row in http_rows.items()
        ],
        notes=[
            f"throughput ours/bare {http['throughput_ratio']:.2f}× (target ≥ {TARGET_THROUGHPUT_RATIO}×) -> "
            f"{verdicts['http_throughput']}; added p50 at 1 connection {fmt_seconds(http['added_p50_s'])} "
            f"(target ≤ {fmt_seconds(TARGET_ADDED_P50_S)}) -> {verdicts['http_added_p50']}",
            f"{http['rounds']} interleaved rounds ({http['run_seconds']} s loaded, 1 s at 1 connection, "
            "one new connection per loaded request); ratio and added p50 are the "
            f"medians of the per-round pairs (ratios {min(http['throughput_ratios']):.2f}–"
            f"{max(http['throughput_ratios']):.2f}×); req/s and latencies the medians of the runs",
            "the load generator, PostgreSQL and Redis share the machine's CPUs with the servers",
        ],
    )
    return text
