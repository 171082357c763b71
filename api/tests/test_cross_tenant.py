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

from agents.models import Agent, AgentTask, Department, Team
from agents.tests.factories import agent_path_ids, task_path_ids
from api.base import TenantApi
from apikeys.models import ApiKey
from apikeys.scopes import ALL_SCOPES
from apikeys.secrets import api_key_hash
from apikeys.services import IssuedApiKey
from apikeys.tests.factories import IssuedApiKeyFactory, api_client
from audit.models import AuditEvent
from billing.models import Invoice, Subscription, TenantAddOn
from billing.tests.factories import add_on_give, add_on_path_ids, override_give
from conversations.models import Conversation
from conversations.tests.factories import conversation_path_ids
from knowledge.models import Document, Faq, KnowledgeBase
from knowledge.tests.factories import knowledge_path_ids
from leads.models import Lead
from leads.tests.factories import lead_path_ids
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.tests.factories import PUBLIC_URL, webhook_path_ids

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
    "api:subscription-reactivate": [("post", "/api/v1/subscription/reactivate", None)],
    "api:add-ons": [("get", "/api/v1/add-ons", None)],
    "api:add-on-purchase": [("post", "/api/v1/add-ons/lead_capture/purchase", {})],
    "api:add-on-cancel": [("post", "/api/v1/add-ons/{add_on_code}/cancel", None)],
    "api:subscription-proration-preview": [
        ("get", "/api/v1/subscription/proration-preview?plan=enterprise&billing_cycle=monthly", None)
    ],
    "api:invoices": [("get", "/api/v1/invoices", None)],
    "api:subscription-usage": [("get", "/api/v1/subscription/usage", None)],
    "api:usage": [("get", "/api/v1/usage?meter=tokens", None)],
    "api:usage-costs": [("get", "/api/v1/usage/costs", None)],
    "api:webhook-endpoints": [
        ("get", "/api/v1/webhook-endpoints", None),
        ("post", "/api/v1/webhook-endpoints", {"url": PUBLIC_URL, "event_types": ["lead.created"]}),
    ],
    "api:webhook-endpoint": [
        ("get", "/api/v1/webhook-endpoints/{endpoint_id}", None),
        ("patch", "/api/v1/webhook-endpoints/{endpoint_id}", {"description": "Guessing"}),
        ("delete", "/api/v1/webhook-endpoints/{endpoint_id}", None),
    ],
    "api:webhook-endpoint-rotate-secret": [("post", "/api/v1/webhook-endpoints/{endpoint_id}/rotate-secret", {})],
    "api:webhook-endpoint-test": [("post", "/api/v1/webhook-endpoints/{endpoint_id}/test", None)],
    "api:webhook-endpoint-replay": [("post", "/api/v1/webhook-endpoints/{endpoint_id}/events/{event_id}/replay", None)],
    "api:webhook-endpoint-deliveries": [("get", "/api/v1/webhook-endpoints/{endpoint_id}/deliveries", None)],
    "api:webhook-events": [("get", "/api/v1/webhook-events", None)],
    "api:webhook-event": [("get", "/api/v1/webhook-events/{event_id}", None)],
    "api:knowledge-bases": [
        ("get", "/api/v1/knowledge-bases", None),
        ("post", "/api/v1/knowledge-bases", {"name": "Guessing"}),
    ],
    "api:knowledge-base": [
        ("get", "/api/v1/knowledge-bases/{knowledge_base_id}", None),
        ("patch", "/api/v1/knowledge-bases/{knowledge_base_id}", {"description": "Guessing"}),
        ("delete", "/api/v1/knowledge-bases/{knowledge_base_id}", None),
    ],
    "api:knowledge-documents": [
        ("get", "/api/v1/knowledge-bases/{knowledge_base_id}/documents", None),
        ("post", "/api/v1/knowledge-bases/{knowledge_base_id}/documents", {"title": "Guess", "text": "Guessing."}),
    ],
    "api:knowledge-document": [
        ("get", "/api/v1/knowledge-bases/{knowledge_base_id}/documents/{document_id}", None),
        ("delete", "/api/v1/knowledge-bases/{knowledge_base_id}/documents/{document_id}", None),
    ],
    "api:knowledge-document-reindex": [
        ("post", "/api/v1/knowledge-bases/{knowledge_base_id}/documents/{document_id}/reindex", None)
    ],
    "api:knowledge-faqs": [
        ("get", "/api/v1/knowledge-bases/{knowledge_base_id}/faqs", None),
        ("post", "/api/v1/knowledge-bases/{knowledge_base_id}/faqs", {"question": "Guess?", "answer": "Guessing."}),
    ],
    "api:knowledge-faq": [
        ("get", "/api/v1/knowledge-bases/{knowledge_base_id}/faqs/{faq_id}", None),
        ("patch", "/api/v1/knowledge-bases/{knowledge_base_id}/faqs/{faq_id}", {"answer": "Guessing."}),
        ("delete", "/api/v1/knowledge-bases/{knowledge_base_id}/faqs/{faq_id}", None),
    ],
    "api:knowledge-search": [("get", "/api/v1/knowledge-bases/{knowledge_base_id}/search?q=pricing", None)],
    "api:agents": [("get", "/api/v1/agents", None), ("post", "/api/v1/agents", {"name": "Guessing", "type": "nlp"})],
    "api:agent": [
        ("get", "/api/v1/agents/{agent_id}", None),
        ("patch", "/api/v1/agents/{agent_id}", {"job_title": "Guessing"}),
        ("delete", "/api/v1/agents/{agent_id}", None),
    ],
    "api:teams": [
        ("get", "/api/v1/teams", None),
        ("post", "/api/v1/teams", {"name": "Guessing", "department": "{department_id}"}),
    ],
    "api:team": [
        ("get", "/api/v1/teams/{team_id}", None),
        ("patch", "/api/v1/teams/{team_id}", {"description": "Guessing"}),
        ("delete", "/api/v1/teams/{team_id}", None),
    ],
    "api:departments": [("get", "/api/v1/departments", None), ("post", "/api/v1/departments", {"name": "Guessing"})],
    "api:department": [
        ("get", "/api/v1/departments/{department_id}", None),
        ("patch", "/api/v1/departments/{department_id}", {"description": "Guessing"}),
        ("delete", "/api/v1/departments/{department_id}", None),
    ],
    "api:org-chart": [("get", "/api/v1/org-chart", None)],
    "api:chat": [("post", "/api/v1/chat", {"agent": "{agent_id}", "session_id": "guess", "message": "Hello"})],
    "api:chat-stream": [
        ("post", "/api/v1/chat/stream", {"agent": "{agent_id}", "session_id": "guess", "message": "Hello"})
    ],
    "api:conversations": [("get", "/api/v1/conversations", None)],
    "api:conversation": [("get", "/api/v1/conversations/{conversation_id}", None)],
    "api:conversation-messages": [("get", "/api/v1/conversations/{conversation_id}/messages", None)],
    "api:conversation-rating": [("post", "/api/v1/conversations/{conversation_id}/rating", {"rating": 1})],
    "api:agent-tasks": [
        ("get", "/api/v1/agents/{agent_id}/tasks", None),
        ("post", "/api/v1/agents/{agent_id}/tasks", {"title": "Guessing"}),
    ],
    "api:task": [("get", "/api/v1/tasks/{task_id}", None)],
    "api:task-approve": [("post", "/api/v1/tasks/{task_id}/approve", None)],
    "api:task-reject": [("post", "/api/v1/tasks/{task_id}/reject", {"reason": "Guessing"})],
    "api:task-cancel": [("post", "/api/v1/tasks/{task_id}/cancel", None)],
    "api:leads": [("get", "/api/v1/leads", None)],
    "api:conversations-erase": [("post", "/api/v1/conversations/erase", {"session_id": "guessing"})],
    "api:lead": [
        ("get", "/api/v1/leads/{lead_id}", None),
        ("patch", "/api/v1/leads/{lead_id}", {"status": "closed"}),
    ],
}

ALL_CALLS = [(name, *call) for name, calls in sorted(ENDPOINT_CALLS.items()) for call in calls]
CALL_IDS = [f"{method.upper()} {name}" for name, method, _, _ in ALL_CALLS]


def _path_ids(path: str, key_id: str) -> dict[str, str]:
    """Other `{…_id}` placeholders: fresh rows of the key's tenant (tenant A, as `key_id` always is)."""
    if "{conversation_id}" in path or "/api/v1/chat" in path:  # chat needs an active agent
        return conversation_path_ids(ApiKey.objects.get(pk=key_id).tenant)
    if "{add_on_code}" in path:
        return add_on_path_ids(ApiKey.objects.get(pk=key_id).tenant)
    if "{knowledge_base_id}" in path:
        return knowledge_path_ids(ApiKey.objects.get(pk=key_id).tenant)
    if "{lead_id}" in path:
        return lead_path_ids(ApiKey.objects.get(pk=key_id).tenant)
    if "{task_id}" in path or "/tasks" in path:
        return task_path_ids(ApiKey.objects.get(pk=key_id).tenant)
    if any(name in path for name in ("{agent_id}", "{team_id}", "{department_id}")):
        return agent_path_ids(ApiKey.objects.get(pk=key_id).tenant)
    if "{endpoint_id}" not in path and "{event_id}" not in path:
        return {}
    return webhook_path_ids(ApiKey.objects.get(pk=key_id).tenant)


def _call(client: Client, method: str, path: str, body: dict | None, key_id: str):  # type: ignore[no-untyped-def]
    # Placeholders may be in the body too (a team's `department`).
    ids = {"key_id": key_id, **_path_ids(path + json.dumps(body), key_id)}
    path = path.format(**ids)
    body = {name: value.format(**ids) if isinstance(value, str) else value for name, value in (body or {}).items()}
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


def _check_subscription_reactivate(t: Tenants) -> None:
    Subscription.objects.filter(tenant=t.a_key.key.tenant).update(status="cancelled")
    a_before = _a_subscription(t)
    response = t.b_client.post("/api/v1/subscription/reactivate")
    assert json.loads(response.content)["status"] == "trialing"  # B's, unchanged; A's stays cancelled
    assert _a_subscription(t) == a_before


def _a_add_ons(t: Tenants) -> list[tuple[str, bool]]:
    return sorted(TenantAddOn.objects.filter(tenant=t.a_key.key.tenant).values_list("add_on__code", "active"))


def _check_add_ons(t: Tenants) -> None:
    add_on_give(t.a_key.key.tenant, "extra_agents_10")
    add_ons = json.loads(t.b_client.get("/api/v1/add-ons").content)
    assert [a["code"] for a in add_ons if a["active"]] == []  # A's pack is A's
    assert "alpha" not in json.dumps(add_ons).lower()


def _check_add_on_purchase(t: Tenants) -> None:
    a_before = _a_add_ons(t)
    response = t.b_client.post("/api/v1/add-ons/lead_capture/purchase", data={}, content_type="application/json")
    assert (response.status_code, json.loads(response.content)["active"]) == (201, True)
    assert _a_add_ons(t) == a_before


def _check_add_on_cancel(t: Tenants) -> None:
    add_on_give(t.a_key.key.tenant, "extra_agents_10")
    response = t.b_client.post("/api/v1/add-ons/extra_agents_10/cancel")
    assert (response.status_code, json.loads(response.content)["code"]) == (409, "conflict")  # B holds none
    assert _a_add_ons(t) == [("extra_agents_10", True)]


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


def _a_usage_recorded(t: Tenants) -> None:
    from usage.recorder import usage_record
    from usage.rollup import usage_rollup

    tenant = t.a_key.key.tenant
    usage_record(tenant=tenant, meter="tokens", quantity=4242, idempotency_id="alpha-only", agent_id="alpha-agent")
    usage_rollup(tenant=tenant)


def _check_subscription_usage(t: Tenants) -> None:
    _a_usage_recorded(t)
    body = json.loads(t.b_client.get("/api/v1/subscription/usage").content)
    assert (body["tenant_id"], body["tokens"]["total"]) == ("beta", 0)


def _check_usage(t: Tenants) -> None:
    _a_usage_recorded(t)
    body = json.loads(t.b_client.get("/api/v1/usage?meter=tokens").content)
    assert body["points"] and sum(point["quantity"] for point in body["points"]) == 0


def _check_usage_costs(t: Tenants) -> None:
    _a_usage_recorded(t)
    body = json.loads(t.b_client.get("/api/v1/usage/costs").content)
    assert body["total"]["tokens"] == 0 and body["agents"] == []
    assert "alpha" not in json.dumps(body)


def _a_subscription(t: Tenants) -> tuple[object, ...]:
    row = Subscription.objects.get(tenant=t.a_key.key.tenant)
    return (row.plan_id, row.status, row.cancel_at_period_end, row.scheduled_plan_id)


def _webhooks_of_a(t: Tenants) -> dict[str, str]:
    """An endpoint and an event of A; B gets the webhooks feature, so a 404 is isolation, not the plan."""
    override_give(t.b_key.key.tenant, features=["webhooks"])
    return webhook_path_ids(t.a_key.key.tenant)


def _assert_a_endpoint_untouched(t: Tenants, endpoint_id: str) -> None:
    with schema_context(t.a_key.key.tenant.schema_name):
        endpoint = WebhookEndpoint.objects.get(pk=endpoint_id)
        assert (endpoint.is_enabled, endpoint.description, endpoint.previous_secret_encrypted) == (True, "", "")
        assert list(WebhookDelivery.objects.filter(endpoint=endpoint).values_list("trigger", flat=True)) == ["event"]


def _check_webhook_endpoints(t: Tenants) -> None:
    a = _webhooks_of_a(t)
    assert a["endpoint_id"] not in t.b_client.get("/api/v1/webhook-endpoints?limit=200").content.decode()
    created = t.b_client.post(
        "/api/v1/webhook-endpoints",
        data={"url": PUBLIC_URL, "event_types": ["lead.created"]},
        content_type="application/json",
    )
    assert created.status_code == 201
    with schema_context(t.a_key.key.tenant.schema_name):
        assert not WebhookEndpoint.objects.filter(pk=json.loads(created.content)["id"]).exists()
    with schema_context(t.b_key.key.tenant.schema_name):
        assert WebhookEndpoint.objects.filter(pk=json.loads(created.content)["id"]).exists()


def _check_webhook_endpoint(t: Tenants) -> None:
    path = f"/api/v1/webhook-endpoints/{_webhooks_of_a(t)['endpoint_id']}"
    assert t.b_client.get(path).status_code == 404
    patched = t.b_client.patch(path, data={"description": "x", "is_enabled": False}, content_type="application/json")
    assert patched.status_code == 404
    assert t.b_client.delete(path).status_code == 404
    _assert_a_endpoint_untouched(t, path.rsplit("/", 1)[1])


def _check_webhook_endpoint_rotate_secret(t: Tenants) -> None:
    endpoint_id = _webhooks_of_a(t)["endpoint_id"]
    response = t.b_client.post(f"/api/v1/webhook-endpoints/{endpoint_id}/rotate-secret")
    assert response.status_code == 404
    assert "whsec_" not in response.content.decode()
    _assert_a_endpoint_untouched(t, endpoint_id)


def _check_webhook_endpoint_test(t: Tenants) -> None:
    endpoint_id = _webhooks_of_a(t)["endpoint_id"]
    assert t.b_client.post(f"/api/v1/webhook-endpoints/{endpoint_id}/test").status_code == 404
    _assert_a_endpoint_untouched(t, endpoint_id)


def _check_webhook_endpoint_replay(t: Tenants) -> None:
    a = _webhooks_of_a(t)
    b_endpoint = t.b_client.post(
        "/api/v1/webhook-endpoints",
        data={"url": PUBLIC_URL, "event_types": ["lead.created"]},
        content_type="application/json",
    )
    for endpoint_id in (a["endpoint_id"], json.loads(b_endpoint.content)["id"]):
        replay = t.b_client.post(f"/api/v1/webhook-endpoints/{endpoint_id}/events/{a['event_id']}/replay")
        assert replay.status_code == 404
    _assert_a_endpoint_untouched(t, a["endpoint_id"])


def _check_webhook_endpoint_deliveries(t: Tenants) -> None:
    endpoint_id = _webhooks_of_a(t)["endpoint_id"]
    assert t.b_client.get(f"/api/v1/webhook-endpoints/{endpoint_id}/deliveries").status_code == 404


def _check_webhook_events(t: Tenants) -> None:
    event_id = _webhooks_of_a(t)["event_id"]
    listed = t.b_client.get("/api/v1/webhook-events?limit=200")
    assert listed.status_code == 200
    assert event_id not in listed.content.decode()


def _check_webhook_event(t: Tenants) -> None:
    event_id = _webhooks_of_a(t)["event_id"]
    assert t.b_client.get(f"/api/v1/webhook-events/{event_id}").status_code == 404


def _knowledge_of_a(t: Tenants) -> tuple[str, dict[str, str]]:
    """A's knowledge base with an FAQ and a document, and the API path of that knowledge base."""
    a = knowledge_path_ids(t.a_key.key.tenant)
    return f"/api/v1/knowledge-bases/{a['knowledge_base_id']}", a


def _assert_a_knowledge_untouched(t: Tenants, a: dict[str, str]) -> None:
    with schema_context(t.a_key.key.tenant.schema_name):
        kb = KnowledgeBase.objects.get(pk=a["knowledge_base_id"])
        assert kb.description == ""
        assert Faq.objects.get(pk=a["faq_id"], knowledge_base=kb).answer == "Secrets."
        assert Document.objects.get(pk=a["document_id"], knowledge_base=kb).status == "pending"
        assert (kb.faqs.count(), kb.documents.count()) == (1, 1)


def _b_knowledge_base(t: Tenants) -> str:
    return knowledge_path_ids(t.b_key.key.tenant)["knowledge_base_id"]


def _check_knowledge_bases(t: Tenants) -> None:
    _, a = _knowledge_of_a(t)
    listed = t.b_client.get("/api/v1/knowledge-bases?limit=200")
    assert listed.status_code == 200 and a["knowledge_base_id"] not in listed.content.decode()
    assert "alpha" not in listed.content.decode()
    created = t.b_client.post("/api/v1/knowledge-bases", data={"name": "Beta KB"}, content_type="application/json")
    assert created.status_code == 201
    with schema_context(t.a_key.key.tenant.schema_name):
        assert not KnowledgeBase.objects.filter(pk=json.loads(created.content)["id"]).exists()


def _check_knowledge_base(t: Tenants) -> None:
    path, a = _knowledge_of_a(t)
    assert t.b_client.get(path).status_code == 404
    assert t.b_client.patch(path, data={"description": "x"}, content_type="application/json").status_code == 404
    assert t.b_client.delete(path).status_code == 404
    _assert_a_knowledge_untouched(t, a)


def _check_knowledge_documents(t: Tenants) -> None:
    path, a = _knowledge_of_a(t)
    assert t.b_client.get(f"{path}/documents").status_code == 404
    posted = t.b_client.post(
        f"{path}/documents", data={"title": "Injected", "text": "x"}, content_type="application/json"
    )
    assert posted.status_code == 404
    _assert_a_knowledge_untouched(t, a)


def _check_knowledge_document(t: Tenants) -> None:
    path, a = _knowledge_of_a(t)
    b_kb = _b_knowledge_base(t)
    for kb_path in (path, f"/api/v1/knowledge-bases/{b_kb}"):  # A's document under B's own knowledge base too
        document = f"{kb_path}/documents/{a['document_id']}"
        assert t.b_client.get(document).status_code == 404
        assert t.b_client.delete(document).status_code == 404
    _assert_a_knowledge_untouched(t, a)


def _check_knowledge_document_reindex(t: Tenants) -> None:
    path, a = _knowledge_of_a(t)
    b_kb = _b_knowledge_base(t)
    for kb_path in (path, f"/api/v1/knowledge-bases/{b_kb}"):
        assert t.b_client.post(f"{kb_path}/documents/{a['document_id']}/reindex").status_code == 404
    _assert_a_knowledge_untouched(t, a)


def _check_knowledge_faqs(t: Tenants) -> None:
    path, a = _knowledge_of_a(t)
    assert t.b_client.get(f"{path}/faqs").status_code == 404
    posted = t.b_client.post(f"{path}/faqs", data={"question": "Q?", "answer": "A"}, content_type="application/json")
    assert posted.status_code == 404
    _assert_a_knowledge_untouched(t, a)


def _check_knowledge_faq(t: Tenants) -> None:
    path, a = _knowledge_of_a(t)
    b_kb = _b_knowledge_base(t)
    for kb_path in (path, f"/api/v1/knowledge-bases/{b_kb}"):
        faq = f"{kb_path}/faqs/{a['faq_id']}"
        assert t.b_client.get(faq).status_code == 404
        assert t.b_client.patch(faq, data={"answer": "x"}, content_type="application/json").status_code == 404
        assert t.b_client.delete(faq).status_code == 404
    _assert_a_knowledge_untouched(t, a)


def _check_knowledge_search(t: Tenants) -> None:
    path, _ = _knowledge_of_a(t)
    assert t.b_client.get(f"{path}/search?q=alpha").status_code == 404
    b_kb = _b_knowledge_base(t)
    found = json.loads(t.b_client.get(f"/api/v1/knowledge-bases/{b_kb}/search?q=alpha+sell").content)
    assert "alpha" not in json.dumps(found["results"]).lower()


def _organisation_of_a(t: Tenants) -> dict[str, str]:
    """A's agent (active, in a team, with a manager), its team and its department."""
    from agents.tests.factories import AgentFactory, TeamFactory

    with schema_context(t.a_key.key.tenant.schema_name):
        team = TeamFactory.create(name="Alpha secret team")
        boss = AgentFactory.create(name="Alpha secret boss", status="active")
        agent = AgentFactory.create(name="Alpha secret agent", team_id=team.pk, manager_id=boss.pk, status="active")
    return {"agent_id": agent.pk, "team_id": team.pk, "department_id": team.department_id, "boss_id": boss.pk}


def _assert_a_organisation_untouched(t: Tenants, a: dict[str, str]) -> None:
    with schema_context(t.a_key.key.tenant.schema_name):
        agent = Agent.objects.get(pk=a["agent_id"])
        assert (agent.name, agent.status, agent.job_title, agent.team_id, agent.manager_id) == (
            "Alpha secret agent",
            "active",
            "",
            a["team_id"],
            a["boss_id"],
        )
        assert Team.objects.get(pk=a["team_id"]).description == ""
        assert Department.objects.get(pk=a["department_id"]).description == ""


def _check_agents(t: Tenants) -> None:
    a = _organisation_of_a(t)
    listed = t.b_client.get("/api/v1/agents?limit=200").content.decode()
    assert a["agent_id"] not in listed and "Alpha" not in listed
    for body in ({"name": "Spy", "manager": a["boss_id"]}, {"name": "Spy", "team": a["team_id"]}):
        refused = t.b_client.post("/api/v1/agents", data=body, content_type="application/json")
        assert refused.status_code == 400  # A's rows do not exist here
    created = t.b_client.post("/api/v1/agents", data={"name": "Beta agent"}, content_type="application/json")
    assert created.status_code == 201
    with schema_context(t.a_key.key.tenant.schema_name):
        assert not Agent.objects.filter(pk=json.loads(created.content)["id"]).exists()
    _assert_a_organisation_untouched(t, a)


def _check_agent(t: Tenants) -> None:
    a = _organisation_of_a(t)
    path = f"/api/v1/agents/{a['agent_id']}"
    assert t.b_client.get(path).status_code == 404
    assert t.b_client.patch(path, data={"job_title": "x"}, content_type="application/json").status_code == 404
    assert t.b_client.delete(path).status_code == 404
    _assert_a_organisation_untouched(t, a)


def _check_teams(t: Tenants) -> None:
    a = _organisation_of_a(t)
    listed = t.b_client.get("/api/v1/teams?limit=200").content.decode()
    assert a["team_id"] not in listed and "Alpha" not in listed
    posted = t.b_client.post(
        "/api/v1/teams", data={"name": "Spies", "department": a["department_id"]}, content_type="application/json"
    )
    assert posted.status_code == 400
    _assert_a_organisation_untouched(t, a)


def _check_team(t: Tenants) -> None:
    a = _organisation_of_a(t)
    path = f"/api/v1/teams/{a['team_id']}"
    assert t.b_client.get(path).status_code == 404
    assert t.b_client.patch(path, data={"description": "x"}, content_type="application/json").status_code == 404
    assert t.b_client.delete(path).status_code == 404
    _assert_a_organisation_untouched(t, a)


def _check_departments(t: Tenants) -> None:
    a = _organisation_of_a(t)
    listed = t.b_client.get("/api/v1/departments?limit=200").content.decode()
    assert a["department_id"] not in listed
    created = t.b_client.post("/api/v1/departments", data={"name": "Beta dept"}, content_type="application/json")
    assert created.status_code == 201
    with schema_context(t.a_key.key.tenant.schema_name):
        assert not Department.objects.filter(pk=json.loads(created.content)["id"]).exists()
    _assert_a_organisation_untouched(t, a)


def _check_department(t: Tenants) -> None:
    a = _organisation_of_a(t)
    path = f"/api/v1/departments/{a['department_id']}"
    assert t.b_client.get(path).status_code == 404
    assert t.b_client.patch(path, data={"description": "x"}, content_type="application/json").status_code == 404
    assert t.b_client.delete(path).status_code == 404
    _assert_a_organisation_untouched(t, a)


def _check_org_chart(t: Tenants) -> None:
    a = _organisation_of_a(t)
    chart = t.b_client.get("/api/v1/org-chart").content.decode()
    assert "Alpha" not in chart and a["agent_id"] not in chart and a["department_id"] not in chart


def _leads_of_a(t: Tenants) -> str:
    lead_id = lead_path_ids(t.a_key.key.tenant)["lead_id"]
    with schema_context(t.a_key.key.tenant.schema_name):
        Lead.objects.filter(pk=lead_id).update(name="Alpha secret lead")
    return lead_id


def _check_leads(t: Tenants) -> None:
    lead_id = _leads_of_a(t)
    listed = t.b_client.get("/api/v1/leads?limit=200").content.decode()
    assert lead_id not in listed and "Alpha" not in listed and "alpha" not in listed
    assert json.loads(listed)["results"] == []


def _check_lead(t: Tenants) -> None:
    lead_id = _leads_of_a(t)
    assert t.b_client.get(f"/api/v1/leads/{lead_id}").status_code == 404
    patched = t.b_client.patch(f"/api/v1/leads/{lead_id}", data={"status": "closed"}, content_type="application/json")
    assert patched.status_code == 404
    with schema_context(t.a_key.key.tenant.schema_name):
        assert Lead.objects.get(pk=lead_id).status == "new"


def _tasks_of_a(t: Tenants) -> dict[str, str]:
    return task_path_ids(t.a_key.key.tenant)


def _assert_a_task_untouched(t: Tenants, task_id: str) -> None:
    with schema_context(t.a_key.key.tenant.schema_name):
        task = AgentTask.objects.get(pk=task_id)
        assert (task.status, task.approved_at, task.rejected_at, task.error) == ("waiting_approval", None, None, "")


def _check_agent_tasks(t: Tenants) -> None:
    a = _tasks_of_a(t)
    path = f"/api/v1/agents/{a['agent_id']}/tasks"
    assert t.b_client.get(path).status_code == 404
    assert t.b_client.post(path, data={"title": "Spy"}, content_type="application/json").status_code == 404
    b = task_path_ids(t.b_key.key.tenant)
    own = t.b_client.get(f"/api/v1/agents/{b['agent_id']}/tasks").content.decode()
    assert b["task_id"] in own and a["task_id"] not in own and "alpha" not in own
    # B's agent cannot delegate as A's agent, nor fan out to it.
    for body in ({"title": "Spy", "delegated_by": a["agent_id"]}, {"title": "Spy", "delegate_to": [a["agent_id"]]}):
        refused = t.b_client.post(f"/api/v1/agents/{b['agent_id']}/tasks", data=body, content_type="application/json")
        assert refused.status_code == 400
    with schema_context(t.a_key.key.tenant.schema_name):
        assert AgentTask.objects.filter(agent_id=a["agent_id"]).count() == 1
    _assert_a_task_untouched(t, a["task_id"])


def _check_task(t: Tenants) -> None:
    a = _tasks_of_a(t)
    assert t.b_client.get(f"/api/v1/tasks/{a['task_id']}").status_code == 404


def _check_task_approve(t: Tenants) -> None:
    a = _tasks_of_a(t)
    assert t.b_client.post(f"/api/v1/tasks/{a['task_id']}/approve").status_code == 404
    _assert_a_task_untouched(t, a["task_id"])


def _check_task_reject(t: Tenants) -> None:
    a = _tasks_of_a(t)
    response = t.b_client.post(
        f"/api/v1/tasks/{a['task_id']}/reject", data={"reason": "x"}, content_type="application/json"
    )
    assert response.status_code == 404
    _assert_a_task_untouched(t, a["task_id"])


def _check_task_cancel(t: Tenants) -> None:
    a = _tasks_of_a(t)
    assert t.b_client.post(f"/api/v1/tasks/{a['task_id']}/cancel").status_code == 404
    _assert_a_task_untouched(t, a["task_id"])


def _check_conversations_erase(t: Tenants) -> None:
    lead_id = _leads_of_a(t)
    with schema_context(t.a_key.key.tenant.schema_name):
        lead = Lead.objects.select_related("conversation").get(pk=lead_id)
        session_id, email = lead.conversation.session_id, lead.email  # type: ignore[union-attr]
    erased = t.b_client.post(
        "/api/v1/conversations/erase",
        data={"session_id": session_id, "email": email},
        content_type="application/json",
    )
    assert json.loads(erased.content) == {"conversations": 0, "messages": 0, "leads": 0}
    with schema_context(t.a_key.key.tenant.schema_name):
        assert Lead.objects.filter(pk=lead_id, conversation__isnull=False).exists()


def _conversation_of_a(t: Tenants) -> dict[str, str]:
    return conversation_path_ids(t.a_key.key.tenant)


def _assert_a_conversation_untouched(t: Tenants, a: dict[str, str]) -> None:
    with schema_context(t.a_key.key.tenant.schema_name):
        conversation = Conversation.objects.get(pk=a["conversation_id"])
        assert conversation.message_count == 2 and conversation.satisfaction_rating is None
        assert Conversation.objects.filter(agent_id=a["agent_id"]).count() == 1


def _check_chat_path(t: Tenants, path: str) -> None:
    a = _conversation_of_a(t)
    body = {"agent": a["agent_id"], "session_id": f"{t.a_key.key.tenant.slug}-visitor", "message": "Hello"}
    response = t.b_client.post(path, data=body, content_type="application/json")
    assert response.status_code == 400 and json.loads(response.content)["errors"][0]["field"] == "agent"
    _assert_a_conversation_untouched(t, a)


def _check_chat(t: Tenants) -> None:
    _check_chat_path(t, "/api/v1/chat")


def _check_chat_stream(t: Tenants) -> None:
    _check_chat_path(t, "/api/v1/chat/stream")


def _check_conversations(t: Tenants) -> None:
    a = _conversation_of_a(t)
    for query in ("", f"?agent={a['agent_id']}", f"?session_id={t.a_key.key.tenant.slug}-visitor"):
        listed = t.b_client.get(f"/api/v1/conversations{query}")
        assert listed.status_code == 200 and json.loads(listed.content)["results"] == []


def _check_conversation(t: Tenants) -> None:
    a = _conversation_of_a(t)
    assert t.b_client.get(f"/api/v1/conversations/{a['conversation_id']}").status_code == 404


def _check_conversation_messages(t: Tenants) -> None:
    a = _conversation_of_a(t)
    response = t.b_client.get(f"/api/v1/conversations/{a['conversation_id']}/messages")
    assert response.status_code == 404 and "Hello" not in response.content.decode()


def _check_conversation_rating(t: Tenants) -> None:
    a = _conversation_of_a(t)
    path = f"/api/v1/conversations/{a['conversation_id']}/rating"
    assert t.b_client.post(path, data={"rating": 1}, content_type="application/json").status_code == 404
    _assert_a_conversation_untouched(t, a)


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
    "api:subscription-reactivate": _check_subscription_reactivate,
    "api:add-ons": _check_add_ons,
    "api:add-on-purchase": _check_add_on_purchase,
    "api:add-on-cancel": _check_add_on_cancel,
    "api:subscription-proration-preview": _check_subscription_proration_preview,
    "api:invoices": _check_invoices,
    "api:subscription-usage": _check_subscription_usage,
    "api:usage": _check_usage,
    "api:usage-costs": _check_usage_costs,
    "api:webhook-endpoints": _check_webhook_endpoints,
    "api:webhook-endpoint": _check_webhook_endpoint,
    "api:webhook-endpoint-rotate-secret": _check_webhook_endpoint_rotate_secret,
    "api:webhook-endpoint-test": _check_webhook_endpoint_test,
    "api:webhook-endpoint-replay": _check_webhook_endpoint_replay,
    "api:webhook-endpoint-deliveries": _check_webhook_endpoint_deliveries,
    "api:webhook-events": _check_webhook_events,
    "api:webhook-event": _check_webhook_event,
    "api:knowledge-bases": _check_knowledge_bases,
    "api:knowledge-base": _check_knowledge_base,
    "api:knowledge-documents": _check_knowledge_documents,
    "api:knowledge-document": _check_knowledge_document,
    "api:knowledge-document-reindex": _check_knowledge_document_reindex,
    "api:knowledge-faqs": _check_knowledge_faqs,
    "api:knowledge-faq": _check_knowledge_faq,
    "api:knowledge-search": _check_knowledge_search,
    "api:agents": _check_agents,
    "api:agent": _check_agent,
    "api:teams": _check_teams,
    "api:team": _check_team,
    "api:departments": _check_departments,
    "api:department": _check_department,
    "api:org-chart": _check_org_chart,
    "api:chat": _check_chat,
    "api:chat-stream": _check_chat_stream,
    "api:conversations": _check_conversations,
    "api:conversation": _check_conversation,
    "api:conversation-messages": _check_conversation_messages,
    "api:conversation-rating": _check_conversation_rating,
    "api:agent-tasks": _check_agent_tasks,
    "api:task": _check_task,
    "api:task-approve": _check_task_approve,
    "api:task-reject": _check_task_reject,
    "api:task-cancel": _check_task_cancel,
    "api:leads": _check_leads,
    "api:lead": _check_lead,
    "api:conversations-erase": _check_conversations_erase,
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
        for method in (method for method in HTTP_METHODS if hasattr(view_class, method)):
            scopes = view_class.scopes_for(method)
            assert set(scopes) <= ALL_SCOPES, route
            if name in SCOPE_FREE_ENDPOINTS:
                assert not scopes, f"{route} declares scopes: drop it from SCOPE_FREE_ENDPOINTS"
            else:
                assert scopes, f"{method.upper()} {route} needs no scopes and is not allow-listed as scope-free"


SCOPED_CALLS = [call for call in ALL_CALLS if call[0] not in SCOPE_FREE_ENDPOINTS]


@pytest.mark.parametrize(
    ("name", "method", "path", "body"), SCOPED_CALLS, ids=[f"{m.upper()} {n}" for n, m, _, _ in SCOPED_CALLS]
)
def test_scopes_every_scoped_endpoint_refuses_a_key_without_its_scopes(tenant_a, name, method, path, body):
    required = set(api_v1_endpoints()[name][1].scopes_for(method))
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
    required = sorted(api_v1_endpoints()[name][1].scopes_for(method))
    target = IssuedApiKeyFactory(tenant=tenant_a.tenant, scopes=required)
    exact = IssuedApiKeyFactory(tenant=tenant_a.tenant, scopes=required)
    if body and "scopes" in body:
        body = {**body, "scopes": required}  # a key may only grant what it holds

    response = _call(api_client(tenant_a.host, exact.secret), method, path, body, key_id=target.key.pk)

    assert response.status_code in (200, 201, 202, 204), response.content
