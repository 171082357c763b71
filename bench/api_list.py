"""Benchmark 5: an authenticated API list against the same list served by a bare DRF view.

Ours: GET /api/v1/api-keys?limit=20 on a tenant host with an API key — tenant routing (Redis),
key check (Redis), GCRA rate limit (one Redis script), scope check, cursor pagination over ~20
keys. The bench key's limit is huge, so no request is ever limited (every response is checked).
Bare: the same query, pagination and ApiKeyOutput serializer in a DRF APIView with no
authentication, permissions or throttles, behind the app's middleware minus tenancy and
sessions/auth (bench/bare_settings.py, bench/bare_api.py). Both: same database, backend, Redis,
renderer, exception handler and ATOMIC_REQUESTS, persistent connections.

- in process: the test Client through the whole Django handler, interleaved rounds;
- over HTTP: one gunicorn per variant (2 workers × 4 threads, started on free ports) and wrk
  (installed with apt-get when missing and possible; else a threaded Python client).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.client import HTTPConnection
from pathlib import Path
from typing import Any

import redis
from django.core.cache.backends.redis import RedisCacheClient
from django.db import connection
from django.test import Client, override_settings

from apikeys.models import ApiKey
from apikeys.scopes import ALL_SCOPES, Scope
from apikeys.services import api_key_create
from audit.services import Actor
from bench.bare_api import bare_path
from bench.bare_settings import BARE_MIDDLEWARE
from bench.provisioning import provision
from bench.report import fmt_seconds, percentile, summary, table
from tenants.models import Domain

ROOT = Path(__file__).resolve().parent.parent
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
GUNICORN_WORKERS = 2
GUNICORN_THREADS = 4
HTTP_CONNECTIONS = GUNICORN_WORKERS * GUNICORN_THREADS  # enough to keep every worker thread busy
ACTOR = Actor.system("bench")
WHAT_IF = "what_if_one_redis_client"
WHAT_IF_LABEL = "what-if: ours, one Redis client per cache"
HTTP_ROUNDS = 5  # interleaved load runs per variant and kind: background load hits both alike


@dataclass
class Variant:
    key: str
    label: str
    path: str
    host: str
    headers: dict[str, str]


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
            "ours", "ours: tenant host + key + rate limit", OURS_PATH, host, {"Authorization": f"Bearer {secret}"}
        ),
        "bare": Variant(
            "bare", "bare DRF view, no tenancy/auth", f"{bare_path(tenant_id)}?limit={PAGE_SIZE}", "127.0.0.1", {}
        ),
    }


def response_checked(status: int, body: bytes | None = None) -> None:
    # A 429 would mean the bench measured refusals; anything else not 200, a broken setup.
    assert status == 200, f"HTTP {status}: {body[:300] if body else ''!r}"


# --- in process ------------------------------------------------------------------------------------


@contextlib.contextmanager
def one_redis_client_per_cache() -> Iterator[None]:
    """What-if: Django's RedisCache builds a new redis.Redis client (~60 µs) for every operation;
    here each cache keeps the first one it built (one server, so one pool for reads and writes)."""
    original = RedisCacheClient.get_client

    def reused(self: RedisCacheClient, key: Any = None, *, write: bool = False) -> Any:
        client = self.__dict__.get("_bench_client")
        if client is None:
            client = self.__dict__["_bench_client"] = original(self, key, write=write)
        return client

    RedisCacheClient.get_client = reused  # type: ignore[method-assign]
    try:
        yield
    finally:
        RedisCacheClient.get_client = original  # type: ignore[method-assign]


def what_if_call(call: Callable[[], Any]) -> Callable[[], Any]:
    def patched_call() -> None:
        with one_redis_client_per_cache():
            call()

    return patched_call


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


# --- over HTTP -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    key: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)  # the arbiter we started and its workers
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-2000:] if self.log_path.exists() else ""


def gunicorn_start(key: str, settings_module: str, log_dir: Path) -> Server:
    port = free_port()
    log_path = log_dir / f"gunicorn-{key}.log"
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        "config.wsgi",
        f"--bind=127.0.0.1:{port}",
        f"--workers={GUNICORN_WORKERS}",
        f"--threads={GUNICORN_THREADS}",
        "--worker-class=gthread",
        f"--error-logfile={log_path}",
        "--log-level=warning",
    ]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": settings_module}
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    return Server(key, port, process, log_path)


def wait_until_serving(server: Server, variant: Variant, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.port}{variant.path}", headers={"Host": variant.host, **variant.headers}
    )
    while True:
        if server.process.poll() is not None:
            raise RuntimeError(f"gunicorn ({server.key}) exited:\n{server.log_tail()}")
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                response_checked(response.status, response.read())
                return
        except (OSError, ConnectionError) as error:
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn ({server.key}) not serving: {error}\n{server.log_tail()}") from error
            time.sleep(0.2)


def wrk_available() -> str | None:
    """wrk's path, installing Debian's package when missing and we are root with apt-get."""
    found = shutil.which("wrk")
    if found or os.environ.get("BENCH_NO_APT") or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found
    print("api: installing wrk with apt-get (once per machine) …", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-qq", "wrk"]
    # Stale package lists make the first install fail: update them and try once more.
    for commands in ([install], [["apt-get", "update", "-qq"], install]):
        for command in commands:
            with contextlib.suppress(subprocess.SubprocessError, OSError):
                subprocess.run(command, env=env, capture_output=True, timeout=180, check=False)
        if shutil.which("wrk"):
            break
    return shutil.which("wrk")


_WRK_DURATION = re.compile(r"^\s*([\d.]+)(us|ms|s)$")


def _wrk_seconds(text: str) -> float:
    match = _WRK_DURATION.match(text)
    if not match:
        raise ValueError(f"unexpected wrk duration {text!r}")
    return float(match[1]) * {"us": 1e-6, "ms": 1e-3, "s": 1.0}[match[2]]


def request_headers(variant: Variant, *, connections: int) -> dict[str, str]:
    """With more than one connection, each request comes on a new one: gunicorn's workers accept
    greedily, and a burst of keep-alive connections often lands on one worker (measured: all 8 on
    one in half the runs, halving req/s). New connections spread evenly, as a proxy's churn does."""
    return {"Host": variant.host, **variant.headers, **({"Connection": "close"} if connections > 1 else {})}


def load_wrk(wrk: str, server: Server, variant: Variant, *, seconds: float, connections: int) -> dict[str, Any]:
    headers = [
        arg
        for name, value in request_headers(variant, connections=connections).items()
        for arg in ("-H", f"{name}: {value}")
    ]
    completed = subprocess.run(
        [
            wrk,
            "-t1",
            f"-c{connections}",
            f"-d{seconds:.0f}s",
            "--latency",
            *headers,
            f"http://127.0.0.1:{server.port}{variant.path}",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 30,
    )
    out = completed.stdout
    latency = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)\s*$", out, flags=re.MULTILINE))
    requests = re.search(r"^\s+(\d+) requests in ([\d.]+)(us|ms|s)", out, flags=re.MULTILINE)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)$", out, flags=re.MULTILINE)
    if not latency or not requests:
        raise RuntimeError(f"could not read wrk's output:\n{out}\n{completed.stderr}")
    elapsed = _wrk_seconds(f"{requests[2]}{requests[3]}")
    return {
        "requests": int(requests[1]),
        "elapsed_s": elapsed,
        "p50": _wrk_seconds(latency["50"]),
        "p99": _wrk_seconds(latency["99"]),
        "non_2xx": int(non_2xx[1]) if non_2xx else 0,
        "socket_errors": errors[1].strip() if errors else None,
    }


def load_python(server: Server, variant: Variant, *, seconds: float, connections: int) -> dict[str, Any]:
    """HTTP/1.1 from `connections` threads for `seconds` (the fallback without wrk; the GIL makes the
    client itself a bottleneck, so its req/s are lower than wrk's)."""
    latencies: list[list[float]] = [[] for _ in range(connections)]
    failures = [0] * connections
    headers = request_headers(variant, connections=connections)
    deadline = time.perf_counter() + seconds

    def worker(index: int) -> None:
        http = HTTPConnection("127.0.0.1", server.port, timeout=30)
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            http.request("GET", variant.path, headers=headers)
            response = http.getresponse()
            response.read()
            latencies[index].append(time.perf_counter() - started)
            failures[index] += response.status != 200
            if response.will_close:
                http.close()  # reconnects on the next request
        http.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(index,)) for index in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    samples = [value for chunk in latencies for value in chunk]
    return {
        "requests": len(samples),
        "elapsed_s": elapsed,
        "p50": percentile(samples, 50),
        "p99": percentile(samples, 99),
        "non_2xx": sum(failures),
        "socket_errors": None,
    }


def over_http(all_variants: dict[str, Variant], *, seconds: float) -> dict[str, Any]:
    """Both servers up at once (the idle one costs nothing), load taking turns: HTTP_ROUNDS rounds, each
    a throughput run (HTTP_CONNECTIONS connections) and a latency run (1 connection) of either variant,
    which goes first alternating. Ratios are paired per round, so background load hits both alike."""
    wrk = wrk_available()
    run_seconds = max(1, round(seconds / HTTP_ROUNDS))

    def load(server: Server, variant: Variant, *, connections: int, duration: int = run_seconds) -> dict[str, Any]:
        if wrk:
            return load_wrk(wrk, server, variant, seconds=duration, connections=connections)
        return load_python(server, variant, seconds=duration, connections=connections)

    settings_modules = {"ours": os.environ["DJANGO_SETTINGS_MODULE"], "bare": "bench.bare_settings"}
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {key: {"throughput": [], "latency": []} for key in all_variants}
    with tempfile.TemporaryDirectory(prefix="bench-api-") as log_dir:
        servers = {key: gunicorn_start(key, settings_modules[key], Path(log_dir)) for key in all_variants}
        try:
            for key, server in servers.items():
                wait_until_serving(server, all_variants[key])
            for key, server in servers.items():  # warm every worker: imports, connections, caches
                load(server, all_variants[key], connections=HTTP_CONNECTIONS, duration=1)
            for round_index in range(HTTP_ROUNDS):
                order = list(servers) if round_index % 2 == 0 else list(reversed(servers))
                for kind, connections, duration in (("throughput", HTTP_CONNECTIONS, run_seconds), ("latency", 1, 1)):
                    for key in order:
                        runs[key][kind].append(
                            load(servers[key], all_variants[key], connections=connections, duration=duration)
                        )
        finally:
            for server in servers.values():
                server.stop()
    result: dict[str, Any] = {
        "client": "wrk" if wrk else "python threads",
        "connections": HTTP_CONNECTIONS,
        "rounds": HTTP_ROUNDS,
        "run_seconds": run_seconds,
        "rows": {},
    }
    for key, kinds in runs.items():
        for run in kinds["throughput"] + kinds["latency"]:
            run["req_per_s"] = run["requests"] / run["elapsed_s"]
        result["rows"][key] = {
            "req_per_s": percentile([r["req_per_s"] for r in kinds["throughput"]], 50),
            "p50_loaded": percentile([r["p50"] for r in kinds["throughput"]], 50),
            "p99_loaded": percentile([r["p99"] for r in kinds["throughput"]], 50),
            "p50_single": percentile([r["p50"] for r in kinds["latency"]], 50),
            "p99_single": percentile([r["p99"] for r in kinds["latency"]], 50),
            "non_2xx": sum(r["non_2xx"] for r in kinds["throughput"] + kinds["latency"]),
            "runs": kinds,
        }
    ours, bare = runs["ours"], runs["bare"]
    ratios = [o["req_per_s"] / b["req_per_s"] for o, b in zip(ours["throughput"], bare["throughput"], strict=True)]
    added = [o["p50"] - b["p50"] for o, b in zip(ours["latency"], bare["latency"], strict=True)]
    result.update(
        throughput_ratio=percentile(ratios, 50),
        throughput_ratios=ratios,
        added_p50_s=percentile(added, 50),
        added_p50s=added,
    )
    return result


# --- report ----------------------------------------------------------------------------------------


def pass_fail(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def run(*, n: int = 2000, http_seconds: float = 10.0) -> tuple[dict[str, Any], str]:
    host, tenant_id, secret = seed()
    all_variants = variants(host, tenant_id, secret)
    calls = {key: client_call(variant) for key, variant in all_variants.items()}
    calls[WHAT_IF] = what_if_call(calls["ours"])
    labels = {**{key: variant.label for key, variant in all_variants.items()}, WHAT_IF: WHAT_IF_LABEL}
    samples = in_process({key: calls[key] for key in ("ours", WHAT_IF, "bare")}, n)
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
            "what-if (not shipped): Django's RedisCache builds a redis.Redis client per operation; reusing one "
            "per cache is a settings-level change (a RedisCache subclass as the `routing` cache's BACKEND)",
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
            "non-200",
        ],
        [
            [
                rows[key]["label"],
                f"{row['req_per_s']:.0f}",
                fmt_seconds(row["p50_loaded"]),
                fmt_seconds(row["p99_loaded"]),
                fmt_seconds(row["p50_single"]),
                fmt_seconds(row["p99_single"]),
                row["non_2xx"],
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
