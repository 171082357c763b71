"""Staff extend a trial: the subscription and the tenant move together, within MAX_TRIAL_DAYS."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.test import override_settings
from django_tenants.utils import get_public_schema_name, schema_context

from accounts.models import User
from audit.models import AuditEvent
from billing.models import Subscription, SubscriptionStatus, TrialReminder
from billing.subscriptions import subscription_extend_trial
from billing.tests.factories import TESTS
from config.errors import Conflict, ValidationFailed
from conftest import PASSWORD, client_for
from tenants.models import Tenant

CHANGELIST = "/admin/tenants/tenant/"


@pytest.fixture
def trialing_b(tenant_b) -> Subscription:
    subscription = Subscription.objects.get(tenant_id=tenant_b.tenant.pk)
    assert subscription.status == SubscriptionStatus.TRIALING
    return subscription


def _trial_start(subscription: Subscription):
    tenant = Tenant.objects.get(pk=subscription.tenant_id)
    return min(tenant.created_at, subscription.current_period_start)


def test_subscription_extend_trial_moves_subscription_and_tenant(tenant_b, trialing_b):
    until = trialing_b.trial_ends_at + timedelta(days=5)

    subscription_extend_trial(tenant=tenant_b.tenant, until=until, actor=TESTS)

    subscription = Subscription.objects.get(pk=trialing_b.pk)
    assert (subscription.trial_ends_at, subscription.current_period_end) == (until, until)
    assert Tenant.objects.get(pk=tenant_b.tenant.pk).trial_ends_at == until
    assert tenant_b.tenant.trial_ends_at == until  # the caller's instance follows too


def test_subscription_extend_trial_is_audited_in_public_and_in_the_tenant(tenant_b, trialing_b):
    previous = trialing_b.trial_ends_at
    until = previous + timedelta(days=2)

    subscription_extend_trial(tenant=tenant_b.tenant, until=until, actor=TESTS)

    public = AuditEvent.objects.get(action="billing.trial_extended", tenant_slug="beta")
    assert public.data == {"from": previous.isoformat(), "to": until.isoformat()}
    assert AuditEvent.objects.filter(action="tenant.updated", tenant_slug="beta").exists()
    with schema_context(tenant_b.schema):
        assert AuditEvent.objects.filter(action="billing.trial_extended").count() == 1


def test_subscription_extend_trial_resets_sent_reminders(tenant_b, trialing_b):
    TrialReminder.objects.create(subscription=trialing_b, trial_ends_at=trialing_b.trial_ends_at, days_before=3)

    subscription_extend_trial(tenant=tenant_b.tenant, until=trialing_b.trial_ends_at + timedelta(days=1), actor=TESTS)

    assert not TrialReminder.objects.filter(subscription=trialing_b).exists()


def test_subscription_extend_trial_allows_exactly_max_trial_days(tenant_b, trialing_b):
    until = _trial_start(trialing_b) + timedelta(days=30)

    subscription_extend_trial(tenant=tenant_b.tenant, until=until, actor=TESTS)

    assert Subscription.objects.get(pk=trialing_b.pk).trial_ends_at == until


def test_subscription_extend_trial_refused_beyond_max_trial_days(tenant_b, trialing_b):
    before = trialing_b.trial_ends_at

    with pytest.raises(ValidationFailed) as excinfo:
        subscription_extend_trial(
            tenant=tenant_b.tenant, until=_trial_start(trialing_b) + timedelta(days=30, seconds=1), actor=TESTS
        )

    assert "at most 30 days" in excinfo.value.detail
    assert "until" in excinfo.value.errors
    assert Subscription.objects.get(pk=trialing_b.pk).trial_ends_at == before
    assert Tenant.objects.get(pk=tenant_b.tenant.pk).trial_ends_at == before
    assert not AuditEvent.objects.filter(action="billing.trial_extended").exists()


@override_settings(MAX_TRIAL_DAYS=15)
def test_subscription_extend_trial_follows_the_max_trial_days_setting(tenant_b, trialing_b):
    with pytest.raises(ValidationFailed, match="at most 15 days"):
        subscription_extend_trial(
            tenant=tenant_b.tenant, until=_trial_start(trialing_b) + timedelta(days=16), actor=TESTS
        )


def test_subscription_extend_trial_refused_when_not_later(tenant_b, trialing_b):
    with pytest.raises(ValidationFailed, match="after the current one"):
        subscription_extend_trial(tenant=tenant_b.tenant, until=trialing_b.trial_ends_at, actor=TESTS)


def test_subscription_extend_trial_refused_unless_trialing(tenant_a):
    with pytest.raises(Conflict, match="Only a trial can be extended"):
        subscription_extend_trial(
            tenant=tenant_a.tenant, until=tenant_a.tenant.created_at + timedelta(days=20), actor=TESTS
        )


# --- Admin action ---------------------------------------------------------------------------------


@pytest.fixture
def staff_client(two_tenants, db):
    with schema_context(get_public_schema_name()):
        user = User.objects.create_superuser(email="staff@agentry.test", password=PASSWORD)
    client = client_for("localhost")
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def _extend(client, tenant, **extra: str):
    data = {"action": "extend_trial", ACTION_CHECKBOX_NAME: [tenant.pk], "index": 0, **extra}
    return client.post(CHANGELIST, data, follow=True)


def test_admin_extend_trial_first_asks_for_the_new_end(staff_client, tenant_b, trialing_b):
    response = _extend(staff_client, tenant_b.tenant)

    assert response.status_code == 200
    assert response.templates[0].name == "admin/tenants/extend_trial.html"
    assert "at most 30 days" in response.content.decode()
    assert Subscription.objects.get(pk=trialing_b.pk).trial_ends_at == trialing_b.trial_ends_at


def test_admin_extend_trial_extends_through_the_service(staff_client, tenant_b, trialing_b):
    until = (trialing_b.trial_ends_at + timedelta(days=3)).replace(second=0, microsecond=0)

    response = _extend(staff_client, tenant_b.tenant, until_0=f"{until:%Y-%m-%d}", until_1=f"{until:%H:%M:%S}")

    assert response.status_code == 200
    assert response.templates[0].name == "admin/change_list.html"
    assert Subscription.objects.get(pk=trialing_b.pk).trial_ends_at == until
    assert Tenant.objects.get(pk=tenant_b.tenant.pk).trial_ends_at == until
    event = AuditEvent.objects.get(action="billing.trial_extended", tenant_slug="beta")
    assert event.actor_type == "staff"


def test_admin_extend_trial_beyond_max_shows_the_refusal(staff_client, tenant_b, trialing_b):
    too_late = _trial_start(trialing_b) + timedelta(days=40)

    response = _extend(staff_client, tenant_b.tenant, until_0=f"{too_late:%Y-%m-%d}", until_1="12:00:00")

    assert response.templates[0].name == "admin/tenants/extend_trial.html"
    assert "at most 30 days" in response.content.decode()
    assert Subscription.objects.get(pk=trialing_b.pk).trial_ends_at == trialing_b.trial_ends_at


def test_admin_extend_trial_refuses_several_tenants_at_once(staff_client, tenant_a, tenant_b):
    data = {"action": "extend_trial", ACTION_CHECKBOX_NAME: [tenant_a.tenant.pk, tenant_b.tenant.pk], "index": 0}

    response = staff_client.post(CHANGELIST, data, follow=True)

    assert "Extend one tenant's trial at a time." in [str(m) for m in response.context["messages"]]
