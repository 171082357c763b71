"""Plans gain monthly chat-message and model-token limits (metered and enforced by `usage`).

Every plan states every limit (`validate_complete_limits`), so existing rows get values here:
the seeded plans their catalog values, any other plan the Starter values unless it already has them.
Staff edit them in admin afterwards.
"""

from django.db import migrations

CATALOG = {
    "starter": {"chat_messages_per_month": 2_000, "tokens_per_month": 2_000_000},
    "professional": {"chat_messages_per_month": 20_000, "tokens_per_month": 20_000_000},
    "enterprise": {"chat_messages_per_month": None, "tokens_per_month": None},
}


def add_limits(apps, schema_editor):
    Plan = apps.get_model("billing", "Plan")
    for plan in Plan.objects.all():
        defaults = CATALOG.get(plan.code, CATALOG["starter"])
        limits = dict(plan.limits)
        for name, value in defaults.items():
            limits.setdefault(name, value)
        if limits != plan.limits:
            plan.limits = limits
            plan.save(update_fields=["limits"])


def remove_limits(apps, schema_editor):
    Plan = apps.get_model("billing", "Plan")
    for plan in Plan.objects.all():
        limits = {k: v for k, v in plan.limits.items() if k not in ("chat_messages_per_month", "tokens_per_month")}
        if limits != plan.limits:
            plan.limits = limits
            plan.save(update_fields=["limits"])


class Migration(migrations.Migration):
    dependencies = [("billing", "0007_backfill_subscriptions")]

    operations = [migrations.RunPython(add_limits, remove_limits)]
