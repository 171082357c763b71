"""Give every tenant created before subscriptions existed its subscription (public schema only).

Trialing tenants keep their trial end; others start a monthly period now with no invoice (what they
paid before is not known here). Suspended tenants are past due from now; cancelled stay cancelled.
"""

from datetime import timedelta

from django.conf import settings
from django.db import migrations
from django.utils import timezone

from billing.proration import months_after

SUBSCRIPTION_STATUS = {
    "trialing": "trialing",
    "active": "active",
    "past_due": "past_due",
    "suspended": "past_due",
    "cancelled": "cancelled",
}


def backfill(apps, schema_editor):
    if schema_editor.connection.schema_name != "public":
        return
    Tenant = apps.get_model("tenants", "Tenant")
    Subscription = apps.get_model("billing", "Subscription")
    now = timezone.now()
    for tenant in Tenant.objects.filter(subscription__isnull=True):
        status = SUBSCRIPTION_STATUS.get(tenant.status, "active")
        trial_ends_at = None
        end = months_after(now, 1)
        if status == "trialing":
            trial_ends_at = tenant.trial_ends_at or now + timedelta(days=settings.DEFAULT_TRIAL_DAYS)
            end = trial_ends_at
        Subscription.objects.create(
            tenant=tenant,
            plan_id=tenant.plan_id,
            billing_cycle="monthly",
            currency=tenant.currency if tenant.currency in ("USD", "EUR", "SAR") else "USD",
            status=status,
            current_period_start=now,
            current_period_end=end,
            trial_ends_at=trial_ends_at,
            past_due_since=now if status == "past_due" else None,
        )


class Migration(migrations.Migration):
    dependencies = [("billing", "0006_subscriptions_and_invoices")]
    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
