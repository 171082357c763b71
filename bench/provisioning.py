"""Benchmark 1: tenant provisioning, template clone vs replaying migrations, on a new and a busy platform.

Every row runs the real `tenant_provision` service (tenant row, schema, domain, owner with a
hashed password, audit records, one transaction); only `Tenant.create_schema` is swapped (see
schema_steps.py), so the rows differ in exactly the step the issue is about.

- new: rows interleaved on a new platform (a handful of tenants growing to ~70), each provision
  on a freshly opened connection, as a web or Celery worker has within CONN_MAX_AGE;
- batch: ours back to back on one connection, as seed_demo, test fixtures or a script loop do;
- busy: after the fleet has grown to `fleet` tenants, as in "new".
"""

from __future__ import annotations

import contextlib
import io
import time
from typing import Any

from django.db import connection, connections

from audit.services import Actor
from bench.fleet import fleet_ensure, template_ddl
from bench.report import fmt_ratio, fmt_seconds, ratio, summary, table, verdict
from bench.schema_steps import STEPS, schema_step
from tenants.models import Tenant
from tenants.services import tenant_provision

TARGET_P95_SECONDS = 1.0
OWNER_PASSWORD = "bench-Owner-passphrase-2026"
ACTOR = Actor.system("bench")
BATCH_EDGE = 5  # the batch row compares its first and last BATCH_EDGE provisions


def provision(slug: str, *, owner_password: str | None = OWNER_PASSWORD, fresh_connection: bool = True) -> float:
    """Provision tenant `slug` through the real service; returns wall seconds (connecting not included)."""
    if fresh_connection:
        connections.close_all()
        connection.ensure_connection()
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):  # schema creation may print
        tenant_provision(
            slug=slug,
            name=f"Bench {slug}",
            owner_email=f"owner@{slug}.test",
            owner_password=owner_password,
            plan_code="starter",
            actor=ACTOR,
        )
    return time.perf_counter() - started


def backend_memory_mb() -> float:
    """Memory held by this connection's PostgreSQL backend (all its memory contexts)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT sum(total_bytes) FROM pg_backend_memory_contexts")
        return float(cursor.fetchone()[0]) / 2**20


def interleaved(counts: dict[str, int]) -> list[tuple[str, int]]:
    """(row, index) jobs with each row spread evenly over the run, so drift in machine load or
    database size does not favour the row that happens to run first."""
    jobs = [((index - 0.5) / count, key, index) for key, count in counts.items() for index in range(1, count + 1)]
    return [(key, index) for _, key, index in sorted(jobs)]


def row_summary(key: str, phase: str, present: str, totals: list[float], schema: list[float]) -> dict[str, Any]:
    return {
        "label": STEPS[key][0],
        "strategy": key,
        "phase": phase,
        "tenants_present": present,
        "total": summary(totals),
        "schema_step": summary(schema),
        "samples": totals,
    }


def phase(name: str, counts: dict[str, int]) -> dict[str, dict[str, Any]]:
    """Provision interleaved tenants for every row with a count, each on a fresh connection."""
    counts = {key: count for key, count in counts.items() if count}
    totals: dict[str, list[float]] = {key: [] for key in counts}
    schema: dict[str, list[float]] = {key: [] for key in counts}
    before = Tenant.objects.count()
    for key, index in interleaved(counts):
        with schema_step(STEPS[key][1], schema[key]):
            totals[key].append(provision(f"bench-{name}-{key.replace('_', '-')}-{index:03d}"))
    present = f"{before}–{Tenant.objects.count() - 1}"
    return {f"{key}_{name}": row_summary(key, name, present, totals[key], schema[key]) for key in counts}


def batch(count: int) -> dict[str, Any]:
    """Ours back to back on one connection: does a long-lived connection slow provisioning down?

    Backend memory is read after the first provision (which fills the backend's ordinary caches)
    and after the last, so the growth per tenant is what each further provision leaves behind.
    """
    totals: list[float] = []
    schema: list[float] = []
    before = Tenant.objects.count()
    memory: list[float] = []
    with schema_step(STEPS["template_clone"][1], schema):
        for index in range(1, count + 1):
            totals.append(provision(f"bench-batch-{index:03d}", fresh_connection=index == 1))
            if index in (1, count):
                memory.append(backend_memory_mb())
    row = row_summary("template_clone", "batch", f"{before}–{Tenant.objects.count() - 1}", totals, schema)
    row["label"] = "ours, back to back on one connection"
    edge = min(BATCH_EDGE, count)
    row["first_p50"], row["last_p50"] = summary(totals[:edge])["p50"], summary(totals[-edge:])["p50"]
    row["backend_memory_mb"] = {
        "after_first": memory[0],
        "after_last": memory[-1],
        "per_tenant": (memory[-1] - memory[0]) / max(1, count - 1),
    }
    return row


def run(
    *,
    clone_count: int = 50,
    migrate_count: int = 3,
    dt_clone_count: int = 5,
    ddl_count: int = 10,
    batch_count: int = 20,
    fleet: int = 200,
    at_scale_count: int = 5,
) -> tuple[dict[str, Any], str]:
    template_ddl()  # the what-if row's one pg_dump, outside any timing
    # The first provision in a process pays for imports, template compilation and the migration
    # graph; keep it out of every row and report it on its own.
    cold = provision("bench-warmup")
    rows = phase(
        "new",
        {
            "migrate": migrate_count,
            "django_tenants_clone": dt_clone_count,
            "template_clone": clone_count,
            "ddl_replay": ddl_count,
        },
    )
    if batch_count:
        rows["template_clone_batch"] = batch(batch_count)
    fleet_seconds = fleet_ensure(fleet)
    if at_scale_count:
        rows.update(phase("busy", {"migrate": 1, "template_clone": at_scale_count, "ddl_replay": at_scale_count}))
    for row in rows.values():  # ratio against the migrate baseline measured in the same phase
        baseline = rows.get(f"migrate_{'new' if row['phase'] == 'batch' else row['phase']}")
        row["speedup_vs_migrate_p50"] = ratio(baseline["total"]["p50"], row["total"]["p50"]) if baseline else None
    for key in ("template_clone_new", "template_clone_batch", "template_clone_busy"):
        if key in rows:
            rows[key]["verdict"] = verdict(rows[key]["total"]["p95"], target=TARGET_P95_SECONDS)
    result = {
        "cold_first_provision_s": cold,
        "fleet_top_up_s": fleet_seconds,
        "rows": rows,
        "target_p95_s": TARGET_P95_SECONDS,
        "verdict": rows.get("template_clone_new", {}).get("verdict"),
    }
    return result, render(result, fleet=fleet)


def render(result: dict[str, Any], *, fleet: int) -> str:
    rows = result["rows"]
    notes = [
        f"first provision in the process (cold, not in any row): {fmt_seconds(result['cold_first_provision_s'])}; "
        f"fleet grown to {fleet} tenants before 'busy' in {fmt_seconds(result['fleet_top_up_s'])}"
    ]
    for key, where in (
        ("template_clone_new", "on a new platform"),
        ("template_clone_batch", "back to back on one connection"),
        ("template_clone_busy", "on a busy platform"),
    ):
        if key in rows:
            row = rows[key]
            notes.append(
                f"target p95 < {TARGET_P95_SECONDS:.0f} s, {row['total']['n']} of ours {where} "
                f"({row['tenants_present']} tenants): {fmt_seconds(row['total']['p95'])} -> {row['verdict']}"
            )
    if "template_clone_batch" in rows:
        row = rows["template_clone_batch"]
        memory = row["backend_memory_mb"]
        notes.append(
            f"one connection: first {BATCH_EDGE} p50 {fmt_seconds(row['first_p50'])} -> last {BATCH_EDGE} "
            f"p50 {fmt_seconds(row['last_p50'])}; backend memory {memory['after_first']:.0f} -> "
            f"{memory['after_last']:.0f} MB ({memory['per_tenant']:.1f} MB per tenant)"
        )
    return table(
        "1. Provisioning: tenant_provision (schema + domain + owner + audit), seconds per tenant",
        ["create_schema", "phase", "tenants", "n", "p50", "p95", "max", "create_schema p50", "vs migrate (p50)"],
        [
            [
                row["label"],
                row["phase"],
                row["tenants_present"],
                row["total"]["n"],
                fmt_seconds(row["total"]["p50"]),
                fmt_seconds(row["total"]["p95"]),
                fmt_seconds(row["total"]["max"]),
                fmt_seconds(row["schema_step"]["p50"]),
                fmt_ratio(row["speedup_vs_migrate_p50"]),
            ]
            for row in rows.values()
        ],
        notes=notes,
    )
