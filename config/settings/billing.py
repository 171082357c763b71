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
# invoices paid or failed in admin) or "stripe" (Stripe Checkout and Billing; docs/billing.md).
BILLING_BACKEND = env.str("BILLING_BACKEND", default="local")

# Stripe (BILLING_BACKEND=stripe). Keys come from the environment only and are never stored in
# the database or logged; dj-stripe reads STRIPE_SECRET_KEY and STRIPE_API_VERSION from here too.
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_PUBLISHABLE_KEY = env.str("STRIPE_PUBLISHABLE_KEY", default="")
# The signing secret (whsec_…) of the webhook endpoint https://<PLATFORM_DOMAIN>/stripe/webhook/.
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
# Seconds a webhook's signed timestamp may differ from our clock (replay protection).
STRIPE_WEBHOOK_TOLERANCE_SECONDS = env.int("STRIPE_WEBHOOK_TOLERANCE_SECONDS", default=300)
# The API version every request is pinned to: the one dj-stripe 2.11's models understand.
STRIPE_API_VERSION = env.str("STRIPE_API_VERSION", default="2026-05-27.dahlia")
# Days processed or ignored webhook events stay in the inbox (failed ones stay until reprocessed).
STRIPE_WEBHOOK_RETENTION_DAYS = env.int("STRIPE_WEBHOOK_RETENTION_DAYS", default=30)
# Seconds /readyz caches a successful `GET /v1/account` key check (0: never call Stripe from /readyz).
STRIPE_READINESS_CACHE_SECONDS = env.int("STRIPE_READINESS_CACHE_SECONDS", default=300)
# Days a subscription may stay past due (unpaid) before its tenant is suspended.
AUTO_SUSPEND_DAYS = env.int("AUTO_SUSPEND_DAYS", default=7)
# The longest a trial may last, counted from its start: staff's "Extend trial…" cannot go past it.
MAX_TRIAL_DAYS = env.int("MAX_TRIAL_DAYS", default=30)
# Local backend: days after an invoice's first failed payment on which the card on file is charged
# again (comma-separated, ascending); after the last one it waits for a new card or for staff.
DUNNING_RETRY_DAYS = env.list("DUNNING_RETRY_DAYS", cast=int, default=[1, 3, 5])
# The seller on invoices (local backend), copied onto each invoice when it is issued. The country
# (ISO code) decides EU reverse charge: an EU business buyer from another country pays 0 %.
BILLING_SELLER_NAME = env.str("BILLING_SELLER_NAME", default="Agentry Ltd")
BILLING_SELLER_ADDRESS = env.str("BILLING_SELLER_ADDRESS", default="1 Example Street, Dublin D02 XY00")
BILLING_SELLER_COUNTRY = env.str("BILLING_SELLER_COUNTRY", default="IE")
BILLING_SELLER_TAX_ID = env.str("BILLING_SELLER_TAX_ID", default="")
