"""The "Usage alerts" page through Django's test client: who may see it, validation, isolation."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from accounts.models import Role
from alerts.models import UsageAlert
from alerts.selectors import usage_alert_thresholds
from conftest import TenantFixture, client_for, make_member, signed_in_client

URL = "/settings/usage-alerts/"


def test_usage_alerts_page_shows_defaults_and_an_empty_state(tenant_a: TenantFixture) -> None:
    response = signed_in_client(tenant_a).get(URL)
    page = response.content.decode()
    assert response.status_code == 200
    assert 'value="50, 80, 100"' in page
    assert "No usage alerts yet." in page
    assert f'href="{URL}" aria-current="page">Usage alerts</a>' in page


@pytest.mark.parametrize(("role", "status"), [(Role.ADMIN, 200), (Role.MEMBER, 403), (Role.VIEWER, 403)])
def test_usage_alerts_page_is_for_owners_and_admins(tenant_a: TenantFixture, role: str, status: int) -> None:
    person = make_member(tenant_a, email=f"{role}@alpha.test", role=role)
    client = signed_in_client(tenant_a, person.email)
    assert client.get(URL).status_code == status
    assert client.post(URL, {"thresholds": "10"}).status_code == (302 if status == 200 else 403)
    with schema_context(tenant_a.schema):
        assert usage_alert_thresholds() == ([10] if status == 200 else [50, 80, 100])
    assert ("Usage alerts</a>" in client.get("/team/").content.decode()) is (status == 200)


def test_usage_alerts_page_redirects_anonymous_visitors_to_sign_in(tenant_a: TenantFixture) -> None:
    response = client_for(tenant_a.host).get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_usage_alerts_page_saves_thresholds(tenant_a: TenantFixture) -> None:
    client = signed_in_client(tenant_a)
    response = client.post(URL, {"thresholds": "90%, 25 75"}, follow=True)
    assert "Usage alerts will be sent at 25%, 75%, 90%." in response.content.decode()
    assert 'value="25, 75, 90"' in response.content.decode()
    with schema_context(tenant_a.schema):
        assert usage_alert_thresholds() == [25, 75, 90]


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("", "This field is required."),
        ("fifty", "Each threshold is a whole number from 1 to 100."),
        ("50.5", "Each threshold is a whole number from 1 to 100."),
        ("-5, 50", "Each threshold is a whole number from 1 to 100."),
        ("0, 50", "Each threshold is a whole number from 1 to 100."),
        ("50, 150", "Each threshold is a whole number from 1 to 100."),
        ("50, 50", "Each threshold may appear only once."),
        ("10, 20, 30, 40, 50, 60", "Choose between 1 and 5 thresholds."),
    ],
)
def test_usage_alerts_page_refuses_invalid_thresholds(tenant_a: TenantFixture, value: str, problem: str) -> None:
    response = signed_in_client(tenant_a).post(URL, {"thresholds": value})
    assert response.status_code == 400
    assert problem in response.content.decode()
    with schema_context(tenant_a.schema):
        assert usage_alert_thresholds() == [50, 80, 100]


def test_usage_alerts_page_lists_this_workspaces_alerts_only(tenant_a: TenantFixture, tenant_b: TenantFixture) -> None:
    with schema_context(tenant_a.schema):
        UsageAlert.objects.create(
            meter="storage_bytes", period="current", threshold=100, used=2 * 1024**3, allowed=1024**3
        )
        UsageAlert.objects.create(meter="api_calls", period="2026-11", threshold=80, used=80_000, allowed=100_000)
    page_a = signed_in_client(tenant_a).get(URL).content.decode()
    assert "Knowledge storage" in page_a and "2.0\xa0GB / 1.0\xa0GB" in page_a and "Limit reached" in page_a
    assert "80,000 / 100,000" in page_a and "November 2026" in page_a
    page_b = signed_in_client(tenant_b).get(URL).content.decode()
    assert "No usage alerts yet." in page_b and "80,000" not in page_b
