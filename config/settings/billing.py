"""Billing backend and dj-stripe (public schema only)."""

from config.env import env

STRIPE_LIVE_MODE = env.bool("STRIPE_LIVE_MODE", default=False)
DJSTRIPE_WEBHOOK_SECRET = env("DJSTRIPE_WEBHOOK_SECRET", default="")
DJSTRIPE_FOREIGN_KEY_TO_FIELD = "id"
DJSTRIPE_USE_NATIVE_JSONFIELD = True
DJSTRIPE_SUBSCRIBER_MODEL = "tenants.Tenant"
# dj-stripe's own migration 0002 replays ~500 operations on every `migrate` of every schema
# (~60 s each). We ship one freshly generated initial migration instead; see docs/operations.md
# ("Upgrading dj-stripe") for how to regenerate it.
MIGRATION_MODULES = {"djstripe": "billing.djstripe_migrations"}

# Seconds a tenant's computed entitlements are cached (dropped explicitly on every change).
ENTITLEMENTS_CACHE_SECONDS = env.int("ENTITLEMENTS_CACHE_SECONDS", default=300)

# Which `billing.backends` implementation runs subscriptions: "local" (offline; staff mark
# invoices paid or failed in admin). "stripe" is not built yet.
BILLING_BACKEND = env.str("BILLING_BACKEND", default="local")
# Days a subscription may stay past due (unpaid) before its tenant is suspended.
AUTO_SUSPEND_DAYS = env.int("AUTO_SUSPEND_DAYS", default=7)
# The longest a trial may last, counted from its start: staff's "Extend trial…" cannot go past it.
MAX_TRIAL_DAYS = env.int("MAX_TRIAL_DAYS", default=30)
