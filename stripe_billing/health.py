"""The `stripe` check of /readyz (only when BILLING_BACKEND=stripe): settings, then the key itself."""

from __future__ import annotations

import stripe
from django.conf import settings
from django.core.cache import caches

from config.health import ReadinessProblem
from stripe_billing.client import stripe_client, stripe_settings_problems
from stripe_billing.owner_account import key_fingerprint


def stripe_readiness_check() -> None:
    """Raise `ReadinessProblem` saying what staff must fix: a missing or malformed key or secret, or a
    secret key Stripe rejects. A key Stripe accepted is remembered for STRIPE_READINESS_CACHE_SECONDS,
    so probes do not call Stripe each time (0: never call Stripe from here)."""
    problems = stripe_settings_problems()
    if problems:
        raise ReadinessProblem(" ".join(problems))
    seconds = settings.STRIPE_READINESS_CACHE_SECONDS
    if not seconds:
        return
    cache = caches["routing"]  # not tenant-prefixed: /readyz answers before tenant routing
    cache_key = f"stripe-readiness:{key_fingerprint(settings.STRIPE_SECRET_KEY)[:16]}"
    if cache.get(cache_key):
        return
    try:
        stripe_client().v1.accounts.retrieve_current()
    except stripe.AuthenticationError:
        raise ReadinessProblem("Stripe rejected STRIPE_SECRET_KEY (revoked, rolled, or mistyped).") from None
    except stripe.PermissionError:
        raise ReadinessProblem("STRIPE_SECRET_KEY is a restricted key without read access to the account.") from None
    except stripe.StripeError:
        raise ReadinessProblem("Stripe could not be reached to check STRIPE_SECRET_KEY.") from None
    cache.set(cache_key, True, seconds)
