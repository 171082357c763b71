"""The ways a tenant schema can be made, each a drop-in for `Tenant.create_schema` in benchmark 1."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any
from unittest import mock

from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django_tenants.models import TenantMixin
from django_tenants.utils import schema_context

from bench.fleet import schema_ddl
from tenants.context import set_schema_to_public
from tenants.models import Tenant

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


STEPS: dict[str, tuple[str, SchemaStep]] = {
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
