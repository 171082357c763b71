"""A Stripe webhook processed by a real Celery worker (in this process, over the test Redis broker).

The worker has its own database connection and sees only committed rows, so this test commits
a uniquely named tenant and its catalog links outside pytest-django's transaction, and removes
everything it made (including dj-stripe's mirror rows) afterwards.
"""

from __future__ import annotations

import time
import uuid

import pytest
from django.test import Client
from djstripe import models as djstripe_models

from audit.services import Actor
from billing.models import PlanPrice, Subscription, SubscriptionStatus
from stripe_billing.models import (
    StripeAccountBinding,
    StripeCustomerLink,
    StripePriceLink,
    StripeWebhookEvent,
    WebhookEventStatus,
)
from stripe_billing.tests import stripe_objects
from stripe_billing.tests.conftest import PUBLIC_HOST, post_event
from stripe_billing.tests.fake_stripe import FakeStripe
from tenants.models import Tenant, TenantStatus
from tenants.services import tenant_provision, tenant_purge, tenant_request_deletion

pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.filterwarnings("ignore:Call to deprecated setex:DeprecationWarning"),
]
ACTOR = Actor.system("worker-tests")


def _cleanup(tenant: Tenant, price_link_ids: list[int]) -> None:
    StripeWebhookEvent.objects.filter(tenant=tenant).delete()
    StripeWebhookEvent.objects.filter(event_id__startswith="evt_worker").delete()
    StripePriceLink.objects.filter(pk__in=price_link_ids).delete()
    for model in (djstripe_models.SubscriptionItem, djstripe_models.Subscription, djstripe_models.Price):
        model.objects.all().delete()
    djstripe_models.Product.objects.all().delete()
    djstripe_models.Customer.objects.all().delete()
    djstripe_models.Account.objects.all().delete()
    StripeAccountBinding.objects.all().delete()
    tenant.refresh_from_db()
    if not tenant.is_deleted:
        tenant_request_deletion(tenant=tenant, confirm_slug=tenant.slug, actor=ACTOR, grace_days=0)
    tenant.refresh_from_db()
    tenant_purge(tenant=tenant, actor=ACTOR)


def test_a_webhook_is_processed_by_a_real_worker(worker: None, fake_stripe: FakeStripe) -> None:
    slug = f"stripe-worker-{uuid.uuid4().hex[:8]}"
    tenant = tenant_provision(
        slug=slug, name=f"{slug} Ltd", owner_email=f"owner@{slug}.test", owner_password=None,
        plan_code="starter", actor=ACTOR,
    ).tenant  # fmt: skip
    plan_price = PlanPrice.objects.get(plan__code="professional", billing_cycle="monthly", currency="USD")
    price = stripe_objects.price("price_worker", product_id="prod_worker", amount=plan_price.amount)
    price_link = StripePriceLink.objects.create(
        plan_price=plan_price, stripe_price_id=price["id"], stripe_product_id="prod_worker", is_current=False
    )
    customer_id = f"cus_{slug.replace('-', '')}"
    StripeCustomerLink.objects.create(tenant=tenant, customer_id=customer_id)
    now = int(time.time())
    data = stripe_objects.subscription(
        "sub_worker", customer_id=customer_id, price_data=price, period_start=now, period_end=now + 30 * 86_400
    )
    fake_stripe.put(
        data, price, stripe_objects.product("prod_worker", name="Pro"), stripe_objects.customer(customer_id)
    )
    try:
        response = post_event(
            Client(HTTP_HOST=PUBLIC_HOST),
            stripe_objects.event("evt_worker_1", type="customer.subscription.created", data=data, created=now),
        )
        assert response.status_code == 200

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            event = StripeWebhookEvent.objects.get(event_id="evt_worker_1")
            if event.status != WebhookEventStatus.PENDING:
                break
            time.sleep(0.2)

        assert event.status == WebhookEventStatus.PROCESSED, event.last_error
        assert event.tenant_id == tenant.pk
        subscription = Subscription.objects.get(tenant=tenant)
        assert (subscription.status, subscription.plan.code) == (SubscriptionStatus.ACTIVE, "professional")
        assert Tenant.objects.get(pk=tenant.pk).status == TenantStatus.ACTIVE
    finally:
        _cleanup(tenant, [price_link.pk])
