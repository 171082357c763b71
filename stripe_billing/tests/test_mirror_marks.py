"""What the mirror records beside the status: the Stripe subscription it mirrors, and when a
cancelled one ended (what the local lifecycle and the churn number rely on)."""

from __future__ import annotations

from datetime import UTC, datetime

from billing.models import SubscriptionStatus
from stripe_billing.mirror import subscription_apply, subscription_state_from
from stripe_billing.tests import stripe_objects
from stripe_billing.tests.conftest import Catalog

START, END = 1_772_355_600, 1_775_034_000  # 2026-03-01 09:00 → 2026-04-01 09:00 UTC
ENDED = 1_773_565_200  # 2026-03-15 09:00 UTC


def _state(catalog: Catalog, *, status: str, **fields: object):  # type: ignore[no-untyped-def]
    data = stripe_objects.subscription(
        "sub_marks",
        customer_id="cus_marks",
        price_data=catalog.price("starter"),
        status=status,
        period_start=START,
        period_end=END,
    )
    data.update(fields)
    state = subscription_state_from(data)
    assert state is not None
    return state


def test_the_mirror_marks_the_subscription_as_stripes_and_records_when_it_ended(tenant_b, catalog):
    running = subscription_apply(tenant=tenant_b.tenant, state=_state(catalog, status="active"))
    assert (running.provider_subscription_id, running.is_provider_managed, running.cancelled_at) == (
        "sub_marks",
        True,
        None,
    )

    ended = subscription_apply(
        tenant=tenant_b.tenant, state=_state(catalog, status="canceled", ended_at=ENDED, canceled_at=ENDED - 60)
    )

    assert ended.status == SubscriptionStatus.CANCELLED
    assert ended.cancelled_at == datetime(2026, 3, 15, 9, 0, tzinfo=UTC)
    again = subscription_apply(tenant=tenant_b.tenant, state=_state(catalog, status="canceled", ended_at=ENDED + 999))
    assert again.cancelled_at == datetime(2026, 3, 15, 9, 0, tzinfo=UTC)  # the first record stands
