"""Staff admin: usage per tenant (from each tenant's schema) and the audited model price table."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from accounts.models import User
from audit.models import AuditEvent
from conftest import PASSWORD, client_for
from metering.models import ModelPrice
from usage.meters import Meter
from usage.recorder import usage_record
from usage.rollup import usage_rollup


@pytest.fixture
def staff_client(two_tenants, db) -> Client:  # type: ignore[no-untyped-def]
    with schema_context("public"):
        staff = User.objects.create_superuser(email="usage-staff@agentry.test", password=PASSWORD)
    client = client_for("localhost")
    client.force_login(staff, backend="django.contrib.auth.backends.ModelBackend")
    return client


def test_admin_usage_per_tenant_lists_each_tenants_month(staff_client, tenant_a, tenant_b):
    ModelPrice.objects.create(
        provider="p", model="m", input_price_per_1k=Decimal("2"), output_price_per_1k=Decimal("4")
    )
    usage_record(tenant=tenant_a.tenant, meter=Meter.API_CALLS, quantity=1234, idempotency_id="a1")
    usage_record(
        tenant=tenant_a.tenant, meter=Meter.TOKENS, quantity=5000, idempotency_id="a2", model="p/m", token_type="output"
    )
    usage_record(tenant=tenant_b.tenant, meter=Meter.API_CALLS, quantity=7, idempotency_id="b1")
    usage_rollup(tenant=tenant_a.tenant)
    usage_rollup(tenant=tenant_b.tenant)

    response = staff_client.get("/admin/metering/tenantusage/")

    assert response.status_code == 200
    rows = {tenant.slug: tenant for tenant in response.context["cl"].result_list}
    assert rows["alpha"].usage_totals[Meter.API_CALLS] == 1234
    assert rows["alpha"].usage_cost == Decimal("20.00")
    assert rows["beta"].usage_totals[Meter.API_CALLS] == 7
    assert "1,234" in response.content.decode()


def test_admin_model_price_save_is_audited(staff_client):
    response = staff_client.post(
        "/admin/metering/modelprice/add/",
        {"provider": "openai", "model": "gpt-x", "input_price_per_1k": "0.15", "output_price_per_1k": "0.60"},
    )

    assert response.status_code == 302
    price = ModelPrice.objects.get(provider="openai", model="gpt-x")
    with schema_context("public"):
        assert AuditEvent.objects.filter(action="model_price.created", target_id=str(price.pk)).exists()


def test_admin_tenant_usage_is_read_only(staff_client):
    assert staff_client.get("/admin/metering/tenantusage/add/").status_code == 403
