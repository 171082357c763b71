"""Seeds the default catalog. Staff edit plans in admin afterwards; this never overwrites them."""

from django.db import migrations

GB = 1024**3

DEFAULT_PLANS = [
    {
        "code": "starter",
        "name": "Starter",
        "monthly_price_cents": 4900,
        "sla": "99.0%",
        "sort_order": 10,
        "description": "For small teams putting their first agents to work.",
        "limits": {
            "agents": 5,
            "api_calls_per_month": 10_000,
            "team_members": 5,
            "knowledge_storage_bytes": 1 * GB,
            "requests_per_minute": 60,
            "burst": 120,
        },
        "features": ["portal_analytics", "email_support"],
    },
    {
        "code": "professional",
        "name": "Professional",
        "monthly_price_cents": 14900,
        "sla": "99.5%",
        "sort_order": 20,
        "description": "For growing companies running agents across teams.",
        "limits": {
            "agents": 25,
            "api_calls_per_month": 100_000,
            "team_members": 50,
            "knowledge_storage_bytes": 10 * GB,
            "requests_per_minute": 300,
            "burst": 600,
        },
        "features": [
            "portal_analytics",
            "email_support",
            "webhooks",
            "custom_domain",
            "multi_language",
            "advanced_analytics",
            "overage_billing",
        ],
    },
    {
        "code": "enterprise",
        "name": "Enterprise",
        "monthly_price_cents": 49900,
        "sla": "99.9%",
        "sort_order": 30,
        "description": "Unlimited agents, SSO and your own brand, everywhere.",
        "limits": {
            "agents": None,
            "api_calls_per_month": None,
            "team_members": None,
            "knowledge_storage_bytes": 100 * GB,
            "requests_per_minute": 1000,
            "burst": 2000,
        },
        "features": [
            "portal_analytics",
            "email_support",
            "webhooks",
            "custom_domain",
            "multi_language",
            "advanced_analytics",
            "overage_billing",
            "sso",
            "remove_branding",
            "custom_limits",
            "audit_export",
        ],
    },
]


def seed_plans(apps, schema_editor):
    if schema_editor.connection.schema_name != "public":
        return
    Plan = apps.get_model("billing", "Plan")
    for plan in DEFAULT_PLANS:
        Plan.objects.get_or_create(code=plan["code"], defaults=plan)


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]
    operations = [migrations.RunPython(seed_plans, migrations.RunPython.noop)]
