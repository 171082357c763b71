"""Staff admin for manual credits and discounts: granted through the services (validated, audited,
who recorded), immutable afterwards, searchable and filterable; discounts can be ended in bulk."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.test import Client
from django_tenants.utils import get_public_schema_name, schema_context

from accounts.models import User
from audit.models import ActorType, AuditEvent
from billing.adjustments import credit_grant, discount_grant
from billing.models import DiscountKind, TenantCredit, TenantDiscount
from billing.tests.factories import TESTS
from conftest import PASSWORD, client_for


@pytest.fixture
def staff_client(two_tenants, db) -> Client:
    with schema_context(get_public_schema_name()):
        staff = User.objects.create_superuser(email="staff@agentry.test", password=PASSWORD)
    client = client_for("localhost")
    client.force_login(staff, backend="django.contrib.auth.backends.ModelBackend")
    return client


def _staff_events(action: str) -> list[AuditEvent]:
    with schema_context(get_public_schema_name()):
        return list(AuditEvent.objects.filter(action=action, actor_type=ActorType.STAFF))


def test_admin_credit_add_records_who_and_is_audited(staff_client, tenant_b):
    response = staff_client.post(
        "/admin/billing/tenantcredit/add/",
        {"tenant": tenant_b.tenant.pk, "amount": 2500, "currency": "USD", "reason": "Outage on 3 March"},
    )

    assert response.status_code == 302
    credit = TenantCredit.objects.get(tenant=tenant_b.tenant)
    assert (credit.amount, credit.remaining, credit.created_by_label) == (2500, 2500, "staff@agentry.test")
    assert _staff_events("billing.credit_granted")[0].tenant_slug == "beta"


def test_admin_credit_add_refuses_a_zero_amount(staff_client, tenant_b):
    response = staff_client.post(
        "/admin/billing/tenantcredit/add/",
        {"tenant": tenant_b.tenant.pk, "amount": 0, "currency": "USD", "reason": "x"},
    )

    assert response.status_code == 200
    assert not TenantCredit.objects.exists()


def test_admin_credit_list_searches_and_filters_by_balance(staff_client, tenant_a, tenant_b):
    credit_grant(tenant=tenant_a.tenant, amount=100, currency="USD", reason="Alpha goodwill", actor=TESTS)
    used = credit_grant(tenant=tenant_b.tenant, amount=100, currency="USD", reason="Beta goodwill", actor=TESTS)
    TenantCredit.objects.filter(pk=used.pk).update(remaining=0)

    searched = staff_client.get("/admin/billing/tenantcredit/?q=alpha")
    left = staff_client.get("/admin/billing/tenantcredit/?balance=left")

    assert [c.reason for c in searched.context["cl"].result_list] == ["Alpha goodwill"]
    assert [c.reason for c in left.context["cl"].result_list] == ["Alpha goodwill"]


def test_admin_discount_add_validates_and_the_end_action_ends_it(staff_client, tenant_b):
    refused = staff_client.post(
        "/admin/billing/tenantdiscount/add/",
        {"tenant": tenant_b.tenant.pk, "kind": "percent", "percent": "150", "reason": "Too much"},
    )
    assert refused.status_code == 200 and not TenantDiscount.objects.exists()

    response = staff_client.post(
        "/admin/billing/tenantdiscount/add/",
        {"tenant": tenant_b.tenant.pk, "kind": "percent", "percent": "15", "duration_cycles": 3, "reason": "Launch"},
    )
    assert response.status_code == 302
    other = discount_grant(
        tenant=tenant_b.tenant, kind=DiscountKind.PERCENT, percent=Decimal(5), reason="Other", actor=TESTS
    )
    staff_client.post(
        "/admin/billing/tenantdiscount/",
        {"action": "end_discounts", ACTION_CHECKBOX_NAME: [d.pk for d in TenantDiscount.objects.all()]},
    )

    assert list(TenantDiscount.objects.values_list("active", flat=True)) == [False, False]
    assert len(_staff_events("billing.discount_granted")) == 1 and len(_staff_events("billing.discount_ended")) == 2
    assert other.pk
