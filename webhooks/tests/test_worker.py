"""Webhook delivery on a real Celery worker (in this process, over the test Redis broker).

The worker has its own database connection and sees committed rows only: the tenant here is
committed (outside pytest-django's transaction) and purged afterwards.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context
from pytest_httpserver import HTTPServer
from standardwebhooks.webhooks import Webhook

from audit.services import Actor
from tenants.models import Tenant
from testing.celery_worker import wait_until
from webhooks.events import webhook_event_publish
from webhooks.models import DeliveryStatus, EventType, WebhookDelivery
from webhooks.tasks import webhook_deliveries_sweep_task
from webhooks.tests.factories import endpoint_give

pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.filterwarnings("ignore:Call to deprecated setex:DeprecationWarning"),
]

ACTOR = Actor.system("worker-tests")


def test_worker_delivers_retries_and_signs(worker_tenant: Tenant, httpserver: HTTPServer, settings) -> None:
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    settings.WEBHOOKS_ALLOW_HTTP = True
    settings.WEBHOOK_RETRY_SCHEDULE_SECONDS = [0, 1, 1]
    httpserver.expect_ordered_request("/hook").respond_with_data("warming up", status=503)
    httpserver.expect_ordered_request("/hook").respond_with_data("ok")
    issued = endpoint_give(worker_tenant, url=httpserver.url_for("/hook"))

    event = webhook_event_publish(tenant=worker_tenant, event_type=EventType.LEAD_CREATED, data={"lead": 1})

    assert event is not None
    wait_until(lambda: len(httpserver.log) == 2)
    with schema_context(worker_tenant.schema_name):
        wait_until(lambda: WebhookDelivery.objects.get(event=event).status == DeliveryStatus.SUCCEEDED)
        delivery = WebhookDelivery.objects.get(event=event)
        statuses = [attempt.status_code for attempt in delivery.attempts.order_by("number")]
    assert statuses == [503, 200]
    (_, _), (request, _) = httpserver.log
    payload = Webhook(issued.secret).verify(request.get_data(), dict(request.headers))
    assert (payload["id"], payload["tenant_id"], payload["data"]) == (event.pk, worker_tenant.slug, {"lead": 1})
    httpserver.check_assertions()


def test_sweep_requeues_a_delivery_whose_task_was_lost(worker_tenant: Tenant, httpserver: HTTPServer, settings) -> None:
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    settings.WEBHOOKS_ALLOW_HTTP = True
    httpserver.expect_request("/hook").respond_with_data("ok")
    endpoint_give(worker_tenant, url=httpserver.url_for("/hook"))
    with schema_context(worker_tenant.schema_name):
        event = webhook_event_publish(tenant=worker_tenant, event_type=EventType.LEAD_CREATED, data={})
        wait_until(lambda: WebhookDelivery.objects.get(event=event).status == DeliveryStatus.SUCCEEDED)
        # Simulate a lost task: a pending delivery overdue by more than the grace, never queued.
        WebhookDelivery.objects.filter(event=event).update(
            status=DeliveryStatus.PENDING, next_attempt_at=timezone.now() - timedelta(minutes=5)
        )

    assert webhook_deliveries_sweep_task() >= 1  # the beat run, here in-process; the worker attempts

    with schema_context(worker_tenant.schema_name):
        wait_until(lambda: WebhookDelivery.objects.get(event=event).status == DeliveryStatus.SUCCEEDED)
    assert len(httpserver.log) == 2


def test_worker_fans_one_event_out_to_every_endpoint_and_retries_only_the_failed_one(
    worker_tenant: Tenant, httpserver: HTTPServer, settings
) -> None:
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    settings.WEBHOOKS_ALLOW_HTTP = True
    settings.WEBHOOK_RETRY_SCHEDULE_SECONDS = [0, 1, 1]
    for n in range(3):
        httpserver.expect_request(f"/ok/{n}").respond_with_data("ok")
    httpserver.expect_oneshot_request("/flaky").respond_with_data("warming up", status=503)
    httpserver.expect_oneshot_request("/flaky").respond_with_data("ok")
    secrets = [endpoint_give(worker_tenant, url=httpserver.url_for(f"/ok/{n}")).secret for n in range(3)]
    endpoint_give(worker_tenant, url=httpserver.url_for("/flaky"))

    event = webhook_event_publish(tenant=worker_tenant, event_type=EventType.LEAD_CREATED, data={"lead": 2})

    assert event is not None
    with schema_context(worker_tenant.schema_name):
        wait_until(
            lambda: (
                set(WebhookDelivery.objects.filter(event=event).values_list("status", flat=True))
                == {DeliveryStatus.SUCCEEDED}
            )
        )
        attempts = sorted(
            (delivery.endpoint.url.rsplit("/", 1)[-1], delivery.attempts.count())
            for delivery in WebhookDelivery.objects.filter(event=event).select_related("endpoint")
        )
    assert attempts == [("0", 1), ("1", 1), ("2", 1), ("flaky", 2)]
    paths = sorted(request.path for request, _ in httpserver.log)
    assert paths == ["/flaky", "/flaky", "/ok/0", "/ok/1", "/ok/2"]
    for request, _ in httpserver.log:
        if request.path.startswith("/ok/"):
            secret = secrets[int(request.path.rsplit("/", 1)[-1])]
            assert Webhook(secret).verify(request.get_data(), dict(request.headers))["id"] == event.pk
