"""The backend is chosen by BILLING_BACKEND; the local one decides upgrade vs downgrade."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured

from billing.backends import billing_backend
from billing.backends.local import LocalBillingBackend
from billing.models import Plan
from billing.tests.factories import TESTS
from config.errors import ValidationFailed


def test_billing_backend_is_local_by_default_and_refuses_an_unknown_one(settings):
    assert isinstance(billing_backend(), LocalBillingBackend)
    settings.BILLING_BACKEND = "paypal"
    with pytest.raises(ImproperlyConfigured, match="not available"):
        billing_backend()


def test_local_change_plan_upgrades_now_and_schedules_the_cycle(tenant_a):
    subscription = billing_backend().change_plan(
        tenant=tenant_a.tenant, plan=Plan.objects.get(code="enterprise"), billing_cycle="annual", actor=TESTS
    )
    assert (subscription.plan.code, subscription.billing_cycle, subscription.scheduled_cycle) == (
        "enterprise",
        "monthly",
        "annual",
    )


def test_local_change_plan_refuses_no_change(tenant_a):
    with pytest.raises(ValidationFailed, match="already on Professional"):
        billing_backend().change_plan(
            tenant=tenant_a.tenant, plan=Plan.objects.get(code="professional"), billing_cycle="monthly", actor=TESTS
        )


def test_billing_lifecycle_runs_hourly_on_beat():
    entry = django_settings.CELERY_BEAT_SCHEDULE["billing-lifecycle"]
    assert (entry["task"], entry["schedule"]) == ("billing.tasks.billing_lifecycle_due_task", 3600.0)
