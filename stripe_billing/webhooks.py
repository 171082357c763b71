"""Stripe webhooks: verify and record (fast, in the request), then process (a Celery task).

Receiving only verifies the signature and stores the event in the inbox, keyed by its id: a
second delivery of the same event is counted, not stored or processed again (dj-stripe #1239).
The task is queued on commit; a sweeper re-queues events whose task was lost (dj-stripe #832),
so an accepted event is never dropped. Processing is idempotent and order-independent: see
refresh.py. Failures are recorded on the event (admin: "Reprocess") and retried with backoff.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from functools import partial
from typing import Any

import stripe
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from config.errors import WebhookSignatureInvalid
from stripe_billing.mirror import stripe_time
from stripe_billing.models import StripeWebhookEvent, WebhookEventStatus
from stripe_billing.refresh import customer_link_lock, invoice_refresh, subscription_refresh
from tenants.context import on_public_schema
from tenants.models import Tenant

logger = logging.getLogger(__name__)


class ObjectKind:
    SUBSCRIPTION = "subscription"
    INVOICE = "invoice"
    CHECKOUT_SESSION = "checkout_session"
    SCHEDULE = "subscription_schedule"


# The events we act on, by what they point at. Anything else is recorded and ignored.
EVENT_KINDS: dict[str, str] = {
    **dict.fromkeys(
        (
            "customer.subscription.created",
            "customer.subscription.updated",
            "customer.subscription.deleted",
            "customer.subscription.paused",
            "customer.subscription.resumed",
            "customer.subscription.pending_update_applied",
            "customer.subscription.pending_update_expired",
        ),
        ObjectKind.SUBSCRIPTION,
    ),
    **dict.fromkeys(
        (
            "invoice.finalized",
            "invoice.paid",
            "invoice.payment_succeeded",
            "invoice.payment_failed",
            "invoice.payment_action_required",
            "invoice.voided",
            "invoice.marked_uncollectible",
            "invoice.updated",
        ),
        ObjectKind.INVOICE,
    ),
    "checkout.session.completed": ObjectKind.CHECKOUT_SESSION,
    **dict.fromkeys(
        (
            "subscription_schedule.created",
            "subscription_schedule.updated",
            "subscription_schedule.released",
            "subscription_schedule.canceled",
            "subscription_schedule.completed",
        ),
        ObjectKind.SCHEDULE,
    ),
}


@dataclass(frozen=True)
class ReceivedEvent:
    event_id: str
    is_duplicate: bool


def _queue(event_id: str) -> None:
    from stripe_billing.tasks import stripe_webhook_event_process_task

    stripe_webhook_event_process_task.delay(event_id=event_id)


def _parse(payload: bytes, signature: str) -> Any:
    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret:
        logger.error("stripe webhook refused: STRIPE_WEBHOOK_SECRET is not set")
        raise WebhookSignatureInvalid("Webhooks are not configured.")
    try:
        return stripe.Webhook.construct_event(
            payload.decode("utf-8"), signature, secret, tolerance=settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS
        )
    except stripe.SignatureVerificationError:
        # The payload and header are not logged: only that (and, by the caller, from where) it failed.
        raise WebhookSignatureInvalid("The Stripe-Signature header does not match the payload.") from None
    except (UnicodeDecodeError, ValueError):  # signed correctly but not a JSON event
        raise WebhookSignatureInvalid("The payload is not a Stripe event.") from None


@on_public_schema
def webhook_event_receive(*, payload: bytes, signature: str) -> ReceivedEvent:
    """Verify a delivery and record its event once; queue processing after commit.

    A repeated delivery only counts up `deliveries` (and re-queues an event not yet processed).
    Raises `WebhookSignatureInvalid` for a missing or wrong signature, a stale timestamp, or a
    payload that is not an event.
    """
    event = _parse(payload, signature)
    data = event.get("data", {}).get("object") or {}
    with transaction.atomic():
        row, created = StripeWebhookEvent.objects.get_or_create(
            event_id=event["id"],
            defaults={
                "type": event["type"],
                "livemode": bool(event.get("livemode")),
                "api_version": event.get("api_version") or "",
                "stripe_created": stripe_time(event["created"]) or timezone.now(),
                "object_id": data.get("id") or "",
                "payload": json.loads(payload),  # as delivered (to_dict() would hold Decimals)
            },
        )
        if not created:
            StripeWebhookEvent.objects.filter(pk=row.pk).update(deliveries=F("deliveries") + 1)
        if created or row.status in (WebhookEventStatus.PENDING, WebhookEventStatus.FAILED):
            # robust: a broker outage must not turn an accepted event into a 500; the sweeper re-queues it.
            transaction.on_commit(lambda: _queue(row.event_id), robust=True)
    return ReceivedEvent(event_id=row.event_id, is_duplicate=not created)


def _ref(value: Any) -> str:
    if not value:
        return ""
    return value if isinstance(value, str) else str(value.get("id") or "")


def _dispatch(event: StripeWebhookEvent) -> tuple[str, Tenant | None]:
    """Apply what the event points at; (status, tenant). Runs in the caller's transaction."""
    kind = EVENT_KINDS.get(event.type)
    data = event.payload.get("data", {}).get("object") or {}
    if kind is None or event.livemode != settings.STRIPE_LIVE_MODE:
        return WebhookEventStatus.IGNORED, None
    link = customer_link_lock(customer_id=_ref(data.get("customer")))
    if link is None:  # another application's customer on the same Stripe account
        return WebhookEventStatus.IGNORED, None
    if kind == ObjectKind.SUBSCRIPTION:
        subscription_refresh(link=link, subscription_id=data["id"])
    elif kind == ObjectKind.INVOICE:
        invoice_refresh(link=link, invoice_id=data["id"])
    else:
        subscription_id = _ref(data.get("subscription")) or _ref(data.get("released_subscription"))
        if not subscription_id:
            return WebhookEventStatus.IGNORED, link.tenant
        subscription_refresh(link=link, subscription_id=subscription_id)
    return WebhookEventStatus.PROCESSED, link.tenant


def _failure_record(event_id: str, error: Exception) -> None:
    StripeWebhookEvent.objects.filter(event_id=event_id).update(
        status=WebhookEventStatus.FAILED,
        attempts=F("attempts") + 1,
        last_error=f"{type(error).__name__}: {error}"[:2000],
    )


@on_public_schema
def webhook_event_process(*, event_id: str) -> str:
    """Process a recorded event once; returns its status. Safe to call again at any time (a
    processed or ignored event is left alone). On failure the error is recorded on the event
    (status `failed`) and re-raised, for the task to retry."""
    try:
        with transaction.atomic():
            event = StripeWebhookEvent.objects.select_for_update().filter(event_id=event_id).first()
            if event is None or event.status in (WebhookEventStatus.PROCESSED, WebhookEventStatus.IGNORED):
                return event.status if event else WebhookEventStatus.IGNORED
            status, tenant = _dispatch(event)
            event.status, event.tenant, event.last_error = status, tenant, ""
            event.attempts += 1
            event.processed_at = timezone.now()
            event.save(update_fields=["status", "tenant", "last_error", "attempts", "processed_at"])
    except Exception as error:
        _failure_record(event_id, error)
        logger.warning("stripe event %s failed: %s", event_id, type(error).__name__)
        raise
    logger.info("stripe event %s %s tenant=%s", event_id, status, tenant.slug if tenant else "-")
    return status


@on_public_schema
def webhook_event_reprocess(*, event_ids: list[str]) -> int:
    """Staff's "Reprocess": queue failed or pending events again; returns how many were queued."""
    queued = list(
        StripeWebhookEvent.objects.filter(
            event_id__in=event_ids, status__in=(WebhookEventStatus.FAILED, WebhookEventStatus.PENDING)
        ).values_list("event_id", flat=True)
    )
    for event_id in queued:
        transaction.on_commit(partial(_queue, event_id), robust=True)
    return len(queued)
