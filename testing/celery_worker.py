"""A real Celery worker for tests (in this process, over the test Redis broker), and committed tenants for it.

The worker runs on its own thread and database connection, so it only sees committed rows:
tests that use it commit uniquely named tenants and purge them afterwards. Most tests take the
module-scoped `worker` fixture from the root conftest; `celery_worker_running` is for a test that
starts the worker itself (e.g. a browser test).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

from celery.contrib.testing.worker import start_worker
from django.utils import timezone

from audit.services import Actor
from config.celery import app as celery_app
from tenants.models import Tenant
from tenants.services import tenant_provision, tenant_purge, tenant_request_deletion

ACTOR = Actor.system("worker-tests")


@contextmanager
def celery_worker_running() -> Iterator[None]:
    """A solo-pool worker on the test broker (messages earlier tests left are dropped first)."""
    hijack_root_logger = celery_app.conf.worker_hijack_root_logger
    celery_app.conf.worker_hijack_root_logger = False  # keep the suite's logging configuration
    try:
        celery_app.control.purge()
        with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
            yield
    finally:
        celery_app.conf.worker_hijack_root_logger = hijack_root_logger


def committed_tenant(prefix: str, *, plan_code: str = "starter") -> Tenant:
    """A new tenant, committed (the worker sees it); the caller purges it with `purge_now`."""
    slug = f"{prefix}-{uuid.uuid4().hex[:8]}"
    return tenant_provision(
        slug=slug,
        name=f"{slug} Ltd",
        owner_email=f"owner@{slug}.test",
        owner_password=None,
        plan_code=plan_code,
        actor=ACTOR,
    ).tenant


@contextmanager
def committed_tenant_purged_after(prefix: str, *, plan_code: str = "starter") -> Iterator[Tenant]:
    tenant = committed_tenant(prefix, plan_code=plan_code)
    try:
        yield tenant
    finally:
        purge_now(tenant)


def purge_now(tenant: Tenant) -> None:
    """End the grace period of a tenant a test left behind and purge it (schema, files, rows)."""
    tenant.refresh_from_db()
    if not tenant.is_deleted:
        tenant_request_deletion(tenant=tenant, confirm_slug=tenant.slug, actor=ACTOR, grace_days=0)
    Tenant.objects.filter(pk=tenant.pk).update(purge_after=timezone.now() - timedelta(seconds=1))
    tenant.refresh_from_db()
    tenant_purge(tenant=tenant, actor=ACTOR)


def wait_until(condition: Callable[[], bool], *, timeout: float = 30.0) -> None:
    """Poll until the worker has done what `condition` checks, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not true after {timeout} s")
        time.sleep(0.1)
