"""The time-driven part of the subscription lifecycle, one tenant at a time.

`subscription_advance` does, for one tenant, every step that is due at `now`; each step checks
its own condition and records what it did, so running it twice (or late) has the effect of
running it once. The beat task (billing/tasks.py) fans it out over `subscription_tenant_ids_due`.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from audit.services import Actor, audit_record_platform_and_tenant
from billing.collection import invoices_collect_due
from billing.dunning import dunning_suspended
from billing.invoices import invoice_create
from billing.models import Invoice, InvoiceStatus, Subscription, SubscriptionStatus, TrialReminder
from billing.overage import OverageBill, overage_bill_compute
from billing.payments import subscription_activate_paid, subscription_mark_past_due, tenant_status_sync
from billing.selectors import payment_method_of_tenant
from billing.subscriptions import (
    invoice_for_period,
    period_end_for,
    subscription_tenant_plan_follow,
    subscription_webhook_publish_on_commit,
)
from tenants.context import on_public_schema
from tenants.models import TenantStatus

logger = logging.getLogger(__name__)

TRIAL_REMINDER_DAYS = (3, 1)
LIFECYCLE = Actor.system("billing-lifecycle")
# A tenant whose beat runs were missed for longer than this many periods catches up over several runs.
_MAX_ROLL_OVERS_PER_RUN = 12


def subscription_tenant_ids_due(*, now: datetime) -> list[int]:
    """Tenants with a lifecycle step due at `now` (a superset is harmless: every step re-checks)."""
    reminder_horizon = now + timedelta(days=max(TRIAL_REMINDER_DAYS))
    local_only = Q(provider_subscription_id="") & (
        Q(status=SubscriptionStatus.ACTIVE, current_period_end__lte=now)
        | Q(
            status=SubscriptionStatus.ACTIVE,
            tenant__invoices__status=InvoiceStatus.OPEN,
            tenant__invoices__due_at__lte=now,
        )
        | Q(
            tenant__payment_method__isnull=False,
            tenant__invoices__status=InvoiceStatus.OPEN,
            tenant__invoices__next_payment_attempt_at__lte=now,
        )
    )
    due = Subscription.objects.filter(
        Q(status=SubscriptionStatus.TRIALING, trial_ends_at__lte=reminder_horizon)
        | Q(status=SubscriptionStatus.PAST_DUE, past_due_since__lte=now - timedelta(days=settings.AUTO_SUSPEND_DAYS))
        | local_only
    )
    return sorted(set(due.values_list("tenant_id", flat=True)))


def _trial_reminders_send(subscription: Subscription, *, now: datetime) -> None:
    trial_ends_at = subscription.trial_ends_at
    if subscription.status != SubscriptionStatus.TRIALING or trial_ends_at is None or trial_ends_at <= now:
        return
    days_left = (trial_ends_at - now) / timedelta(days=1)
    # Only the nearest reminder that is due: a tenant first seen 1 day out gets the 1-day one only.
    due = [days for days in sorted(TRIAL_REMINDER_DAYS) if days_left <= days][:1]
    for days in due:
        try:
            with transaction.atomic():
                TrialReminder.objects.create(subscription=subscription, trial_ends_at=trial_ends_at, days_before=days)
        except IntegrityError:
            continue  # already sent for this trial end
        tenant = subscription.tenant
        send_mail(
            subject=f"Your Agentry trial ends in {days} day{'s' if days != 1 else ''}",
            message=(
                f"The trial of {tenant.name} ends on {trial_ends_at:%Y-%m-%d %H:%M} UTC. Choose a plan and pay "
                "the first invoice to keep your workspace running."
            ),
            from_email=None,
            recipient_list=[tenant.billing_email],
        )
        audit_record_platform_and_tenant(
            tenant=tenant,
            action="billing.trial_reminder_sent",
            actor=LIFECYCLE,
            target=subscription,
            data={"days": days},
        )


def _cancel_now(subscription: Subscription, *, at: datetime) -> None:
    """The cancellation set for period end takes effect at `at` (that end): cancelled, tenant too,
    audited and announced with `subscription.cancelled`."""
    subscription.status, subscription.cancelled_at = SubscriptionStatus.CANCELLED, at
    subscription.save(update_fields=["status", "cancelled_at", "updated_at"])
    tenant_status_sync(
        tenant=subscription.tenant, to_status=TenantStatus.CANCELLED, actor=LIFECYCLE, reason="cancelled at period end"
    )
    audit_record_platform_and_tenant(
        tenant=subscription.tenant,
        action="billing.subscription_cancelled",
        actor=LIFECYCLE,
        target=subscription,
        data={"cancelled_at": at.isoformat()},
    )
    subscription_webhook_publish_on_commit(subscription=subscription, action="billing.subscription_cancelled")


def _final_overage_invoice(subscription: Subscription, *, overage: OverageBill) -> None:
    """A subscription that ends still owes the overage of its last period: one invoice with it alone."""
    if not overage.lines:
        return
    invoice = invoice_create(
        tenant=subscription.tenant,
        currency=subscription.currency,
        lines=overage.lines,
        period_start=subscription.current_period_start,
        period_end=subscription.current_period_end,
    )
    overage.attach(invoice=invoice)
    audit_record_platform_and_tenant(
        tenant=subscription.tenant,
        action="billing.final_overage_invoiced",
        actor=LIFECYCLE,
        target=subscription,
        data={"invoice": invoice.number, "total": invoice.total},
    )


def _trial_end(subscription: Subscription, *, now: datetime) -> None:
    """Trial over without payment: past due from the trial's end, with the first period's open invoice."""
    ends = subscription.trial_ends_at
    if subscription.status != SubscriptionStatus.TRIALING or ends is None or ends > now:
        return
    if subscription.cancel_at_period_end:
        _cancel_now(subscription, at=ends)
        return
    _scheduled_change_apply(subscription)  # a downgrade or cycle change chosen during the trial
    subscription.current_period_start = ends
    subscription.current_period_end = period_end_for(start=ends, billing_cycle=subscription.billing_cycle)
    subscription.save()
    invoice = invoice_for_period(subscription=subscription, start=ends)
    if invoice.status == InvoiceStatus.PAID:  # a staff credit covered it all
        subscription_activate_paid(subscription=subscription, actor=LIFECYCLE)
    elif payment_method_of_tenant(tenant=subscription.tenant) is None:
        subscription_mark_past_due(subscription=subscription, actor=LIFECYCLE, reason="trial ended unpaid", since=ends)
    # With a card on file, the collection step right after charges it: paid → active, declined → past due.


def _scheduled_change_apply(subscription: Subscription) -> None:
    """Put a scheduled plan and cycle in place (the caller saves): the period that starts uses them."""
    if subscription.scheduled_plan_id and subscription.scheduled_plan is not None:
        subscription.plan = subscription.scheduled_plan
        subscription_tenant_plan_follow(tenant=subscription.tenant, plan=subscription.plan, actor=LIFECYCLE)
    subscription.billing_cycle = subscription.scheduled_cycle or subscription.billing_cycle
    subscription.scheduled_plan, subscription.scheduled_cycle = None, ""


def _roll_over(subscription: Subscription, *, now: datetime) -> None:
    """Active and the period is over: cancel, or apply a scheduled change and invoice the next period."""
    for _ in range(_MAX_ROLL_OVERS_PER_RUN):
        if subscription.status != SubscriptionStatus.ACTIVE or subscription.current_period_end > now:
            return
        # The overage of the period that ends is priced by the plan it was used on, before any
        # scheduled change applies.
        overage = overage_bill_compute(
            subscription=subscription, plan=subscription.plan, until=subscription.current_period_end
        )
        if subscription.cancel_at_period_end:
            _final_overage_invoice(subscription, overage=overage)
            _cancel_now(subscription, at=subscription.current_period_end)
            return
        start = subscription.current_period_end
        _scheduled_change_apply(subscription)
        subscription.current_period_start = start
        subscription.current_period_end = period_end_for(start=start, billing_cycle=subscription.billing_cycle)
        subscription.save()
        invoice = invoice_for_period(subscription=subscription, start=start, extra_lines=overage.lines)
        overage.attach(invoice=invoice)
        audit_record_platform_and_tenant(
            tenant=subscription.tenant,
            action="billing.period_renewed",
            actor=LIFECYCLE,
            target=subscription,
            data={
                "plan": subscription.plan.code,
                "billing_cycle": subscription.billing_cycle,
                "invoice": invoice.number,
            },
        )


def _overdue_invoice(subscription: Subscription, *, now: datetime) -> None:
    if subscription.status != SubscriptionStatus.ACTIVE:
        return
    overdue = Invoice.objects.filter(tenant_id=subscription.tenant_id, status=InvoiceStatus.OPEN, due_at__lte=now)
    first_due = overdue.order_by("due_at").values_list("due_at", flat=True).first()
    if first_due is not None:
        subscription_mark_past_due(
            subscription=subscription, actor=LIFECYCLE, reason="invoice overdue", since=first_due
        )


def _suspend_if_overdue(subscription: Subscription, *, now: datetime) -> None:
    since = subscription.past_due_since
    if subscription.status != SubscriptionStatus.PAST_DUE or since is None:
        return
    subscription.tenant.refresh_from_db(fields=["status"])
    # Only from past_due: a tenant staff reactivated by hand is not suspended again behind their back.
    if (
        since + timedelta(days=settings.AUTO_SUSPEND_DAYS) <= now
        and subscription.tenant.status == TenantStatus.PAST_DUE
    ):
        tenant_status_sync(
            tenant=subscription.tenant,
            to_status=TenantStatus.SUSPENDED,
            actor=LIFECYCLE,
            reason=f"past due for {settings.AUTO_SUSPEND_DAYS} days",
        )
        dunning_suspended(tenant=subscription.tenant)


@on_public_schema
def subscription_advance(*, tenant_id: int, now: datetime | None = None) -> None:
    """Every time-driven step due for one tenant: trial reminders, trial end (→ past_due with an open
    invoice), period roll-over (renewal invoice, scheduled downgrade or cycle, or cancellation),
    collection of due invoices with the card on file (first attempts and retries), overdue invoice
    (→ past_due), and suspension after AUTO_SUSPEND_DAYS past due. Idempotent.

    A subscription a billing provider holds (Stripe, `is_provider_managed`) gets only the reminders
    and the suspension: its trial end, renewals, invoices, collection and retries are the
    provider's, and reach us through the mirror (`stripe_billing.mirror`), the single source there."""
    now = now or timezone.now()
    with transaction.atomic():
        subscription = (
            Subscription.objects.select_for_update(of=("self",))
            .select_related("tenant", "plan", "scheduled_plan")
            .filter(tenant_id=tenant_id)
            .first()
        )
        if subscription is None or subscription.tenant.is_deleted:
            return
        _trial_reminders_send(subscription, now=now)
        if not subscription.is_provider_managed:
            _local_steps(subscription, now=now)
        _suspend_if_overdue(subscription, now=now)


def _local_steps(subscription: Subscription, *, now: datetime) -> None:
    """What the product decides itself only for the subscriptions it bills (the local backend's)."""
    _trial_end(subscription, now=now)
    _roll_over(subscription, now=now)
    if invoices_collect_due(tenant=subscription.tenant, now=now, actor=LIFECYCLE):
        subscription.refresh_from_db()  # the payments moved its status
    _overdue_invoice(subscription, now=now)
