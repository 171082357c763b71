"""Many tenants, fast: the fleet the scale measurements need, built by replaying the template's DDL.

django-tenants' `clone_schema()` reads `information_schema`, whose cost grows with every schema in
the database, so building hundreds of tenants by cloning gets slower with each one (benchmark 1
measures exactly that). The fleet is built instead from one `pg_dump` of the template schema
(structure + rows), replayed under each new schema name: same tables, same migration records,
constant cost per schema. Tenant and Domain rows are bulk-inserted; fleet tenants have no owner.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from functools import cache

import psycopg
from django.conf import settings
from django.db import connection

from billing.selectors import plan_get
from tenants.context import set_schema_to_public
from tenants.models import Domain, Tenant, TenantStatus
from tenants.services import tenant_domain_for
from tenants.slugs import schema_name_for

SCHEMA_TOKEN = "__bench_schema__"


@cache
def template_ddl() -> str:
    """The template schema as SQL, its name replaced by SCHEMA_TOKEN; psql meta-commands dropped."""
    dump = subprocess.run(
        [
            "pg_dump",
            "--schema",
            settings.TENANT_BASE_SCHEMA,
            "--no-owner",
            "--no-privileges",
            "--inserts",
            os.environ["DATABASE_URL"],
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    # Every name pg_dump writes is schema-qualified: its session settings (SET …, search_path '')
    # would only leak into the connection that replays the script, so they are left out.
    lines = [line for line in dump.splitlines() if not line.startswith(("\\", "SET ", "SELECT pg_catalog.set_config"))]
    return re.sub(rf"\b{re.escape(settings.TENANT_BASE_SCHEMA)}\b", SCHEMA_TOKEN, "\n".join(lines))


def schema_ddl(schema_name: str) -> str:
    """SQL that creates `schema_name` as a copy of the template (tables, sequences, rows)."""
    return template_ddl().replace(SCHEMA_TOKEN, f'"{schema_name}"')


def fleet_ensure(count: int) -> float:
    """Make sure at least `count` tenants exist; returns the seconds it took to add the missing ones."""
    started = time.perf_counter()
    existing = Tenant.objects.count()
    if existing >= count:
        return 0.0
    plan = plan_get(code="starter")
    slugs = [f"bench-fleet-{index:03d}" for index in range(existing + 1, count + 1)]
    tenants = [
        Tenant(
            slug=slug, name=f"Bench {slug}", schema_name=schema_name_for(slug), plan=plan, status=TenantStatus.ACTIVE
        )
        for slug in slugs
    ]
    with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
        for tenant in tenants:
            conn.execute(schema_ddl(tenant.schema_name))
            conn.commit()  # one transaction per schema: hundreds at once exhaust the lock table
    set_schema_to_public()
    Tenant.objects.bulk_create(tenants)
    Domain.objects.bulk_create([Domain(domain=tenant_domain_for(t.slug), tenant=t, is_primary=True) for t in tenants])
    catalog_analyze()
    return time.perf_counter() - started


def catalog_analyze() -> None:
    """Refresh planner statistics, catalogs included, after the bench's own bulk DDL.

    Right after hundreds of schemas appear at once the statistics describe a far smaller catalog
    and clone_schema()'s information_schema queries run ~3x slower until autovacuum catches up
    (within a minute or so). A platform that grows tenant by tenant is always in the analysed
    state, so that is the state the timed rows start from.
    """
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
