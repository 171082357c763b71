"""Benchmark 1: tenant provisioning, template clone vs replaying migrations, on a new and a busy platform.

Every row runs the real `tenant_provision` service (tenant row, schema, domain, owner with a
hashed password, audit records, one transaction); only `Tenant.create_schema` is swapped, so the
rows differ in exactly the step the issue is about. Rows of one phase take turns (interleaved),
so drift in machine load or database size does not favour one of them.

Phase A runs on a new platform (a handful of tenants growing to ~70); phase B after the fleet has
been grown to `fleet` tenants, because django-tenants' `clone_schema()` gets slower as schemas
accumulate.
"""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Callable, Iterator
from typing import Any
from unittest import mock

from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django_tenants.models import TenantMixin
from django_tenants.utils import get_tenant_base_schema, schema_context

from audit.services import Actor
from bench.fleet import fleet_ensure, schema_ddl, template_ddl
from bench.report import fmt_ratio, fmt_seconds, ratio, summary, table, verdict
from tenants.context import set_schema_to_public
from tenants.models import Tenant
from tenants.services import tenant_provision

TARGET_P95_SECONDS = 1.0
OWNER_PASSWORD = "bench-Owner-passphrase-2026"
ACTOR = Actor.system("bench")

SchemaStep = Callable[[Tenant], Any]


def schema_by_migrate(tenant: Tenant) -> None:
    """What django-tenants does without TENANT_BASE_SCHEMA: an empty schema, then every migration."""
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA "{tenant.schema_name}"')
    call_command("migrate_schemas", tenant=True, schema_name=tenant.schema_name, interactive=False, verbosity=0)
    set_schema_to_public()


def schema_by_django_tenants_clone(tenant: Tenant) -> None:
    """django-tenants' own base-schema path: clone, then `migrate_schemas --fake` (loads the whole graph)."""
    TenantMixin.create_schema(tenant, verbosity=0)


# Tenant.create_schema as shipped: clone_schema() with data, then a cheap migration-plan check.
schema_by_template_clone: SchemaStep = Tenant.create_schema


def schema_by_ddl_replay(tenant: Tenant) -> None:
    """What-if: replay the template's DDL (one pg_dump, taken before timing) in the provisioning
    transaction, then the same plan check (and catch-up migrate) as Tenant.create_schema."""
    with connection.cursor() as cursor:
        cursor.execute(schema_ddl(tenant.schema_name))
    with schema_context(tenant.schema_name):
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if pending:
        call_command("migrate_schemas", tenant=True, schema_name=tenant.schema_name, interactive=False, verbosity=0)
    set_schema_to_public()


ROWS: dict[str, tuple[str, SchemaStep]] = {
    "migrate": ("baseline: CREATE SCHEMA + migrate_schemas", schema_by_migrate),
    "django_tenants_clone": ("django-tenants: clone + migrate --fake", schema_by_django_tenants_clone),
    "template_clone": ("ours: clone_schema() + plan check", schema_by_template_clone),
    "ddl_replay": ("what-if: replay template DDL + plan check", schema_by_ddl_replay),
}


@contextlib.contextmanager
def schema_step(step: SchemaStep, seconds: list[float]) -> Iterator[None]:
    """Provision with `step` as Tenant.create_schema, recording how long each schema step took."""

    def timed(tenant: Tenant, *args: Any, **kwargs: Any) -> bool:
        started = time.perf_counter()
        step(tenant)
        seconds.append(time.perf_counter() - started)
        return True

    with mock.patch.object(Tenant, "create_schema", timed):
        yield


def provision(slug: str, *, owner_password: str | None = OWNER_PASSWORD) -> float:
    """Provision tenant `slug` through the real service; returns wall seconds."""
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


def interleaved(counts: dict[str, int]) -> list[tuple[str, int]]:
    """(row, index) jobs with each row spread evenly over the run."""
    jobs = [((index - 0.5) / count, key, index) for key, count in counts.items() for index in range(1, count + 1)]
    return [(key, index) for _, key, index in sorted(jobs)]


def phase(name: str, counts: dict[str, int]) -> dict[str, dict[str, Any]]:
    """Provision interleaved tenants for every row with a count; summaries per row."""
    counts = {key: count for key, count in counts.items() if count}
    totals: dict[str, list[float]] = {key: [] for key in counts}
    schema: dict[str, list[float]] = {key: [] for key in counts}
    tenants_before = Tenant.objects.count()
    for key, index in interleaved(counts):
        with schema_step(ROWS[key][1], schema[key]):
            totals[key].append(provision(f"bench-{name}-{key.replace('_', '-')}-{index:03d}"))
    present = f"{tenants_before}–{Tenant.objects.count() - 1}"
    return {
        key: {
            "label": ROWS[key][0],
            "strategy": key,
            "phase": name,
            "tenants_present": present,
            "total": summary(totals[key]),
            "schema_step": summary(schema[key]),
        }
        for key in counts
    }


def run(
    *,
    clone_count: int = 50,
    migrate_count: int = 3,
    dt_clone_count: int = 5,
    ddl_count: int = 10,
    fleet: int = 200,
    at_scale_count: int = 5,
    at_scale_migrate_count: int = 1,
) -> tuple[dict[str, Any], str]:
    assert get_tenant_base_schema(), "TENANT_BASE_SCHEMA must be set"
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
    fleet_seconds = fleet_ensure(fleet)
    if at_scale_count:
        at_scale = phase(
            "busy",
            {"migrate": at_scale_migrate_count, "template_clone": at_scale_count, "ddl_replay": at_scale_count},
        )
        rows.update({f"{key}_at_scale": row for key, row in at_scale.items()})

    for row in rows.values():  # against the migrate baseline of the same phase
        baseline = next((r for r in rows.values() if (r["phase"], r["strategy"]) == (row["phase"], "migrate")), None)
        row["speedup_vs_migrate_p50"] = ratio(baseline["total"]["p50"], row["total"]["p50"]) if baseline else None
    ours = rows["template_clone"]["total"]
    result: dict[str, Any] = {
        "cold_first_provision_s": cold,
        "fleet_top_up_s": fleet_seconds,
        "rows": rows,
        "target_p95_s": TARGET_P95_SECONDS,
        "verdict": verdict(ours["p95"], target=TARGET_P95_SECONDS),
    }
    notes = [
        f"first provision in the process (cold, not in any row): {fmt_seconds(cold)}; "
        f"fleet grown to {fleet} tenants between the phases in {fmt_seconds(fleet_seconds)}",
        f"target p95 < {TARGET_P95_SECONDS:.0f} s over {ours['n']} template clones on a new platform: "
        f"{fmt_seconds(ours['p95'])} -> {result['verdict']}",
    ]
    if "template_clone_at_scale" in rows:
        busy = rows["template_clone_at_scale"]["total"]
        result["verdict_at_scale"] = verdict(busy["p95"], target=TARGET_P95_SECONDS)
        result["clone_slowdown_at_scale_p50"] = ratio(busy["p50"], ours["p50"])
        notes.append(
            f"same target with {rows['template_clone_at_scale']['tenants_present']} tenants present: "
            f"{fmt_seconds(busy['p95'])} -> {result['verdict_at_scale']} "
            f"(clone path p50 {fmt_ratio(result['clone_slowdown_at_scale_p50'])} slower than on a new platform)"
        )
    text = table(
        "1. Provisioning: tenant_provision (schema + domain + owner + audit), seconds per tenant",
        [
            "create_schema",
            "tenants present",
            "n",
            "p50",
            "p95",
            "max",
            "create_schema p50",
            "speed-up vs migrate (p50)",
        ],
        [
            [
                row["label"],
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
    return result, text
