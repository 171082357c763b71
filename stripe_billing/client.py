"""The one way this project talks to Stripe: a `StripeClient` on the process-wide HTTP client.

Every request (ours and dj-stripe's) goes through `stripe.default_http_client`; tests replace
that one object with a fake that answers from fixtures and fails on anything unexpected (no
call can leave the machine). Stripe errors become the project's `ApplicationError`s here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import stripe
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from config.errors import PaymentDeclined, PaymentProviderError

SECRET_KEY_PATTERN = re.compile(r"^(sk|rk)_(test|live)_[a-zA-Z0-9]{24,}$")
PUBLISHABLE_KEY_PATTERN = re.compile(r"^pk_(test|live)_[a-zA-Z0-9]{24,}$")
WEBHOOK_SECRET_PATTERN = re.compile(r"^whsec_[a-zA-Z0-9+/=]{16,}$")
# Network retries inside stripe-python (with its own idempotency keys on POST) before we see an error.
NETWORK_RETRIES = 2


def stripe_settings_problems() -> list[str]:
    """What is wrong with the Stripe settings, in words staff can act on (never the values)."""
    problems = []
    checks = (
        ("STRIPE_SECRET_KEY", SECRET_KEY_PATTERN, "sk_test_… or sk_live_… (or a restricted rk_… key)"),
        ("STRIPE_PUBLISHABLE_KEY", PUBLISHABLE_KEY_PATTERN, "pk_test_… or pk_live_…"),
        ("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET_PATTERN, "whsec_…"),
    )
    for name, pattern, shape in checks:
        value = getattr(settings, name, "")
        if not value:
            problems.append(f"{name} is not set.")
        elif not pattern.match(value):
            problems.append(f"{name} does not look like a Stripe key (expected {shape}).")
    secret, publishable = settings.STRIPE_SECRET_KEY, settings.STRIPE_PUBLISHABLE_KEY
    if not problems and ("_live_" in secret) != ("_live_" in publishable):
        problems.append("STRIPE_SECRET_KEY and STRIPE_PUBLISHABLE_KEY are not both test or both live keys.")
    if not problems and ("_live_" in secret) != settings.STRIPE_LIVE_MODE:
        problems.append("STRIPE_LIVE_MODE does not match the kind of STRIPE_SECRET_KEY (test or live).")
    return problems


def stripe_client(*, api_key: str = "") -> stripe.StripeClient:
    """A client pinned to STRIPE_API_VERSION. Raises `ImproperlyConfigured` without a usable key."""
    api_key = api_key or settings.STRIPE_SECRET_KEY
    if not SECRET_KEY_PATTERN.match(api_key):
        raise ImproperlyConfigured("STRIPE_SECRET_KEY is missing or not a Stripe secret key; see docs/billing.md.")
    stripe.ensure_default_http_client()
    return stripe.StripeClient(
        api_key,
        stripe_version=settings.STRIPE_API_VERSION,
        http_client=stripe.default_http_client,
        max_network_retries=NETWORK_RETRIES,
    )


# Worth retrying later: Stripe or the network had a moment. Anything else is a bug or bad data.
TRANSIENT_STRIPE_ERRORS: tuple[type[Exception], ...] = (
    stripe.APIConnectionError,
    stripe.APIError,
    stripe.RateLimitError,
    stripe.IdempotencyError,
)


@contextmanager
def stripe_errors_as_application_errors() -> Iterator[None]:
    """For calls made on a customer's behalf (portal, API): a declined card is `PaymentDeclined`,
    any other Stripe failure `PaymentProviderError`; the message shown never carries request details."""
    try:
        yield
    except stripe.CardError as error:
        raise PaymentDeclined(error.user_message or "The card was declined.") from error
    except stripe.StripeError as error:
        raise PaymentProviderError(
            "Stripe could not complete the request. Try again in a moment.",
            extra={"stripe_request_id": error.request_id or ""},
        ) from error
