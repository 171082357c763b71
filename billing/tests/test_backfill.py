"""The data migration that gives tenants created before subscriptions existed their subscription."""

from __future__ import annotations

import importlib
from types import SimpleNamespace

from django.apps import apps
from django.db import connection

from billing.models import Subscription
from tenants.models import Tenant, TenantStatus

backfill = importlib.import_module("billing.migrations.0007_backfill_subscriptions").backfill


def test_backfill_creates_missing_subscriptions_matching_the_tenant_status(tenant_a, tenant_b):
    Subscription.objects.filter(tenant_id__in=[tenant_a.tenant.pk, tenant_b.tenant.pk]).delete()
    Tenant.objects.filter(pk=tenant_a.tenant.pk).update(status=TenantStatus.SUSPENDED)

    backfill(apps, SimpleNamespace(connection=connection))
    backfill(apps, SimpleNamespace(connection=connection))  # a second run adds nothing

    a, b = Subscription.objects.get(tenant=tenant_a.tenant), Subscription.objects.get(tenant=tenant_b.tenant)
    assert (a.status, a.plan.code, a.past_due_since is not None) == ("past_due", "professional", True)
    assert (b.status, b.trial_ends_at, b.current_period_end) == (
        "trialing",
        tenant_b.tenant.trial_ends_at,
        b.trial_ends_at,
    )
    assert Subscription.objects.filter(tenant_id__in=[tenant_a.tenant.pk, tenant_b.tenant.pk]).count() == 2
