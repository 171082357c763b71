"""Retention: ended events older than WEBHOOK_EVENT_RETENTION_DAYS go, with their deliveries and
attempt logs, in every tenant's schema; pending ones and recent ones stay."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from tenants.context import NoTenantActive
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookDeliveryAttempt, WebhookEvent
from webhooks.retention import webhook_events_prune
from webhooks.tasks import webhook_events_prune_task
from webhooks.tests.factories import endpoint_give, event_give


def _age(schema: str, event: WebhookEvent, days: float) -> None:
    with schema_context(schema):
        WebhookEvent.objects.filter(pk=event.pk).update(created_at=timezone.now() - timedelta(days=days))


def _end_deliveries(schema: str, event: WebhookEvent, status: str) -> None:
    with schema_context(schema):
        for delivery in WebhookDelivery.objects.filter(event=event):
            WebhookDeliveryAttempt.objects.create(
                delivery=delivery, number=1, attempted_at=timezone.now(), url=delivery.endpoint.url, status_code=200
            )
        WebhookDelivery.objects.filter(event=event).update(status=status, next_attempt_at=None)


def test_prune_deletes_old_ended_events_with_their_log_and_keeps_the_rest(tenant_a, settings):
    settings.WEBHOOK_EVENT_RETENTION_DAYS = 30
    endpoint_give(tenant_a.tenant)
    delivered, failed, pending, recent = (event_give(tenant_a.tenant) for _ in range(4))
    _end_deliveries(tenant_a.schema, delivered, DeliveryStatus.SUCCEEDED)
    _end_deliveries(tenant_a.schema, failed, DeliveryStatus.FAILED)
    _end_deliveries(tenant_a.schema, recent, DeliveryStatus.SUCCEEDED)
    for event in (delivered, failed, pending):
        _age(tenant_a.schema, event, days=31)
    _age(tenant_a.schema, recent, days=29)

    assert webhook_events_prune_task() >= 2

    mine = [delivered.pk, failed.pk, pending.pk, recent.pk]
    with schema_context(tenant_a.schema):
        assert set(WebhookEvent.objects.filter(pk__in=mine).values_list("id", flat=True)) == {pending.pk, recent.pk}
        assert set(WebhookDelivery.objects.values_list("event_id", flat=True)) == {pending.pk, recent.pk}
        assert set(WebhookDeliveryAttempt.objects.values_list("delivery__event_id", flat=True)) == {recent.pk}
    assert webhook_events_prune_task() == 0  # a second run changes nothing


def test_prune_runs_in_every_tenant_and_only_in_its_own_schema(tenant_a, tenant_b, settings):
    settings.WEBHOOK_EVENT_RETENTION_DAYS = 7
    old_a = event_give(tenant_a.tenant)  # no endpoint: an event with no delivery has ended
    _age(tenant_a.schema, old_a, days=8)
    with schema_context(tenant_b.schema):
        old_b = WebhookEvent.objects.create(type="lead.created", created_at=timezone.now() - timedelta(days=8))
        new_b = WebhookEvent.objects.create(type="lead.created")

    webhook_events_prune_task()

    with schema_context(tenant_a.schema):
        assert not WebhookEvent.objects.filter(pk=old_a.pk).exists()
    with schema_context(tenant_b.schema):
        assert list(WebhookEvent.objects.filter(pk__in=[old_b.pk, new_b.pk]).values_list("id", flat=True)) == [new_b.pk]


def test_prune_refuses_to_run_on_the_public_schema(db):
    with pytest.raises(NoTenantActive):
        webhook_events_prune(older_than=timezone.now())
