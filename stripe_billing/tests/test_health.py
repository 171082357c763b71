"""/readyz's `stripe` check: only with the Stripe backend; says what is wrong, never the key."""

from __future__ import annotations

import pytest
from django.test import Client

from stripe_billing.tests.conftest import SECRET_KEY


@pytest.fixture
def probe(db: None) -> Client:
    return Client(HTTP_HOST="localhost")


def test_readyz_checks_stripe_once_and_caches_a_good_answer(probe, fake_stripe):
    first = probe.get("/readyz")
    second = probe.get("/readyz")

    assert first.status_code == 200 and second.status_code == 200
    assert first.json()["checks"]["stripe"] == "ok"
    assert len(fake_stripe.sent("GET", "/v1/account")) == 1


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("STRIPE_SECRET_KEY", "", "STRIPE_SECRET_KEY is not set."),
        ("STRIPE_SECRET_KEY", "pk_test_" + "x" * 24, "STRIPE_SECRET_KEY does not look like a Stripe key"),
        ("STRIPE_WEBHOOK_SECRET", "", "STRIPE_WEBHOOK_SECRET is not set."),
        ("STRIPE_PUBLISHABLE_KEY", "pk_live_" + "x" * 24, "not both test or both live keys"),
    ],
)
def test_readyz_names_a_missing_or_malformed_setting(probe, fake_stripe, settings, setting, value, message):
    setattr(settings, setting, value)

    response = probe.get("/readyz")

    assert response.status_code == 503
    assert message in response.json()["checks"]["stripe"]
    assert SECRET_KEY not in response.content.decode()
    assert fake_stripe.requests == []


def test_readyz_reports_a_key_stripe_rejects(probe, fake_stripe):
    rejected = {"error": {"type": "invalid_request_error", "message": "Invalid API Key provided: sk_test_****N4"}}
    fake_stripe.on("GET", "/v1/account", lambda params, match: (401, rejected))

    response = probe.get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"]["stripe"] == (
        "unavailable: Stripe rejected STRIPE_SECRET_KEY (revoked, rolled, or mistyped)."
    )


def test_readyz_has_no_stripe_check_with_the_local_backend(probe, settings):
    settings.BILLING_BACKEND = "local"

    assert "stripe" not in probe.get("/readyz").json()["checks"]
