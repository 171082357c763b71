"""Benchmark 1: tenant provisioning, template clone vs replaying migrations.

Every row runs the real `tenant_provision` service (tenant row, schema, domain, owner with a
hashed password, audit records); only the schema step is swapped, so the rows differ in exactly
what the issue asks about.
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
from django_tenants.models import TenantMixin
from django_tenants.utils import get_tenant_base_schema

from audit.services import Actor
from bench.report import fmt_ratio, fmt_seconds, ratio, summary, table, verdict
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
    connection.set_schema_to_public()


def schema_by_django_tenants_clone(tenant: Tenant) -> None:
    """django-tenants' own base-schema path: clone, then `migrate_schemas --fake` (loads the whole graph)."""
    TenantMixin.create_schema(tenant, verbosity=0)


# Tenant.create_schema as shipped: clone with data, then a cheap migration-plan check.
schema_by_template_clone: SchemaStep = Tenant.create_schema


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
    """(row, index) jobs with each row spread evenly over the run, so drift in machine load or
    database size does not favour the row that happens to run first."""
    jobs = [((index - 0.5) / count, key, index) for key, count in counts.items() for index in range(1, count + 1)]
    return [(key, index) for _, key, index in sorted(jobs)]


def fleet_ensure(count: int) -> float:
    """Make sure at least `count` tenants exist (cloned, owners without passwords); returns seconds spent."""
    started = time.perf_counter()
    existing = Tenant.objects.count()
    for index in range(existing + 1, count + 1):
        provision(f"bench-fleet-{index:03d}", owner_password=None)
    return time.perf_counter() - started


def run(*, clone_count: int = 50, migrate_count: int = 3, dt_clone_count: int = 5) -> tuple[dict[str, Any], str]:
    assert get_tenant_base_schema(), "TENANT_BASE_SCHEMA must be set"
    # The first provision in a process pays for imports, template compilation and the migration
    # graph; keep it out of every row and report it on its own.
    cold = provision("bench-warmup")

    specs = {
        "migrate": ("baseline: CREATE SCHEMA + migrate_schemas", schema_by_migrate, migrate_count),
        "django_tenants_clone": (
            "django-tenants clone + migrate --fake",
            schema_by_django_tenants_clone,
            dt_clone_count,
        ),
        "template_clone": ("ours: template clone + plan check", schema_by_template_clone, clone_count),
    }
    totals: dict[str, list[float]] = {key: [] for key in specs}
    schema: dict[str, list[float]] = {key: [] for key in specs}
    for key, index in interleaved({key: count for key, (_, _, count) in specs.items() if count}):
        with schema_step(specs[key][1], schema[key]):
            totals[key].append(provision(f"bench-{key.replace('_', '-')}-{index:03d}"))
    rows = {
        key: {"label": label, "total": summary(totals[key]), "schema_step": summary(schema[key])}
        for key, (label, _, count) in specs.items()
        if count
    }

    baseline_p50 = rows["migrate"]["total"]["p50"] if "migrate" in rows else 0.0
    for row in rows.values():
        row["speedup_vs_migrate_p50"] = ratio(baseline_p50, row["total"]["p50"])
    ours = rows["template_clone"]["total"]
    result = {
        "cold_first_provision_s": cold,
        "rows": rows,
        "target_p95_s": TARGET_P95_SECONDS,
        "verdict": verdict(ours["p95"], target=TARGET_P95_SECONDS),
    }
    text = table(
        "1. Provisioning: tenant_provision (schema + domain + owner + audit), seconds per tenant",
        ["create_schema", "n", "p50", "p95", "max", "of which create_schema (p50)", "speed-up vs migrate (p50)"],
        [
            [
                row["label"],
                row["total"]["n"],
                fmt_seconds(row["total"]["p50"]),
                fmt_seconds(row["total"]["p95"]),
                fmt_seconds(row["total"]["max"]),
                fmt_seconds(row["schema_step"]["p50"]),
                fmt_ratio(row["speedup_vs_migrate_p50"]),
            ]
            for row in rows.values()
        ],
        notes=[
            f"first provision in the process (cold, not in any row): {fmt_seconds(cold)}",
            f"target p95 < {TARGET_P95_SECONDS:.0f} s over {ours['n']} template clones: "
            f"{fmt_seconds(ours['p95'])} -> {result['verdict']}",
        ],
    )
    return result, text
