"""Dunning: the retry schedule of a failed invoice, and the emails that tell a workspace about it.

After a failed payment the invoice is retried `DUNNING_RETRY_DAYS` days (default 1, 3, 5) after its
first failure, while a card is on file (`billing.collection` charges it; the hourly lifecycle run
picks up what is due). The workspace's owners and admins, and its billing email, get an email for
every failed payment (with the next retry and the suspension date), when the workspace is
suspended, and when a payment succeeds after a failure. Emails leave after commit, so a rolled-back
attempt never sends one. The suspension itself is `billing.lifecycle`'s (AUTO_SUSPEND_DAYS past due).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django_tenants.utils import schema_context

from accounts.models import Role
from accounts.selectors import member_list
from billing.models import DunningNotice, Invoice, Payment, PaymentStatus
from portal.links import tenant_url

if TYPE_CHECKING:
    from tenants.models import Tenant

logger = logging.getLogger(__name__)


def dunning_next_attempt_at(*, first_failed_at: datetime, failed_attempts: int) -> datetime | None:
    """When to retry after `failed_attempts` failures (the first at `first_failed_at`); None: no more retries."""
    schedule = settings.DUNNING_RETRY_DAYS
    if failed_attempts > len(schedule):
        return None
    return first_failed_at + timedelta(days=schedule[failed_attempts - 1])


def dunning_payment_recorded(*, invoice: Invoice, payment: Payment, was_past_due: bool) -> None:
    """After a payment of `invoice` was recorded (in its transaction): schedule the next retry of a
    failure and queue the emails (payment failed, or paid after a failure)."""
    if payment.status == PaymentStatus.SUCCEEDED:
        invoice.next_payment_attempt_at = None
        invoice.save(update_fields=["next_payment_attempt_at"])
        if was_past_due:
            _notice_on_commit(invoice.tenant, DunningNotice.PAYMENT_RECOVERED, invoice=invoice, payment=payment)
        return
    failures = list(
        invoice.payments.filter(status=PaymentStatus.FAILED)
        .order_by("created_at", "id")
        .values_list("created_at", flat=True)
    )
    invoice.next_payment_attempt_at = dunning_next_attempt_at(
        first_failed_at=failures[0], failed_attempts=len(failures)
    )
    invoice.save(update_fields=["next_payment_attempt_at"])
    _notice_on_commit(invoice.tenant, DunningNotice.PAYMENT_FAILED, invoice=invoice, payment=payment)


def dunning_suspended(*, tenant: Tenant) -> None:
    """The workspace was suspended for non-payment (call in the transaction that did it)."""
    _notice_on_commit(tenant, DunningNotice.SUSPENDED)


def dunning_recipients(*, tenant: Tenant) -> list[str]:
    """The workspace's active owners and admins, and its billing email, each once."""
    with schema_context(tenant.schema_name):
        people = list(member_list().filter(role__in=(Role.OWNER, Role.ADMIN)).values_list("email", flat=True))
    return sorted({*people, *([tenant.billing_email] if tenant.billing_email else [])})


def _notice_on_commit(tenant: Tenant, notice: str, **context: Any) -> None:
    from billing.selectors import subscription_of_tenant

    subscription = subscription_of_tenant(tenant=tenant)
    suspend_at = None
    if subscription is not None and subscription.past_due_since is not None:
        suspend_at = subscription.past_due_since + timedelta(days=settings.AUTO_SUSPEND_DAYS)
    context = {**context, "tenant": tenant, "suspend_at": suspend_at, "billing_url": _billing_url(tenant)}
    transaction.on_commit(lambda: dunning_notice_send(tenant=tenant, notice=notice, context=context))


def _billing_url(tenant: Tenant) -> str:
    domain = tenant.domains.filter(is_primary=True).values_list("domain", flat=True).first()
    return tenant_url(domain=domain, path="/billing/") if domain else ""


def dunning_notice_send(*, tenant: Tenant, notice: str, context: dict[str, Any]) -> None:
    """Send one dunning email (text and HTML, `billing/email/<notice>.*`) to `dunning_recipients`."""
    recipients = dunning_recipients(tenant=tenant)
    if not recipients:
        logger.warning("dunning notice %s not sent: no recipients (tenant=%s)", notice, tenant.slug)
        return
    subject = render_to_string(f"billing/email/{notice}_subject.txt", context).strip()
    message = EmailMultiAlternatives(
        subject=subject, body=render_to_string(f"billing/email/{notice}.txt", context), to=recipients
    )
    message.attach_alternative(render_to_string(f"billing/email/{notice}.html", context), "text/html")
    message.send()
    logger.info("dunning notice %s sent to %d recipients (tenant=%s)", notice, len(recipients), tenant.slug)
