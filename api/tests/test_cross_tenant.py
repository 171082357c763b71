"""Tenant isolation and scopes for EVERY /api/v1/ endpoint.

The endpoints are discovered by walking the tenant URLconf, so adding an endpoint without adding
it to ENDPOINT_CALLS and CROSS_TENANT_CHECKS below fails `test_cross_tenant_every_endpoint_is_covered`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django_tenants.utils import schema_context

from api.base import TenantApi
from apikeys.models import ApiKey
from apikeys.scopes import ALL_SCOPES
from apikeys.secrets import api_key_hash
from apikeys.services import IssuedApiKey
from apikeys.tests.factories import IssuedApiKeyFactory, api_client
from audit.models import AuditEvent
from billing.models import Invoice, Subscription

API_V1 = "api/v1/"
# Endpoints any authenticated caller may use: they only describe the caller and its workspace.
SCOPE_FREE_ENDPOINTS = frozenset({"api:tenant", "api:me"})
HTTP_METHODS = ("get", "post", "put", "patch", "delete")


def api_v1_endpoints() -> dict[str, tuple[str, type]]:
    """URL name → (route, view class) for every view under /api/v1/ on tenant hosts."""

    def walk(patterns: list[Any], prefix: str, namespace: str) -> Iterator[tuple[str, str, Any]]:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
            elif isinstance(pattern, URLPattern):
                yield prefix + str(pattern.pattern), f"{namespace}{pattern.name}", pattern.callback

    return {
        name: (route, getattr(callback, "view_class", callback))
        for route, name, callback in walk(get_resolver(settings.ROOT_URLCONF).url_patterns, "", "")
        if route.startswith(API_V1)
    }


# One call per method of every endpoint; `{key_id}` is filled in with the *other* tenant's key.
ENDPOINT_CALLS: dict[str, list[tuple[str, str, dict | None]]] = {
    "api:tenant": [("get", "/api/v1/tenant", None)],
    "api:me": [("get", "/api/v1/me", None)],
    "api:api-keys": [
        ("get", "/api/v1/api-keys", None),
        ("post", "/api/v1/api-keys", {"name": "Guessing", "scopes": ["chat"]}),
    ],
    "api:api-key": [("get", "/api/v1/api-keys/{key_id}", None)],
    "api:api-key-rotate": [("post", "/api/v1/api-keys/{key_id}/rotate", {"overlap_seconds": 0})],
    "api:api-key-revoke": [("post", "/api/v1/api-keys/{key_id}/revoke", None)],
    "api:audit-log": [("get", "/api/v1/audit-log", None)],
    "api:plans": [("get", "/api/v1/plans", None)],
    "api:subscription": [("get", "/api/v1/subscription", None)],
    "api:subscription-upgrade": [
        ("post", "/api/v1/subscription/upgrade", {"plan": "enterprise", "billing_cycle": "monthly"})
    ],
    "api:subscription-cancel": [("post", "/api/v1/subscription/cancel", {})],
    "api:subscription-proration-preview": [
        ("get", "/api/v1/subscription/proration-preview?plan=enterprise&billing_cycle=monthly", None)
    ],
    "api:invoices": [("get", "/api/v1/invoices", None)],
}

ALL_CALLS = [(name, *call) for name, calls in sorted(ENDPOINT_CALLS.items()) for call in calls]
CALL_IDS = [f"{method.upper()} {name}" for name, method, _, _ in ALL_CALLS]


def _call(client: Client, method: str, path: str, body: dict | None, key_id: str):  # type: ignore[no-untyped-def]
    path = path.format(key_id=key_id)
    if method == "get":
        return client.get(path)
    return getattr(client, method)(path, data=json.dumps(body or {}), content_type="application/json")


@dataclass
class Tenants:
    a_key: IssuedApiKey
    b_key: IssuedApiKey
    b_client: Client
    a_host: str
    b_host: str

    def assert_a_key_untouched(self) -> None:
        key = ApiKey.objects.get(pk=self.a_key.key.pk)
        assert key.revoked_at is None
        assert key.secret_hash == api_key_hash(self.a_key.secret)
        assert api_client(self.a_host, self.a_key.secret).get("/api/v1/me").status_code == 200


@pytest.fixture
def tenants(tenant_a, tenant_b) -> Tenants:  # type: ignore[no-untyped-def]
    a_key = IssuedApiKeyFactory.create(tenant=tenant_a.tenant, name="Alpha secret project")
    b_key = IssuedApiKeyFactory.create(tenant=tenant_b.tenant, name="Beta integration")
    return Tenants(a_key, b_key, api_client(tenant_b.host, b_key.secret), tenant_a.host, tenant_b.host)


# --- What tenant B sees of tenant A, per endpoint --------------------------------------------


def _check_tenant(t: Tenants) -> None:
    body = json.loads(t.b_client.get("/api/v1/tenant").content)
    assert (body["slug"], body["name"]) == ("beta", "Beta Ltd")


def _check_me(t: Tenants) -> None:
    body = json.loads(t.b_client.get("/api/v1/me").content)
    assert (body["id"], body["tenant"]) == (t.b_key.key.pk, "beta")


def _check_api_keys(t: Tenants) -> None:
    listed = json.loads(t.b_client.get("/api/v1/api-keys?limit=200").content)
    ids = {item["id"] for item in listed["results"]}
    assert t.b_key.key.pk in ids and t.a_key.key.pk not in ids
    assert ids == set(ApiKey.objects.filter(tenant=t.b_key.key.tenant).values_list("pk", flat=True))
    assert "Alpha" not in json.dumps(listed)

    created = t.b_client.post(
        "/api/v1/api-keys", data={"name": "New", "scopes": ["chat"]}, content_type="application/json"
    )
    assert created.status_code == 201
    assert ApiKey.objects.get(pk=json.loads(created.content)["id"]).tenant_id == t.b_key.key.tenant_id


def _check_api_key(t: Tenants) -> None:
    assert t.b_client.get(f"/api/v1/api-keys/{t.a_key.key.pk}").status_code == 404
    assert t.b_client.get(f"/api/v1/api-keys/{t.b_key.key.pk}").status_code == 200


def _check_api_key_rotate(t: Tenants) -> None:
    for overlap in (0, 3600):
        response = t.b_client.post(
            f"/api/v1/api-keys/{t.a_key.key.pk}/rotate",
            data={"overlap_seconds": overlap},
            content_type="application/json",
        )
        assert response.status_code == 404
        assert "secret" not in json.loads(response.content)
    t.assert_a_key_untouched()


def _check_api_key_revoke(t: Tenants) -> None:
    assert t.b_client.post(f"/api/v1/api-keys/{t.a_key.key.pk}/revoke").status_code == 404
    t.assert_a_key_untouched()


def _check_audit_log(t: Tenants) -> None:
    with schema_context(t.a_key.key.tenant.schema_name):
        assert AuditEvent.objects.filter(target_id=t.a_key.key.pk).exists()  # A does have events

    events = json.loads(t.b_client.get("/api/v1/audit-log?limit=200").content)["results"]
    assert {event["target"]["id"] for event in events if event["action"].startswith("api_key.")} == {t.b_key.key.pk}
    assert t.a_key.key.pk not in json.dumps(events)
    assert "alpha" not in json.dumps(events).lower()


def _check_plans(t: Tenants) -> None:
    plans = json.loads(t.b_client.get("/api/v1/plans").content)
    # B (starter) sees the public catalog with its own plan marked, never A's (professional).
    assert {plan["code"]: plan["is_current"] for plan in plans} == {
        "starter": True,
        "professional": False,
        "enterprise": False,
    }
    assert "alpha" not in json.dumps(plans).lower()


def _check_subscription(t: Tenants) -> None:
    body = json.loads(t.b_client.get("/api/v1/subscription").content)
    assert (body["plan"]["code"], body["status"]) == ("starter", "trialing")  # B's, not A's (professional, active)


def _check_subscription_upgrade(t: Tenants) -> None:
    a_before = _a_subscription(t)
    response = t.b_client.post(
        "/api/v1/subscription/upgrade",
        data={"plan": "enterprise", "billing_cycle": "monthly"},
        content_type="application/json",
    )
    assert json.loads(response.content)["plan"]["code"] == "enterprise"
    assert _a_subscription(t) == a_before


def _check_subscription_cancel(t: Tenants) -> None:
    a_before = _a_subscription(t)
    response = t.b_client.post("/api/v1/subscription/cancel", data={}, content_type="application/json")
    assert json.loads(response.content)["cancel_at_period_end"] is True
    assert _a_subscription(t) == a_before


def _check_subscription_proration_preview(t: Tenants) -> None:
    body = json.loads(
        t.b_client.get("/api/v1/subscription/proration-preview?plan=enterprise&billing_cycle=monthly").content
    )
    assert (body["change"], body["amount_due_now"]) == ("upgrade", 0)  # B is trialing; A would pay


def _check_invoices(t: Tenants) -> None:
    assert Invoice.objects.filter(tenant=t.a_key.key.tenant).exists()  # A does have one
    invoices = json.loads(t.b_client.get("/api/v1/invoices").content)["results"]
    b_numbers = set(Invoice.objects.filter(tenant=t.b_key.key.tenant).values_list("number", flat=True))
    assert {invoice["number"] for invoice in invoices} == b_numbers


def _a_subscription(t: Tenants) -> tuple[object, ...]:
    row = Subscription.objects.get(tenant=t.a_key.key.tenant)
    return (row.plan_id, row.status, row.cancel_at_period_end, row.scheduled_plan_id)


CROSS_TENANT_CHECKS: dict[str, Callable[[Tenants], None]] = {
    "api:tenant": _check_tenant,
    "api:me": _check_me,
    "api:api-keys": _check_api_keys,
    "api:api-key": _check_api_key,
    "api:api-key-rotate": _check_api_key_rotate,
    "api:api-key-revoke": _check_api_key_revoke,
    "api:audit-log": _check_audit_log,
    "api:plans": _check_plans,
    "api:subscription": _check_subscription,
    "api:subscription-upgrade": _check_subscription_upgrade,
    "api:subscription-cancel": _check_subscription_cancel,
    "api:subscription-proration-preview": _check_subscription_proration_preview,
    "api:invoices": _check_invoices,
}


def test_cross_tenant_every_endpoint_is_covered():
    endpoints = api_v1_endpoints()

    assert set(endpoints) == set(ENDPOINT_CALLS) == set(CROSS_TENANT_CHECKS)
    for name, (_, view_class) in endpoints.items():
        implemented = {method for method in HTTP_METHODS if hasattr(view_class, method)}
        assert implemented == {method for method, _, _ in ENDPOINT_CALLS[name]}, name


@pytest.mark.parametrize("name", sorted(CROSS_TENANT_CHECKS))
def test_cross_tenant_b_sees_nothing_of_a(tenants, name):
    CROSS_TENANT_CHECKS[name](tenants)


@pytest.mark.parametrize(("name", "method", "path", "body"), ALL_CALLS, ids=CALL_IDS)
def test_cross_tenant_a_key_on_b_host_is_401(tenants, name, method, path, body):
    client = api_client(tenants.b_host, tenants.a_key.secret)

    response = _call(client, method, path, body, key_id=tenants.a_key.key.pk)

    assert response.status_code == 401
    assert json.loads(response.content)["code"] == "invalid_api_key"
    tenants.assert_a_key_untouched()


@pytest.mark.parametrize(("name", "method", "path", "body"), ALL_CALLS, ids=CALL_IDS)
def test_cross_tenant_b_key_on_a_host_is_401(tenants, name, method, path, body):
    client = api_client(tenants.a_host, tenants.b_key.secret)

    response = _call(client, method, path, body, key_id=tenants.a_key.key.pk)

    assert response.status_code == 401
    assert json.loads(response.content)["code"] == "invalid_api_key"


# --- Scopes ---------------------------------------------------------------------------------


def test_scopes_every_view_is_a_tenant_api_with_scopes_or_allow_listed():
    for name, (route, view_class) in api_v1_endpoints().items():
        assert issubclass(view_class, TenantApi), route
        scopes = tuple(view_class.required_scopes)
        assert set(scopes) <= ALL_SCOPES, route
        if name in SCOPE_FREE_ENDPOINTS:
            assert not scopes, f"{route} declares scopes: drop it from SCOPE_FREE_ENDPOINTS"
        else:
            assert scopes, f"{route} declares no required_scopes and is not an allow-listed scope-free endpoint"


SCOPED_CALLS = [call for call in ALL_CALLS if call[0] not in SCOPE_FREE_ENDPOINTS]


@pytest.mark.parametrize(
    ("name", "method", "path", "body"), SCOPED_CALLS, ids=[f"{m.upper()} {n}" for n, m, _, _ in SCOPED_CALLS]
)
def test_scopes_every_scoped_endpoint_refuses_a_key_without_its_scopes(tenant_a, name, method, path, body):
    required = set(api_v1_endpoints()[name][1].required_scopes)
    target = IssuedApiKeyFactory(tenant=tenant_a.tenant, scopes=["chat"])
    lacking = IssuedApiKeyFactory(tenant=tenant_a.tenant, scopes=sorted(ALL_SCOPES - required))

    response = _call(api_client(tenant_a.host, lacking.secret), method, path, body, key_id=target.key.pk)

    assert response.status_code == 403
    problem = json.loads(response.content)
    assert problem["code"] == "insufficient_scope"
    assert set(problem["missing_scopes"]) == required
    assert ApiKey.objects.get(pk=target.key.pk).revoked_at is None


@pytest.mark.parametrize(
    ("name", "method", "path", "body"), SCOPED_CALLS, ids=[f"{m.upper()} {n}" for n, m, _, _ in SCOPED_CALLS]
)
def test_scopes_every_scoped_endpoint_admits_a_key_with_exactly_its_scopes(tenant_a, name, method, path, body):
    required = sorted(api_v1_endpoints()[name][1].required_scopes)
    target = IssuedApiKeyFactory(tenant=tenant_a.tenant, scopes=required)
    exact = IssuedApiKeyFactory(tenant=tenant_a.tenant, scopes=required)
    if body and "scopes" in body:
        body = {**body, "scopes": required}  # a key may only grant what it holds

    response = _call(api_client(tenant_a.host, exact.secret), method, path, body, key_id=target.key.pk)

    assert response.status_code in (200, 201), response.content
