"""GET /api/v1/plans and GET /api/v1/tenant: the catalog and each workspace's own entitlements."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apikeys.scopes import ALL_SCOPES
from apikeys.tests.factories import IssuedApiKeyFactory, api_client
from billing.models import Plan
from billing.tests.factories import add_on_give, override_give
from billing.tests.test_catalog import ISSUE_TABLE
from conftest import make_member, signed_in_client


def _get(tenant_fixture, path: str, scopes: list[str] | None = None):  # type: ignore[no-untyped-def]
    issued = IssuedApiKeyFactory.create(tenant=tenant_fixture.tenant, scopes=scopes or ["billing:read"])
    return api_client(tenant_fixture.host, issued.secret).get(path)


def _json(response) -> object:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.content
    return json.loads(response.content)


# --- GET /api/v1/plans ----------------------------------------------------------------------


def test_plans_lists_the_public_catalog_with_prices_limits_and_features(tenant_b):
    plans = _json(_get(tenant_b, "/api/v1/plans"))

    assert [plan["code"] for plan in plans] == ["starter", "professional", "enterprise"]
    for plan in plans:
        expected = ISSUE_TABLE[plan["code"]]
        assert plan["limits"] == expected["limits"]
        assert set(plan["features"]) == expected["features"]
        assert plan["sla"] == expected["sla"]
        assert len(plan["prices"]) == 9
    starter_usd = [price for price in plans[0]["prices"] if price["currency"] == "USD"]
    assert starter_usd == [
        {"billing_cycle": "monthly", "months": 1, "currency": "USD", "amount": 4_900},
        {"billing_cycle": "quarterly", "months": 3, "currency": "USD", "amount": 13_965},
        {"billing_cycle": "annual", "months": 12, "currency": "USD", "amount": 48_804},
    ]


def test_plans_marks_each_workspaces_own_plan(tenant_a, tenant_b):
    current_a = [plan["code"] for plan in _json(_get(tenant_a, "/api/v1/plans")) if plan["is_current"]]
    current_b = [plan["code"] for plan in _json(_get(tenant_b, "/api/v1/plans")) if plan["is_current"]]

    assert (current_a, current_b) == (["professional"], ["starter"])


def test_plans_show_the_plan_alone_not_the_workspaces_add_ons(tenant_b):
    add_on_give(tenant_b.tenant, "extra_agents_10")
    override_give(tenant_b.tenant, features=["sso"])

    starter = _json(_get(tenant_b, "/api/v1/plans"))[0]  # type: ignore[index]

    assert starter["limits"]["agents"] == 5
    assert "sso" not in starter["features"]


def test_plans_currency_filter(tenant_b):
    plans = _json(_get(tenant_b, "/api/v1/plans?currency=SAR"))

    assert {price["currency"] for plan in plans for price in plan["prices"]} == {"SAR"}
    assert [price["amount"] for price in plans[0]["prices"]] == [18_500, 52_725, 184_260]


def test_plans_unknown_currency_is_a_validation_error(tenant_b):
    response = _get(tenant_b, "/api/v1/plans?currency=GBP")

    assert response.status_code == 400
    body = json.loads(response.content)
    assert body["code"] == "validation_error"
    assert body["errors"][0]["field"] == "currency"


def test_plans_leave_out_non_public_plans(tenant_b):
    Plan.objects.filter(code="enterprise").update(is_public=False)

    assert [plan["code"] for plan in _json(_get(tenant_b, "/api/v1/plans"))] == ["starter", "professional"]


def test_plans_need_the_billing_read_scope(tenant_a):
    response = _get(tenant_a, "/api/v1/plans", scopes=sorted(ALL_SCOPES - {"billing:read"}))

    assert response.status_code == 403
    body = json.loads(response.content)
    assert (body["code"], body["missing_scopes"]) == ("insufficient_scope", ["billing:read"])


@pytest.mark.parametrize("role", ["member", "viewer"])
def test_plans_readable_by_every_signed_in_role(tenant_a, role):
    make_member(tenant_a, email=f"{role}@alpha.test", role=role)

    response = signed_in_client(tenant_a, f"{role}@alpha.test").get("/api/v1/plans")

    assert response.status_code == 200


def test_plans_query_count_does_not_grow_with_the_catalog(tenant_a):
    issued = IssuedApiKeyFactory.create(tenant=tenant_a.tenant, scopes=["billing:read"])
    client = api_client(tenant_a.host, issued.secret)
    client.get("/api/v1/plans")  # warm the routing, key and entitlements caches

    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/v1/plans").status_code == 200

    selects = [query["sql"] for query in queries.captured_queries if query["sql"].startswith("SELECT")]
    assert len(selects) == 2  # plans, and all their prices in one go


# --- GET /api/v1/tenant ---------------------------------------------------------------------


def test_tenant_features_and_limits_are_the_entitlements(tenant_b):
    add_on_give(tenant_b.tenant, "extra_agents_10", quantity=2)
    add_on_give(tenant_b.tenant, "lead_capture")
    override_give(tenant_b.tenant, limits={"team_members": 8})

    body = _json(_get(tenant_b, "/api/v1/tenant", scopes=["chat"]))

    assert body["plan"] == "starter"  # type: ignore[index]
    assert body["features"] == sorted({"portal_analytics", "email_support", "lead_capture"})  # type: ignore[index]
    assert body["limits"] == {  # type: ignore[index]
        **ISSUE_TABLE["starter"]["limits"],
        "agents": 25,
        "team_members": 8,
    }


def test_tenant_entitlements_of_one_workspace_never_show_in_another(tenant_a, tenant_b):
    add_on_give(tenant_a.tenant, "white_label")

    body = _json(_get(tenant_b, "/api/v1/tenant", scopes=["chat"]))

    assert "remove_branding" not in body["features"]  # type: ignore[index]
