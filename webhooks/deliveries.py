"""Delivery of events to endpoints: fan-out, one HTTP attempt at a time, the retry schedule,
failure tracking and automatic disabling.

At least once: a delivery row exists (committed with its event) before any task is queued, a
worker claims it with a short lease instead of holding a lock across the HTTP call, and a beat
sweep re-queues whatever is due and unclaimed (a lost task, a worker killed mid-attempt, a
retry too far ahead to park in the broker). Running an attempt task twice does nothing extra:
the claim only succeeds while the delivery is pending, due and unleased.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from config.crypto import decrypt_text
from config.errors import WebhookTargetRefused
from tenants.models import Tenant
from webhooks.models import (
    DeliveryStatus,
    DeliveryTrigger,
    WebhookDelivery,
    WebhookDeliveryAttempt,
    WebhookEndpoint,
    WebhookEvent,
)
from webhooks.network import WebhookResponse, webhook_post, webhook_url_check
from webhooks.signing import webhook_signed_headers

logger = logging.getLogger(__name__)

USER_AGENT = "Agentry-Webhooks/1.0 (+https://docs.agentry.dev/webhooks)"
# Retries further ahead than this wait for the beat sweep instead of sitting in the broker.
_MAX_COUNTDOWN_SECONDS = 300


def retry_schedule() -> tuple[int, ...]:
    """Seconds to wait before each attempt: the first is immediate; its length is the attempt count."""
    return tuple(int(seconds) for seconds in settings.WEBHOOK_RETRY_SCHEDULE_SECONDS)


def webhook_deliveries_enqueue(*, schema_name: str, delivery_ids: list[str], countdown: int = 0) -> None:
    """Queue one attempt task per delivery in `schema_name` (the header the worker switches on)."""
    from webhooks.tasks import webhook_delivery_attempt_task

    for delivery_id in delivery_ids:
        webhook_delivery_attempt_task.apply_async(
            kwargs={"delivery_id": delivery_id}, countdown=countdown, headers={"_schema_name": schema_name}
        )


def _enqueue_on_commit(*, tenant: Tenant, delivery_ids: list[str], countdown: int = 0) -> None:
    if not delivery_ids:
        return
    schema_name = tenant.schema_name
    # robust: a broker outage must not fail the committed request; the sweep queues them later.
    transaction.on_commit(
        lambda: webhook_deliveries_enqueue(schema_name=schema_name, delivery_ids=delivery_ids, countdown=countdown),
        robust=True,
    )


def webhook_deliveries_create_for_event(*, tenant: Tenant, event: WebhookEvent) -> list[WebhookDelivery]:
    """One pending delivery per enabled endpoint subscribed to the event; queued on commit.

    Runs in the tenant's schema, inside the transaction that recorded the event.
    """
    endpoints = WebhookEndpoint.objects.filter(is_enabled=True, event_types__contains=[event.type])
    return webhook_deliveries_create(tenant=tenant, event=event, endpoints=list(endpoints))


def webhook_deliveries_create(
    *,
    tenant: Tenant,
    event: WebhookEvent,
    endpoints: list[WebhookEndpoint],
    trigger: DeliveryTrigger = DeliveryTrigger.EVENT,
) -> list[WebhookDelivery]:
    now = timezone.now()
    deliveries = WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(event=event, endpoint=endpoint, trigger=trigger, next_attempt_at=now, created_at=now)
            for endpoint in endpoints
        ]
    )
    _enqueue_on_commit(tenant=tenant, delivery_ids=[delivery.id for delivery in deliveries])
    return deliveries


def webhook_payload(*, tenant: Tenant, event: WebhookEvent) -> bytes:
    """The body every endpoint gets for `event`: the same bytes on every attempt."""
    payload = {
        "id": event.id,
        "type": event.type,
        "timestamp": event.created_at.isoformat().replace("+00:00", "Z"),
        "tenant_id": tenant.slug,
        "data": event.data,
    }
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def endpoint_signing_secrets(*, endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    """The current secret, then the previous one while its rotation overlap lasts."""
    found = [decrypt_text(endpoint.secret_encrypted)]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret_encrypted and expires is not None and expires > now:
        found.append(decrypt_text(endpoint.previous_secret_encrypted))
    return found


def _claim(delivery_id: str, *, now: datetime) -> bool:
    lease = now + timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS + settings.WEBHOOK_CONNECT_TIMEOUT_SECONDS + 30)
    claimed = WebhookDelivery.objects.filter(
        Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now),
        id=delivery_id,
        status=DeliveryStatus.PENDING,
        next_attempt_at__lte=now,
    ).update(lease_expires_at=lease, attempt_count=F("attempt_count") + 1)
    return claimed == 1


def _send(*, tenant: Tenant, delivery: WebhookDelivery, now: datetime) -> tuple[str, WebhookResponse]:
    endpoint = delivery.endpoint
    try:
        target = webhook_url_check(endpoint.url)  # again at delivery: DNS may have changed
    except WebhookTargetRefused as exc:
        return endpoint.url, WebhookResponse(status_code=None, latency_ms=0, excerpt="", error=exc.detail[:500])
    body = webhook_payload(tenant=tenant, event=delivery.event)
    headers = webhook_signed_headers(
        secrets=endpoint_signing_secrets(endpoint=endpoint, now=now),
        msg_id=delivery.event_id,
        timestamp=int(time.time()),
        body=body,
    )
    headers |= {"Content-Type": "application/json", "User-Agent": USER_AGENT}
    return endpoint.url, webhook_post(target=target, headers=headers, body=body)


def webhook_delivery_attempt(*, tenant: Tenant, delivery_id: str) -> WebhookDeliveryAttempt | None:
    """Make the next attempt of a due delivery and record it; None if nothing was due.

    Success ends the delivery. A failure schedules the next attempt from the retry schedule
    (test pings get one attempt), or fails the delivery when the schedule is used up, and
    may disable an endpoint that has failed for WEBHOOK_DISABLE_AFTER_DAYS.
    """
    now = timezone.now()
    if not _claim(delivery_id, now=now):
        return None
    delivery = WebhookDelivery.objects.select_related("event", "endpoint").get(id=delivery_id)
    if not delivery.endpoint.is_enabled:
        WebhookDelivery.objects.filter(id=delivery_id).update(
            status=DeliveryStatus.FAILED, lease_expires_at=None, next_attempt_at=None
        )
        return None
    url, response = _send(tenant=tenant, delivery=delivery, now=now)
    return _record(tenant=tenant, delivery=delivery, url=url, response=response, attempted_at=now)


def _record(
    *, tenant: Tenant, delivery: WebhookDelivery, url: str, response: WebhookResponse, attempted_at: datetime
) -> WebhookDeliveryAttempt:
    from webhooks.services import webhook_endpoint_record_outcome

    schedule = retry_schedule()
    number = delivery.attempt_count
    with transaction.atomic():
        attempt = WebhookDeliveryAttempt.objects.create(
            delivery=delivery,
            number=number,
            attempted_at=attempted_at,
            url=url,
            status_code=response.status_code,
            latency_ms=response.latency_ms,
            response_excerpt=response.excerpt,
            error=response.error[:500],
            succeeded=response.succeeded,
        )
        delivery.last_attempt_at = attempted_at
        delivery.lease_expires_at = None
        retry_in: int | None = None
        if response.succeeded:
            delivery.status, delivery.next_attempt_at = DeliveryStatus.SUCCEEDED, None
        elif number < len(schedule) and delivery.trigger != DeliveryTrigger.TEST:
            retry_in = schedule[number]
            delivery.next_attempt_at = timezone.now() + timedelta(seconds=retry_in)
        else:
            delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
        delivery.save(update_fields=["status", "next_attempt_at", "last_attempt_at", "lease_expires_at"])
        webhook_endpoint_record_outcome(
            tenant=tenant, endpoint=delivery.endpoint, succeeded=response.succeeded, at=attempted_at
        )
        if retry_in is not None and retry_in <= _MAX_COUNTDOWN_SECONDS:
            _enqueue_on_commit(tenant=tenant, delivery_ids=[delivery.id], countdown=retry_in)
    log = logger.info if response.succeeded else logger.warning
    log(
        "webhook delivery %s attempt %d tenant=%s endpoint=%s status=%s latency_ms=%d %s",
        delivery.id,
        number,
        tenant.slug,
        delivery.endpoint_id,
        response.status_code,
        response.latency_ms,
        response.error,
    )
    return attempt


def webhook_deliveries_due_ids(*, now: datetime) -> list[str]:
    """Pending, unclaimed deliveries of the current tenant whose attempt is overdue by the sweep grace.

    The grace keeps the sweep from duplicating tasks the broker is about to run anyway.
    """
    overdue = now - timedelta(seconds=settings.WEBHOOK_SWEEP_GRACE_SECONDS)
    return list(
        WebhookDelivery.objects.filter(
            Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now),
            status=DeliveryStatus.PENDING,
            next_attempt_at__lte=overdue,
        )
        .order_by("next_attempt_at")
        .values_list("id", flat=True)[: settings.WEBHOOK_SWEEP_BATCH]
    )
