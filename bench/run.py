"""`make bench`: the platform's benchmarks, each against a baseline measured in the same run.

Runs in a database and Redis DB of its own (see bench/README.md), never dev's or the tests'.

    .venv/bin/python bench/run.py [--only provisioning,migrations,routing,api,ratelimit,signup] [--keep-db]

Exit code 0 whenever every benchmark ran, whether or not its target was met (PASS/FAIL is
informational); non-zero only if something crashed.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, Python puts bench/ first on sys.path; the project root is what we want.
sys.path[0] = str(ROOT)

from bench.environment import (  # noqa: E402
    BenchBusy,
    bench_environment,
    database_drop,
    database_lock,
    database_name,
    database_recreate,
    dotenv_values,
)

BENCHMARKS = ("provisioning", "migrations", "routing", "api", "ratelimit", "signup", "webhooks", "usage", "chat")
RESULTS_PATH = ROOT / "bench" / "results" / "latest.json"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--only",
        default=os.environ.get("BENCH_ONLY", ""),
        help=f"comma-separated subset of {','.join(BENCHMARKS)} (env BENCH_ONLY); default all",
    )
    parser.add_argument("--keep-db", action="store_true", help="leave the bench database in place afterwards")
    parser.add_argument("--tenants", type=int, default=50, help="template clones timed in benchmark 1")
    parser.add_argument("--migrate-baseline", type=int, default=3, help="migrate-based creations in benchmark 1")
    parser.add_argument("--dt-clones", type=int, default=5, help="django-tenants clone + fake creations in benchmark 1")
    parser.add_argument("--batch", type=int, default=20, help="back-to-back provisions on one connection (bench 1)")
    parser.add_argument("--fleet", type=int, default=200, help="tenant schemas for benchmark 2")
    parser.add_argument("--requests", type=int, default=2000, help="requests per variant in benchmark 3")
    parser.add_argument("--signups", type=int, default=10, help="signups timed in benchmark 4")
    parser.add_argument("--api-requests", type=int, default=2000, help="in-process requests per variant in benchmark 5")
    parser.add_argument(
        "--api-http-seconds",
        type=float,
        default=10,
        help="seconds of throughput load per variant over HTTP in benchmark 5 (0: skip HTTP)",
    )
    parser.add_argument("--ratelimit-repeats", type=int, default=5, help="200-caller bursts per limiter in benchmark 6")
    parser.add_argument(
        "--usage-seconds", type=float, default=70, help="seconds of event ingest (and rollups) in benchmark 8"
    )
    parser.add_argument("--webhook-events", type=int, default=1000, help="events fanned out to 10 endpoints in bench 7")
    parser.add_argument("--webhook-rate", type=float, default=50, help="events published per second in benchmark 7")
    parser.add_argument(
        "--webhook-concurrency", type=int, default=None, help="worker processes (prefork) in benchmark 7"
    )
    parser.add_argument("--chat-tenants", type=int, default=100, help="tenants chatting at once in benchmark 9")
    parser.add_argument("--chat-seconds", type=float, default=30, help="seconds of load per phase in benchmark 9")
    parser.add_argument("--chat-think-seconds", type=float, default=5, help="a visitor's pause between messages (9)")
    args = parser.parse_args(argv)
    args.only = [name.strip() for name in args.only.split(",") if name.strip()] or list(BENCHMARKS)
    unknown = set(args.only) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    return args


def git_commit() -> str | None:
    completed = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    return completed.stdout.strip() or None


def load_average() -> str:
    """Other work on the machine inflates every absolute number: say how busy it was."""
    one, five, _ = os.getloadavg()
    busy = " -- BUSY MACHINE: absolute times inflated, trust the ratios" if one > (os.cpu_count() or 1) * 0.75 else ""
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min){busy}"


def prepare_database() -> dict[str, float]:
    """Fresh bench database: public schema migrated, tenant template synced, bench Redis DB empty."""
    import django
    from django.core.cache import caches
    from django.core.management import call_command

    started = time.perf_counter()
    database_recreate(os.environ["DATABASE_URL"])
    django.setup()
    caches["routing"].clear()  # FLUSHDB on the bench Redis DB only (both caches share it)
    migrated = time.perf_counter()
    call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
    template = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):  # it announces the schema it creates
        call_command("sync_tenant_template", verbosity=0)
    from bench.fleet import catalog_analyze

    catalog_analyze()
    done = time.perf_counter()
    return {
        "create_database_s": migrated - started,
        "migrate_public_s": template - migrated,
        "sync_template_s": done - template,
    }


def benchmark_runners(args: argparse.Namespace) -> dict[str, Callable[[], tuple[dict[str, Any], str]]]:
    from bench import api_list, chat, migrate_fleet, provisioning, ratelimit, routing, signup, usage, webhooks_fanout

    return {
        "provisioning": lambda: provisioning.run(
            clone_count=args.tenants,
            migrate_count=args.migrate_baseline,
            dt_clone_count=args.dt_clones,
            batch_count=args.batch,
            fleet=args.fleet,
        ),
        "migrations": lambda: migrate_fleet.run(tenant_count=args.fleet),
        "routing": lambda: routing.run(n=args.requests),
        "api": lambda: api_list.run(n=args.api_requests, http_seconds=args.api_http_seconds),
        "ratelimit": lambda: ratelimit.run(repeats=args.ratelimit_repeats),
        "signup": lambda: signup.run(runs=args.signups),
        "webhooks": lambda: webhooks_fanout.run(
            events=args.webhook_events, rate=args.webhook_rate, concurrency=args.webhook_concurrency
        ),
        "usage": lambda: usage.run(
            n=args.api_requests, http_seconds=args.api_http_seconds, ingest_seconds=args.usage_seconds
        ),
        "chat": lambda: chat.run(tenants=args.chat_tenants, seconds=args.chat_seconds, think_s=args.chat_think_seconds),
    }


def run_benchmarks(args: argparse.Namespace, results: dict[str, Any]) -> None:
    """Fresh bench database, then each selected benchmark; the database is dropped even on a crash."""
    database_url = os.environ["DATABASE_URL"]
    try:
        results["setup"] = prepare_database()
        import django

        results["meta"]["django"] = django.get_version()
        print(f"setup: {', '.join(f'{k} {v:.1f} s' for k, v in results['setup'].items())}", flush=True)
        runners = benchmark_runners(args)
        for name in args.only:
            result, text = runners[name]()
            results[name] = result
            print(text, flush=True)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep_db:
            from django.core.cache import caches

            caches["routing"].clear()
            database_drop(database_url)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    os.environ.update(bench_environment(os.environ, dotenv_values(ROOT / ".env")))
    database_url = os.environ["DATABASE_URL"]
    started = time.perf_counter()
    print(
        f"Bench database {database_name(database_url)!r}, Redis {os.environ['CACHE_URL']}; "
        f"running: {', '.join(args.only)}; {os.cpu_count()} CPUs, {load_average()}",
        flush=True,
    )
    results: dict[str, Any] = {
        "meta": {
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "commit": git_commit(),
            "python": platform.python_version(),
            "cpu_count": os.cpu_count(),
            "database": database_name(database_url),
            "redis": os.environ["CACHE_URL"],
            "settings": os.environ["DJANGO_SETTINGS_MODULE"],
            "load_average_at_start": os.getloadavg(),
        },
    }
    try:
        with database_lock(database_url):
            run_benchmarks(args, results)
    except BenchBusy as error:
        print(f"bench: {error}", file=sys.stderr)
        return 2
    results["meta"]["wall_s"] = time.perf_counter() - started
    results["meta"]["load_average_at_end"] = os.getloadavg()
    RESULTS_PATH.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_PATH.write_text(json.dumps(results, indent=2) + "\n")
    print(
        f"\nwhole run {results['meta']['wall_s']:.0f} s ({load_average()}); results in {RESULTS_PATH.relative_to(ROOT)}"
        f"{'' if args.keep_db else f'; dropped {database_name(database_url)}'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
