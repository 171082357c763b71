"""Fetch an object's current state from Stripe, mirror it with dj-stripe, apply it (mirror.py).

Ordering design: an event is only a hint that something changed. Whatever order events arrive
in, and however often, we fetch the object as Stripe has it *now* and apply that, while holding
the tenant's `StripeCustomerLink` row lock. Two workers therefore apply states in the order they
fetched them, and a later fetch never returns an older state: an older event can never overwrite
newer state (dj-stripe's own handlers apply the event's snapshot instead; see dj-stripe #2161).
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.db import transaction
from djstripe.models import Invoice as MirroredInvoice
from djstripe.models import Subscription as MirroredSubscription

from audit.services import Actor
from stripe_billing.client import stripe_client
from stripe_billing.mirror import (
    LIVE_STRIPE_STATUSES,
    STRIPE_ACTOR,
    invoice_apply,
    subscription_apply,
    subscription_state_from,
)
from stripe_billing.models import StripeCustomerLink


def customer_link_lock(*, customer_id: str) -> StripeCustomerLink | None:
    """The customer's link, locked until the surrounding transaction ends (None: not one of ours)."""
    return (
        StripeCustomerLink.objects.select_for_update().select_related("tenant").filter(customer_id=customer_id).first()
    )


def _should_adopt(link: StripeCustomerLink, data: Any) -> bool:
    """Whether `data` is (or becomes) the tenant's subscription.

    The linked one always is, and the first one seen is (even if already cancelled: then the
    tenant's subscription ended). Another one replaces it only when it is live and the linked one is
    not (a re-subscription after a cancellation), or both are live and it is newer (a second
    checkout): an update to a superseded, cancelled subscription changes nothing.
    """
    if data["id"] == link.subscription_id or not link.subscription_id:
        return True
    if data["status"] not in LIVE_STRIPE_STATUSES:
        return False
    current = MirroredSubscription.objects.filter(id=link.subscription_id).first()
    if current is None or current.stripe_data.get("status") not in LIVE_STRIPE_STATUSES:
        return True
    return data["created"] > current.stripe_data.get("created", 0)


def _already_mirrored(model: type[MirroredSubscription] | type[MirroredInvoice], data: Any) -> bool:
    """Whether this exact object state was mirrored (and so applied, in the same transaction) before.

    Most events repeat a state already applied; skipping them saves dj-stripe's dozens of queries.
    """
    stored = model.objects.filter(id=data["id"]).values_list("stripe_data", flat=True).first()
    return stored is not None and stored == json.loads(str(data))


def subscription_data_apply(
    *, link: StripeCustomerLink, data: Any, force: bool = False, actor: Actor = STRIPE_ACTOR
) -> None:
    """Mirror a subscription object just returned by Stripe and apply it. Call with `link` locked.

    `force`: apply even a state mirrored before (our row may have moved since, e.g. by a payment).
    `actor`: who add-on changes are audited as (the customer applying their own purchase, or Stripe).
    """
    if not force and data["id"] == link.subscription_id and _already_mirrored(MirroredSubscription, data):
        return
    MirroredSubscription.sync_from_stripe_data(data, api_key=settings.STRIPE_SECRET_KEY)
    if not _should_adopt(link, data):
        return
    schedule = None
    if data.get("schedule"):
        schedule_id = data["schedule"] if isinstance(data["schedule"], str) else data["schedule"]["id"]
        schedule = stripe_client().v1.subscription_schedules.retrieve(schedule_id)
    state = subscription_state_from(data, schedule=schedule)
    if state is None:
        return
    if link.subscription_id != data["id"]:
        link.subscription_id = data["id"]
        link.save(update_fields=["subscription_id", "updated_at"])
    subscription_apply(tenant=link.tenant, state=state, actor=actor)


def subscription_refresh(*, link: StripeCustomerLink, subscription_id: str, force: bool = False) -> None:
    """Fetch the subscription from Stripe and apply it. Call with `link` locked, in a transaction."""
    data = stripe_client().v1.subscriptions.retrieve(subscription_id)
    subscription_data_apply(link=link, data=data, force=force)


def invoice_subscription_id(data: Any) -> str:
    """The subscription an invoice bills (`parent.subscription_details` since 2025; top level before)."""
    details = (data.get("parent") or {}).get("subscription_details") or {}
    subscription = details.get("subscription") or data.get("subscription")
    if not subscription:
        return ""
    return subscription if isinstance(subscription, str) else subscription["id"]


def invoice_refresh(*, link: StripeCustomerLink, invoice_id: str) -> None:
    """Fetch the invoice, apply it, then its subscription (whose state decides the tenant's last).

    Call with `link` locked, in a transaction.
    """
    data = stripe_client().v1.invoices.retrieve(invoice_id)
    applied = not _already_mirrored(MirroredInvoice, data)
    if applied:
        with transaction.atomic():
            MirroredInvoice.sync_from_stripe_data(data, api_key=settings.STRIPE_SECRET_KEY)
            invoice_apply(tenant=link.tenant, data=data)
    subscription_id = invoice_subscription_id(data)
    if subscription_id:
        # A recorded payment moves our subscription (billing's rule: paid → active); Stripe's
        # subscription state, applied after it, has the last word.
        subscription_refresh(link=link, subscription_id=subscription_id, force=applied)
