"""Every write to webhook endpoints: create, update, delete, rotate the secret, send a test,
replay an event, and the failure bookkeeping that disables an endpoint. All run in the
tenant's schema (switched to if needed) and the user-initiated ones are audited there.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import Role, User
from audit.services import Actor, audit_record
from billing.entitlements import entitlement_require_feature
from billing.models import Feature
from config.crypto import encrypt_text
from config.errors import Conflict, ValidationFailed
from tenants.models import Tenant
from webhooks.deliveries import webhook_deliveries_create
from webhooks.models import (
    SUBSCRIBABLE_EVENT_TYPE_CHOICES,
    DeliveryStatus,
    DeliveryTrigger,
    EventType,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from webhooks.network import webhook_url_check
from webhooks.signing import webhook_secret_generate

logger = logging.getLogger(__name__)

MAX_ENDPOINTS_PER_TENANT = 20
MAX_ROTATION_OVERLAP = timedelta(days=7)
SUBSCRIBABLE_EVENT_TYPES = tuple(value for value, _ in SUBSCRIBABLE_EVENT_TYPE_CHOICES)
_SYSTEM = Actor.system("webhooks")


@dataclass(frozen=True)
class IssuedWebhookEndpoint:
    endpoint: WebhookEndpoint
    secret: str  # the plain `whsec_…`, shown exactly once


def _event_types_checked(event_types: list[str]) -> list[str]:
    unknown = sorted(set(event_types) - set(SUBSCRIBABLE_EVENT_TYPES))
    if unknown:
        message = f"Unknown event types: {', '.join(unknown)}."
        raise ValidationFailed(message, errors={"event_types": [message]})
    if not event_types:
        message = "Subscribe to at least one event type."
        raise ValidationFailed(message, errors={"event_types": [message]})
    return sorted(set(event_types))


def _url_checked(url: str) -> str:
    url = url.strip()
    if len(url) > 2000:
        raise ValidationFailed("The URL is too long (2000 characters at most).", errors={"url": ["Too long."]})
    webhook_url_check(url)  # raises WebhookTargetRefused
    return url


def webhook_endpoint_create(
    *, tenant: Tenant, url: str, event_types: list[str], actor: Actor, description: str = "", is_enabled: bool = True
) -> IssuedWebhookEndpoint:
    """Register an endpoint with a new secret (returned once, stored encrypted).

    Raises FeatureNotInPlan, WebhookTargetRefused (URL not https or not public), ValidationFailed, Conflict.
    """
    entitlement_require_feature(tenant=tenant, feature=Feature.WEBHOOKS)
    checked_types = _event_types_checked(event_types)
    checked_url = _url_checked(url)
    secret = webhook_secret_generate()
    with tenant_context(tenant), transaction.atomic():
        if WebhookEndpoint.objects.count() >= MAX_ENDPOINTS_PER_TENANT:
            raise Conflict(f"A workspace can have at most {MAX_ENDPOINTS_PER_TENANT} webhook endpoints.")
        endpoint = WebhookEndpoint.objects.create(
            url=checked_url,
            description=description.strip(),
            event_types=checked_types,
            is_enabled=is_enabled,
            secret_encrypted=encrypt_text(secret),
        )
        audit_record(
            action="webhook_endpoint.created",
            actor=actor,
            target=endpoint,
            data={"url": checked_url, "event_types": checked_types, "is_enabled": is_enabled},
        )
    return IssuedWebhookEndpoint(endpoint=endpoint, secret=secret)


def webhook_endpoint_update(
    *,
    tenant: Tenant,
    endpoint: WebhookEndpoint,
    actor: Actor,
    url: str | None = None,
    event_types: list[str] | None = None,
    description: str | None = None,
    is_enabled: bool | None = None,
) -> WebhookEndpoint:
    """Change what was given. Enabling (again) needs the feature and clears the failure record."""
    changes: dict[str, object] = {}
    if url is not None and url.strip() != endpoint.url:
        changes["url"] = _url_checked(url)
    if event_types is not None:
        changes["event_types"] = _event_types_checked(event_types)
    if description is not None:
        changes["description"] = description.strip()
    if is_enabled is not None and is_enabled != endpoint.is_enabled:
        changes["is_enabled"] = is_enabled
        if is_enabled:
            entitlement_require_feature(tenant=tenant, feature=Feature.WEBHOOKS)
            changes |= {"disabled_at": None, "disabled_reason": "", "failing_since": None}
        else:
            changes |= {"disabled_at": timezone.now(), "disabled_reason": f"Disabled by {actor.label or actor.type}."}
    if not changes:
        return endpoint
    with tenant_context(tenant), transaction.atomic():
        for field, value in changes.items():
            setattr(endpoint, field, value)
        endpoint.save(update_fields=[*changes, "updated_at"])
        audit_record(
            action="webhook_endpoint.updated",
            actor=actor,
            target=endpoint,
            data={field: value for field, value in changes.items() if field in {"url", "event_types", "is_enabled"}},
        )
    return endpoint


def webhook_endpoint_delete(*, tenant: Tenant, endpoint: WebhookEndpoint, actor: Actor) -> None:
    """Delete the endpoint and its delivery log (events stay: they belong to the workspace)."""
    with tenant_context(tenant), transaction.atomic():
        audit_record(
            action="webhook_endpoint.deleted",
            actor=actor,
            target=endpoint,
            data={"url": endpoint.url},
        )
        endpoint.delete()


def webhook_endpoint_rotate_secret(
    *, tenant: Tenant, endpoint: WebhookEndpoint, actor: Actor, overlap_seconds: int | None = None
) -> IssuedWebhookEndpoint:
    """A new secret, returned once. The old one keeps signing (a second signature in
    `webhook-signature`) for `overlap_seconds` (default WEBHOOK_SECRET_ROTATION_OVERLAP_SECONDS, ≤ 7 days)."""
    overlap = timedelta(
        seconds=settings.WEBHOOK_SECRET_ROTATION_OVERLAP_SECONDS if overlap_seconds is None else overlap_seconds
    )
    if overlap < timedelta(0) or overlap > MAX_ROTATION_OVERLAP:
        message = "The overlap must be between 0 seconds and 7 days."
        raise ValidationFailed(message, errors={"overlap_seconds": [message]})
    secret = webhook_secret_generate()
    with tenant_context(tenant), transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        endpoint.previous_secret_encrypted = endpoint.secret_encrypted if overlap else ""
        endpoint.previous_secret_expires_at = timezone.now() + overlap if overlap else None
        endpoint.secret_encrypted = encrypt_text(secret)
        endpoint.save(
            update_fields=["previous_secret_encrypted", "previous_secret_expires_at", "secret_encrypted", "updated_at"]
        )
        audit_record(
            action="webhook_endpoint.secret_rotated",
            actor=actor,
            target=endpoint,
            data={"overlap_seconds": int(overlap.total_seconds())},
        )
    return IssuedWebhookEndpoint(endpoint=endpoint, secret=secret)


def _require_deliverable(tenant: Tenant, endpoint: WebhookEndpoint) -> None:
    entitlement_require_feature(tenant=tenant, feature=Feature.WEBHOOKS)
    if not endpoint.is_enabled:
        raise Conflict("This endpoint is disabled: enable it first.")


def webhook_endpoint_send_test(*, tenant: Tenant, endpoint: WebhookEndpoint, actor: Actor) -> WebhookDelivery:
    """Queue a `test.ping` event to this endpoint only (one attempt, no retries)."""
    _require_deliverable(tenant, endpoint)
    with tenant_context(tenant), transaction.atomic():
        event = WebhookEvent.objects.create(
            type=EventType.TEST_PING,
            data={"message": "Test event from Agentry.", "endpoint_id": endpoint.id, "sent_by": actor.label},
        )
        (delivery,) = webhook_deliveries_create(
            tenant=tenant, event=event, endpoints=[endpoint], trigger=DeliveryTrigger.TEST
        )
        audit_record(action="webhook_endpoint.test_sent", actor=actor, target=endpoint)
    return delivery


def webhook_event_replay(
    *, tenant: Tenant, endpoint: WebhookEndpoint, event: WebhookEvent, actor: Actor
) -> WebhookDelivery:
    """Deliver `event` to `endpoint` again, as a new delivery with the full retry schedule and
    the same `webhook-id` (receivers that de-duplicate on it will ignore it if they had it)."""
    _require_deliverable(tenant, endpoint)
    with tenant_context(tenant), transaction.atomic():
        (delivery,) = webhook_deliveries_create(
            tenant=tenant, event=event, endpoints=[endpoint], trigger=DeliveryTrigger.REPLAY
        )
        audit_record(
            action="webhook_event.replayed",
            actor=actor,
            target=endpoint,
            data={"event_id": event.id, "delivery_id": delivery.id},
        )
    return delivery


def webhook_endpoint_record_outcome(
    *, tenant: Tenant, endpoint: WebhookEndpoint, succeeded: bool, at: datetime
) -> None:
    """After an attempt: a success clears the failure run; a failure starts or extends it, and
    a run longer than WEBHOOK_DISABLE_AFTER_DAYS disables the endpoint (owners and admins are
    emailed). Call inside the attempt's transaction."""
    if succeeded:
        if endpoint.failing_since is not None:
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=None)
        return
    WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(failing_since=at)
    failing_since = endpoint.failing_since or at
    if endpoint.is_enabled and at - failing_since >= timedelta(days=settings.WEBHOOK_DISABLE_AFTER_DAYS):
        _endpoint_disable_failing(tenant=tenant, endpoint=endpoint, failing_since=failing_since)


def _endpoint_disable_failing(*, tenant: Tenant, endpoint: WebhookEndpoint, failing_since: datetime) -> None:
    now = timezone.now()
    reason = f"Disabled automatically: every delivery attempt has failed since {failing_since:%Y-%m-%d %H:%M} UTC."
    disabled = WebhookEndpoint.objects.filter(pk=endpoint.pk, is_enabled=True).update(
        is_enabled=False, disabled_at=now, disabled_reason=reason, updated_at=now
    )
    if not disabled:
        return  # another worker got there first: one email
    WebhookDelivery.objects.filter(endpoint=endpoint, status=DeliveryStatus.PENDING).update(
        status=DeliveryStatus.FAILED, next_attempt_at=None, lease_expires_at=None
    )
    audit_record(
        action="webhook_endpoint.auto_disabled",
        actor=_SYSTEM,
        target=endpoint,
        data={"failing_since": failing_since.isoformat()},
    )
    recipients = list(
        User.objects.filter(is_active=True, role__in=(Role.OWNER, Role.ADMIN)).values_list("email", flat=True)
    )
    url = endpoint.url
    transaction.on_commit(lambda: _disabled_email_send(tenant=tenant, url=url, reason=reason, recipients=recipients))
    logger.warning(
        "webhook endpoint %s of tenant %s disabled after failing since %s", endpoint.pk, tenant.slug, failing_since
    )


def _disabled_email_send(*, tenant: Tenant, url: str, reason: str, recipients: list[str]) -> None:
    if not recipients:
        return
    send_mail(
        subject=f"A webhook endpoint of {tenant.name} was disabled",
        message=(
            f"Agentry could not deliver webhooks to {url}.\n\n{reason}\n\n"
            "Events are no longer sent to it. Fix the receiver, then enable the endpoint again on the "
            "Webhooks page of your workspace and replay the events you missed."
        ),
        from_email=None,
        recipient_list=recipients,
    )
