"""Delivery of events to endpoints: fan-out, attempts in batches, the retry schedule, failure
tracking and automatic disabling.

One task per event (up to WEBHOOK_DELIVERY_BATCH deliveries): it claims the batch in one
statement — behind a backlog with up to WEBHOOK_DELIVERY_CATCH_UP other due deliveries of the
tenant — POSTs to every endpoint concurrently (webhooks.sending), records every attempt (one
statement when all succeeded, webhooks.attempt_log; else one transaction), and re-queues only
the deliveries that failed, each on its own schedule.

At least once: a delivery row exists (committed with its event) before any task is queued, a
worker claims it with a short lease instead of holding a lock across the HTTP call, and a beat
sweep re-queues whatever is due and unclaimed (a lost task, a worker killed mid-attempt, a
retry too far ahead to park in the broker). Running an attempt task twice does nothing extra:
the claim only succeeds while the delivery is pending, due and unleased.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from tenants.models import Tenant
from webhooks.attempt_log import attempts_record_all_succeeded
from webhooks.models import (
    DeliveryStatus,
    DeliveryTrigger,
    WebhookDelivery,
    WebhookDeliveryAttempt,
    WebhookEndpoint,
    WebhookEvent,
)
from webhooks.network import WebhookResponse
from webhooks.sending import Outgoing, endpoint_signing_secrets, webhook_payload, webhook_send_many

logger = logging.getLogger(__name__)
# Retries further ahead than this wait for the beat sweep instead of sitting in the broker.
_MAX_COUNTDOWN_SECONDS = 300


def retry_schedule() -> tuple[int, ...]:
    """Seconds to wait before each attempt: the first is immediate; its length is the attempt count."""
    return tuple(int(seconds) for seconds in settings.WEBHOOK_RETRY_SCHEDULE_SECONDS)


def webhook_deliveries_enqueue(*, schema_name: str, delivery_ids: list[str], countdown: int = 0) -> None:
    """Queue the attempts of `delivery_ids` in `schema_name` (the header the worker switches on),
    WEBHOOK_DELIVERY_BATCH deliveries per task: an event's deliveries to all its endpoints
    normally travel in one task and are POSTed concurrently."""
    from webhooks.tasks import webhook_deliveries_attempt_task

    size = max(1, int(settings.WEBHOOK_DELIVERY_BATCH))
    for start in range(0, len(delivery_ids), size):
        webhook_deliveries_attempt_task.apply_async(
            kwargs={"delivery_ids": delivery_ids[start : start + size]},
            countdown=countdown,
            headers={"_schema_name": schema_name},
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


def _claim(delivery_ids: list[str], *, now: datetime, also_due: int = 0) -> list[str]:
    """Lease the given deliveries that are pending, due and unleased, plus up to `also_due` other
    due ones of this tenant (oldest first), counting the attempt; the ids claimed. One statement;
    rows another worker is claiming are skipped (SKIP LOCKED), never attempted twice."""
    lease = now + timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS + settings.WEBHOOK_CONNECT_TIMEOUT_SECONDS + 30)
    table = connection.ops.quote_name(WebhookDelivery._meta.db_table)
    ids = list(delivery_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET lease_expires_at = %s, attempt_count = attempt_count + 1 "  # noqa: S608 (table name)
            f"WHERE id IN (SELECT id FROM {table} "
            "WHERE status = %s AND next_attempt_at <= %s AND (lease_expires_at IS NULL OR lease_expires_at < %s) "
            "AND (id = ANY(%s) OR %s) ORDER BY (id = ANY(%s)) DESC, next_attempt_at "
            "LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING id",
            [lease, DeliveryStatus.PENDING, now, now, ids, also_due > 0, ids, len(ids) + max(0, also_due)],
        )
        return [row[0] for row in cursor.fetchall()]


def _outgoing_for(*, tenant: Tenant, deliveries: list[WebhookDelivery], now: datetime) -> list[Outgoing]:
    bodies: dict[str, bytes] = {}
    secrets: dict[str, tuple[str, ...]] = {}
    outgoing = []
    for delivery in deliveries:
        event, endpoint = delivery.event, delivery.endpoint
        if event.pk not in bodies:
            bodies[event.pk] = webhook_payload(tenant=tenant, event=event)
        if endpoint.pk not in secrets:
            secrets[endpoint.pk] = endpoint_signing_secrets(endpoint=endpoint, now=now)
        outgoing.append(
            Outgoing(url=endpoint.url, msg_id=event.pk, body=bodies[event.pk], secrets=secrets[endpoint.pk])
        )
    return outgoing


def webhook_deliveries_attempt(
    *, tenant: Tenant, delivery_ids: list[str], also_due: int = 0
) -> list[WebhookDeliveryAttempt]:
    """Make the next attempt of every given delivery that is due, all POSTs at once, and record
    them; the attempts made (none for a delivery that was not due or is already claimed).

    `also_due` > 0 also takes up to that many other due deliveries of the tenant, oldest first:
    behind a backlog, one task then carries many events' deliveries (their own tasks find them
    claimed or done and do nothing), so the worker catches up instead of paying a task's fixed
    cost per event.

    A success ends its delivery. A failure schedules that delivery's next attempt from the retry
    schedule (test pings get one attempt) or fails it when the schedule is used up, and may
    disable an endpoint that has failed for WEBHOOK_DISABLE_AFTER_DAYS. Deliveries to a disabled
    endpoint fail without an attempt.
    """
    now = timezone.now()
    claimed = _claim(delivery_ids, now=now, also_due=also_due)
    if not claimed:
        return []
    deliveries = list(WebhookDelivery.objects.select_related("event", "endpoint").filter(id__in=claimed).order_by("id"))
    disabled = [delivery.id for delivery in deliveries if not delivery.endpoint.is_enabled]
    if disabled:
        WebhookDelivery.objects.filter(id__in=disabled).update(
            status=DeliveryStatus.FAILED, lease_expires_at=None, next_attempt_at=None
        )
    sendable = [delivery for delivery in deliveries if delivery.endpoint.is_enabled]
    responses = webhook_send_many(_outgoing_for(tenant=tenant, deliveries=sendable, now=now))
    return _record(tenant=tenant, sent=list(zip(sendable, responses, strict=True)), attempted_at=now)


def webhook_delivery_attempt(*, tenant: Tenant, delivery_id: str) -> WebhookDeliveryAttempt | None:
    """The next attempt of one delivery (see `webhook_deliveries_attempt`); None if nothing was due."""
    attempts = webhook_deliveries_attempt(tenant=tenant, delivery_ids=[delivery_id])
    return attempts[0] if attempts else None


def _attempt_row(
    delivery: WebhookDelivery, response: WebhookResponse, attempted_at: datetime
) -> WebhookDeliveryAttempt:
    return WebhookDeliveryAttempt(
        delivery=delivery,
        number=delivery.attempt_count,
        attempted_at=attempted_at,
        url=delivery.endpoint.url,
        status_code=response.status_code,
        latency_ms=response.latency_ms,
        response_excerpt=response.excerpt,
        error=response.error[:500],
        succeeded=response.succeeded,
    )


def _after_failure(delivery: WebhookDelivery, *, schedule: tuple[int, ...], attempted_at: datetime) -> int | None:
    """Schedule the next attempt (its delay in seconds) or fail the delivery (None)."""
    number = delivery.attempt_count
    retry_in: int | None = None
    if number < len(schedule) and delivery.trigger != DeliveryTrigger.TEST:
        retry_in = schedule[number]
        delivery.next_attempt_at = timezone.now() + timedelta(seconds=retry_in)
    else:
        delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
    delivery.last_attempt_at, delivery.lease_expires_at = attempted_at, None
    delivery.save(update_fields=["status", "next_attempt_at", "last_attempt_at", "lease_expires_at"])
    return retry_in


def _record(
    *, tenant: Tenant, sent: list[tuple[WebhookDelivery, WebhookResponse]], attempted_at: datetime
) -> list[WebhookDeliveryAttempt]:
    from webhooks.services import webhook_endpoint_record_outcome

    rows = [_attempt_row(delivery, response, attempted_at) for delivery, response in sent]
    healthy = all(response.succeeded and delivery.endpoint.failing_since is None for delivery, response in sent)
    if rows and healthy:
        attempts_record_all_succeeded(attempts=rows, attempted_at=attempted_at)
        for delivery, response in sent:
            _log_attempt(tenant=tenant, delivery=delivery, response=response)
        return rows
    schedule = retry_schedule()
    retries: dict[int, list[str]] = defaultdict(list)
    with transaction.atomic():
        attempts = WebhookDeliveryAttempt.objects.bulk_create(rows)
        succeeded = [delivery.id for delivery, response in sent if response.succeeded]
        if succeeded:
            WebhookDelivery.objects.filter(id__in=succeeded).update(
                status=DeliveryStatus.SUCCEEDED,
                next_attempt_at=None,
                last_attempt_at=attempted_at,
                lease_expires_at=None,
            )
        for delivery, response in sent:
            if not response.succeeded:
                retry_in = _after_failure(delivery, schedule=schedule, attempted_at=attempted_at)
                if retry_in is not None and retry_in <= _MAX_COUNTDOWN_SECONDS:
                    retries[retry_in].append(delivery.id)
        # After every delivery's own update: disabling an endpoint fails its pending deliveries.
        for delivery, response in sent:
            webhook_endpoint_record_outcome(
                tenant=tenant, endpoint=delivery.endpoint, succeeded=response.succeeded, at=attempted_at
            )
        for countdown, ids in retries.items():
            _enqueue_on_commit(tenant=tenant, delivery_ids=ids, countdown=countdown)
    for delivery, response in sent:
        _log_attempt(tenant=tenant, delivery=delivery, response=response)
    return attempts


def _log_attempt(*, tenant: Tenant, delivery: WebhookDelivery, response: WebhookResponse) -> None:
    log = logger.info if response.succeeded else logger.warning
    log(
        "webhook delivery %s attempt %d tenant=%s endpoint=%s status=%s latency_ms=%d %s",
        delivery.id,
        delivery.attempt_count,
        tenant.slug,
        delivery.endpoint_id,
        response.status_code,
        response.latency_ms,
        response.error,
    )


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
