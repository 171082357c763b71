"""Webhook delivery on a real Celery worker (in this process, over the test Redis broker).

The worker has its own database connection and sees committed rows only: the tenant here is
committed (outside pytest-django's transaction) and purged afterwards.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.utils import timezone
from django_tenants.utils import schema_context
from pytest_httpserver import HTTPServer
from standardwebhooks.webhooks import Webhook

from audit.services import Actor
from config.celery import app as celery_app
from tenants.models import Tenant
from tenants.services import tenant_provision, tenant_purge, tenant_request_deletion
from webhooks.events import webhook_event_publish
from webhooks.models import DeliveryStatus, EventType, WebhookDelivery
from webhooks.tasks import webhook_deliveries_sweep_task
from webhooks.tests.factories import endpoint_give

pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.filterwarnings("ignore:Call to deprecated setex:DeprecationWarning"),
]

ACTOR = Actor.system("worker-tests")


@pytest.fixture(scope="module")
def worker(django_db_setup: None, django_db_blocker) -> Iterator[None]:  # type: ignore[no-untyped-def]
    hijack_root_logger = celery_app.conf.worker_hijack_root_logger
    celery_app.conf.worker_hijack_root_logger = False
    try:
        with django_db_blocker.unblock():
            celery_app.control.purge()
            with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
                yield
    finally:
        celery_app.conf.worker_hijack_root_logger = hijack_root_logger


@pytest.fixture
def committed_tenant(worker: None, django_db_blocker) -> Iterator[Tenant]:  # type: ignore[no-untyped-def]
    slug = f"hooks-{uuid.uuid4().hex[:8]}"
    with django_db_blocker.unblock():
        tenant = tenant_provision(
            slug=slug,
            name=f"{slug} Ltd",
            owner_email=f"owner@{slug}.test",
            owner_password=None,
            plan_code="professional",
            actor=ACTOR,
        ).tenant
        try:
            yield tenant
        finally:
            tenant_request_deletion(tenant=tenant, confirm_slug=tenant.slug, actor=ACTOR, grace_days=0)
            Tenant.objects.filter(pk=tenant.pk).update(purge_after=timezone.now() - timedelta(seconds=1))
            tenant.refresh_from_db()
            tenant_purge(tenant=tenant, actor=ACTOR)


def _wait_for(condition: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the worker"
        time.sleep(0.1)


def test_worker_delivers_retries_and_signs(committed_tenant: Tenant, httpserver: HTTPServer, settings) -> None:
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    settings.WEBHOOKS_ALLOW_HTTP = True
    settings.WEBHOOK_RETRY_SCHEDULE_SECONDS = [0, 1, 1]
    httpserver.expect_ordered_request("/hook").respond_with_data("warming up", status=503)
    httpserver.expect_ordered_request("/hook").respond_with_data("ok")
    issued = endpoint_give(committed_tenant, url=httpserver.url_for("/hook"))

    event = webhook_event_publish(tenant=committed_tenant, event_type=EventType.LEAD_CREATED, data={"lead": 1})

    assert event is not None
    _wait_for(lambda: len(httpserver.log) == 2)
    with schema_context(committed_tenant.schema_name):
        _wait_for(lambda: WebhookDelivery.objects.get(event=event).status == DeliveryStatus.SUCCEEDED)
        delivery = WebhookDelivery.objects.get(event=event)
        statuses = [attempt.status_code for attempt in delivery.attempts.order_by("number")]
    assert statuses == [503, 200]
    (_, _), (request, _) = httpserver.log
    payload = Webhook(issued.secret).verify(request.get_data(), dict(request.headers))
    assert (payload["id"], payload["tenant_id"], payload["data"]) == (event.pk, committed_tenant.slug, {"lead": 1})
    httpserver.check_assertions()


def test_sweep_requeues_a_delivery_whose_task_was_lost(
    committed_tenant: Tenant, httpserver: HTTPServer, settings
) -> None:
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    settings.WEBHOOKS_ALLOW_HTTP = True
    httpserver.expect_request("/hook").respond_with_data("ok")
    endpoint_give(committed_tenant, url=httpserver.url_for("/hook"))
    with schema_context(committed_tenant.schema_name):
        event = webhook_event_publish(tenant=committed_tenant, event_type=EventType.LEAD_CREATED, data={})
        _wait_for(lambda: WebhookDelivery.objects.get(event=event).status == DeliveryStatus.SUCCEEDED)
        # Simulate a lost task: a pending delivery overdue by more than the grace, never queued.
        WebhookDelivery.objects.filter(event=event).update(
            status=DeliveryStatus.PENDING, next_attempt_at=timezone.now() - timedelta(minutes=5)
        )

    assert webhook_deliveries_sweep_task() >= 1  # the beat run, here in-process; the worker attempts

    with schema_context(committed_tenant.schema_name):
        _wait_for(lambda: WebhookDelivery.objects.get(event=event).status == DeliveryStatus.SUCCEEDED)
    assert len(httpserver.log) == 2
