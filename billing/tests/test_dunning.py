"""Dunning and smart retries, driven by the clock: a card on file is charged when an invoice is issued,
retried on DUNNING_RETRY_DAYS after a failure, the workspace is suspended after AUTO_SUSPEND_DAYS and
active again at once when a payment succeeds; owners and admins are emailed at each step."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import Role
from audit.models import AuditEvent
from billing.models import InvoiceStatus, PaymentMethod, Subscription, SubscriptionStatus
from billing.payment_methods import payment_method_remove, payment_method_set
from billing.payments import invoice_record_payment
from billing.selectors import invoice_list_of_tenant, subscription_of_tenant
from billing.subscriptions import subscription_start_trial
from billing.tests.factories import TESTS
from config.errors import Conflict, ValidationFailed
from conftest import make_member
from tenants.models import Tenant, TenantStatus

GOOD_CARD, DECLINING_CARD = "4242 4242 4242 4242", "4000 0000 0000 0002"


def _card(tenant: Tenant, number: str, *, exp_year: int | None = None, exp_month: int = 12) -> PaymentMethod:
    year = exp_year or timezone.now().year + 3
    return payment_method_set(tenant=tenant, card_number=number, exp_month=exp_month, exp_year=year, actor=TESTS)


def _status(tenant: Tenant) -> tuple[str, str]:
    subscription = subscription_of_tenant(tenant=tenant)
    assert subscription is not None
    return subscription.status, Tenant.objects.get(pk=tenant.pk).status


def _subjects(workspace: str = "") -> list[str]:
    return [message.subject for message in _mail(workspace)]


def _mail(workspace: str) -> list:  # type: ignore[type-arg]
    """The emails about one workspace (another's trial may end while the clock runs)."""
    return [message for message in mail.outbox if message.subject.startswith(f"[{workspace}")]


@pytest.fixture
def paying(tenant_a) -> Subscription:
    """Alpha: Professional, USD monthly, first invoice paid; an admin and a member besides the owner."""
    make_member(tenant_a, email="admin@alpha.test", role=Role.ADMIN)
    make_member(tenant_a, email="member@alpha.test", role=Role.MEMBER)
    [invoice] = invoice_list_of_tenant(tenant=tenant_a.tenant)
    invoice_record_payment(invoice=invoice, succeeded=True, actor=TESTS)
    subscription = subscription_of_tenant(tenant=tenant_a.tenant)
    assert subscription is not None
    return subscription


def test_failed_renewal_is_retried_on_schedule_then_suspended_and_recovers_with_a_new_card(
    tenant_a, paying, run_beat, settings
):
    settings.DUNNING_RETRY_DAYS, settings.AUTO_SUSPEND_DAYS = [1, 3, 5], 7
    _card(tenant_a.tenant, DECLINING_CARD)
    t0 = paying.current_period_end + timedelta(minutes=5)

    run_beat(t0)  # renewal invoice issued and charged at once: declined
    renewal = invoice_list_of_tenant(tenant=tenant_a.tenant).first()
    assert _status(tenant_a.tenant) == (SubscriptionStatus.PAST_DUE, TenantStatus.PAST_DUE)
    assert renewal.next_payment_attempt_at == t0 + timedelta(days=1)
    [failed] = _mail("Alpha")
    assert failed.subject == f"[Alpha Ltd] Payment failed for invoice {renewal.number}"
    assert failed.to == ["admin@alpha.test", "owner@alpha.test"]  # owners and admins (and the billing email)
    assert "149.00 USD" in failed.body and "Visa •••• 0002 (card_declined)" in failed.body
    assert f"{t0 + timedelta(days=7):%Y}" in failed.body  # the suspension date
    html = failed.alternatives[0]
    assert html[1] == "text/html" and "http://alpha.localhost" in html[0]

    run_beat(t0 + timedelta(hours=23))  # not due yet
    assert renewal.payments.count() == 1

    for day, next_day in ((1, 3), (3, 5)):
        run_beat(t0 + timedelta(days=day, minutes=1))
        renewal.refresh_from_db()
        assert renewal.next_payment_attempt_at == t0 + timedelta(days=next_day)
    run_beat(t0 + timedelta(days=5, minutes=1))
    renewal.refresh_from_db()
    assert renewal.next_payment_attempt_at is None  # the schedule is exhausted
    assert list(renewal.payments.values_list("status", "failure_reason")) == [("failed", "card_declined")] * 4
    assert "We will not try this card again automatically." in _mail("Alpha")[-1].body
    assert _status(tenant_a.tenant) == (SubscriptionStatus.PAST_DUE, TenantStatus.PAST_DUE)

    run_beat(t0 + timedelta(days=7, minutes=1))
    assert _status(tenant_a.tenant) == (SubscriptionStatus.PAST_DUE, TenantStatus.SUSPENDED)
    assert _mail("Alpha")[-1].subject == "[Alpha Ltd] Workspace suspended for non-payment"
    assert len(_mail("Alpha")) == 5

    run_beat(t0 + timedelta(days=7, hours=1))  # nothing more happens
    assert len(_mail("Alpha")) == 5

    _card(tenant_a.tenant, GOOD_CARD)  # the customer fixes the card: the open invoice is due again
    run_beat(t0 + timedelta(days=8))
    assert _status(tenant_a.tenant) == (SubscriptionStatus.ACTIVE, TenantStatus.ACTIVE)
    renewal.refresh_from_db()
    assert (renewal.status, renewal.next_payment_attempt_at) == (InvoiceStatus.PAID, None)
    assert renewal.payments.first().method == "Visa •••• 4242"
    assert _mail("Alpha")[-1].subject == "[Alpha Ltd] Payment received: your workspace is active"
    with schema_context(tenant_a.schema):
        actions = list(
            AuditEvent.objects.filter(action__startswith="billing.payment_").values_list("action", flat=True)
        )
    assert sorted(actions) == [
        "billing.payment_failed",
        "billing.payment_failed",
        "billing.payment_failed",
        "billing.payment_failed",
        "billing.payment_method_set",
        "billing.payment_method_set",
        "billing.payment_succeeded",
        "billing.payment_succeeded",
    ]


def test_trial_end_with_a_good_card_is_paid_and_active_at_once(tenant_b, run_beat):
    trial = subscription_start_trial(tenant=tenant_b.tenant, actor=TESTS)
    _card(tenant_b.tenant, GOOD_CARD)

    run_beat(trial.trial_ends_at + timedelta(minutes=5))

    assert _status(tenant_b.tenant) == (SubscriptionStatus.ACTIVE, TenantStatus.ACTIVE)
    [invoice] = invoice_list_of_tenant(tenant=tenant_b.tenant)
    assert invoice.status == InvoiceStatus.PAID
    assert mail.outbox == []  # no dunning (trial reminders went out days before, not in this run)


def test_trial_end_with_a_declining_card_is_past_due_with_a_retry(tenant_b, run_beat):
    trial = subscription_start_trial(tenant=tenant_b.tenant, actor=TESTS)
    _card(tenant_b.tenant, DECLINING_CARD)
    at = trial.trial_ends_at + timedelta(minutes=5)

    run_beat(at)

    assert _status(tenant_b.tenant) == (SubscriptionStatus.PAST_DUE, TenantStatus.PAST_DUE)
    [invoice] = invoice_list_of_tenant(tenant=tenant_b.tenant)
    assert invoice.next_payment_attempt_at == at + timedelta(days=1)
    assert _subjects("Beta") == [f"[Beta Ltd] Payment failed for invoice {invoice.number}"]


def test_a_card_that_expired_since_it_was_added_is_declined_as_expired(tenant_a, paying, run_beat):
    now = timezone.now()
    _card(tenant_a.tenant, GOOD_CARD, exp_year=now.year, exp_month=now.month)  # valid to the end of this month

    run_beat(paying.current_period_end + timedelta(minutes=5))  # next month

    renewal = invoice_list_of_tenant(tenant=tenant_a.tenant).first()
    assert list(renewal.payments.values_list("status", "failure_reason")) == [("failed", "expired_card")]


def test_without_a_card_nothing_is_charged_and_the_invoice_waits(tenant_a, paying, run_beat):
    run_beat(paying.current_period_end + timedelta(minutes=5))
    run_beat(paying.current_period_end + timedelta(days=2))

    renewal = invoice_list_of_tenant(tenant=tenant_a.tenant).first()
    assert (renewal.status, renewal.payments.count()) == (InvoiceStatus.OPEN, 0)
    assert _status(tenant_a.tenant) == (SubscriptionStatus.ACTIVE, TenantStatus.ACTIVE)


def test_staff_recording_a_failed_payment_emails_and_schedules_a_retry(tenant_a, django_capture_on_commit_callbacks):
    [invoice] = invoice_list_of_tenant(tenant=tenant_a.tenant)

    with django_capture_on_commit_callbacks(execute=True):
        invoice_record_payment(invoice=invoice, succeeded=False, actor=TESTS)

    invoice.refresh_from_db()
    assert invoice.next_payment_attempt_at is not None
    assert _subjects("Alpha") == [f"[Alpha Ltd] Payment failed for invoice {invoice.number}"]


def test_dunning_emails_go_only_to_the_workspace_they_concern(tenant_a, tenant_b, paying, run_beat):
    make_member(tenant_b, email="admin@beta.test", role=Role.ADMIN)
    _card(tenant_a.tenant, DECLINING_CARD)

    run_beat(paying.current_period_end + timedelta(minutes=5))

    # Beta's trial ended meanwhile, so it gets its own notices: each only to its own people.
    by_workspace = {(m.subject.split("]")[0] + "]", address) for m in mail.outbox for address in m.to}
    assert {address for workspace, address in by_workspace if workspace == "[Alpha Ltd]"} == {
        "admin@alpha.test",
        "owner@alpha.test",
    }
    assert {address for workspace, address in by_workspace if workspace == "[Beta Ltd]"} == {
        "admin@beta.test",
        "owner@beta.test",
    }
    assert all("Beta" not in m.body for m in mail.outbox if m.subject.startswith("[Alpha Ltd]"))


# --- The card on file -------------------------------------------------------------------------


def test_payment_method_set_keeps_brand_last4_and_expiry_never_the_number(tenant_a):
    card = _card(tenant_a.tenant, "5555-5555-5555-4444", exp_year=timezone.now().year + 1, exp_month=4)

    assert (card.brand, card.last4, card.exp_month, card.decline_code) == ("mastercard", "4444", 4, "")
    assert card.label == "Mastercard •••• 4444"
    stored = [str(value) for value in PaymentMethod.objects.values().get()]
    with schema_context(tenant_a.schema):
        stored += [str(event.data) for event in AuditEvent.objects.filter(action="billing.payment_method_set")]
    assert not any("5555555555554444" in value or "5555-5555" in value for value in stored)


@pytest.mark.parametrize(
    ("number", "month", "years_ahead", "field"),
    [
        ("4242 4242 4242 4241", 12, 1, "card_number"),  # fails the Luhn check
        ("4242", 12, 1, "card_number"),
        ("abcd efgh ijkl mnop", 12, 1, "card_number"),
        ("4242 4242 4242 4242", 13, 1, "exp_month"),
        ("4242 4242 4242 4242", 12, -1, "exp_year"),
        ("4242 4242 4242 4242", 12, 21, "exp_year"),
    ],
)
def test_payment_method_set_refuses_invalid_cards(tenant_a, number, month, years_ahead, field):
    with pytest.raises(ValidationFailed) as error:
        _card(tenant_a.tenant, number, exp_year=timezone.now().year + years_ahead, exp_month=month)

    assert field in error.value.errors
    assert not PaymentMethod.objects.exists()


def test_payment_method_set_refuses_a_card_that_expired_last_month(tenant_a):
    now = timezone.now()
    if now.month == 1:
        pytest.skip("no earlier month in this year")
    with pytest.raises(ValidationFailed) as error:
        _card(tenant_a.tenant, GOOD_CARD, exp_year=now.year, exp_month=now.month - 1)

    assert error.value.errors == {"exp_month": ["This card has expired."]}


def test_payment_method_remove(tenant_a):
    _card(tenant_a.tenant, GOOD_CARD)
    payment_method_remove(tenant=tenant_a.tenant, actor=TESTS)

    assert not PaymentMethod.objects.exists()
    with pytest.raises(Conflict):
        payment_method_remove(tenant=tenant_a.tenant, actor=TESTS)
