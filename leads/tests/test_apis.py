"""/api/v1/leads over HTTP: filters, pagination, changes, scopes and two tenants."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from apikeys.tests.factories import IssuedApiKeyFactory, api_client
from leads.models import Lead
from leads.tests.factories import conversation_for_tests, visitor_says


def _json(response: Any) -> Any:
    return json.loads(response.content)


def _patch(client: Client, path: str, body: dict) -> Any:
    return client.patch(path, data=json.dumps(body), content_type="application/json")


@pytest.fixture
def alpha_api(tenant_a) -> Client:
    return api_client(tenant_a.host, IssuedApiKeyFactory.create(tenant=tenant_a.tenant).secret)


@pytest.fixture
def alpha_leads(tenant_a) -> dict[str, Lead]:
    with schema_context(tenant_a.schema):
        web = conversation_for_tests(session_id="w", channel="widget")
        api = conversation_for_tests(session_id="a", channel="api")
        leads = {
            "sarah": visitor_says(web, "I'm Sarah from Cyberdyne, sarah@cyberdyne.example, need pricing"),
            "li": visitor_says(api, "name: Li Wei, phone: +86 138 0013 8000, I want a demo"),
        }
    assert all(leads.values())
    return leads  # type: ignore[return-value]


def test_leads_list_newest_first_with_every_field(alpha_api, alpha_leads):
    body = _json(alpha_api.get("/api/v1/leads"))

    assert [lead["id"] for lead in body["results"]] == [alpha_leads["li"].pk, alpha_leads["sarah"].pk]
    sarah = body["results"][1]
    assert sarah == {
        **sarah,
        "name": "Sarah",
        "email": "sarah@cyberdyne.example",
        "company": "Cyberdyne",
        "intent": "pricing",
        "status": "new",
        "channel": "widget",
        "conversation": alpha_leads["sarah"].conversation_id,
        "agent": alpha_leads["sarah"].agent_id,
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("channel=widget", ["sarah"]),
        ("intent=demo", ["li"]),
        ("q=CYBERDYNE", ["sarah"]),
        ("q=0013", ["li"]),
        ("status=qualified", []),
        ("status=new", ["li", "sarah"]),
    ],
)
def test_leads_list_filters(alpha_api, alpha_leads, query, expected):
    body = _json(alpha_api.get(f"/api/v1/leads?{query}"))

    assert [lead["id"] for lead in body["results"]] == [alpha_leads[name].pk for name in expected]


def test_leads_list_filters_by_agent(alpha_api, alpha_leads):
    agent_id = alpha_leads["li"].agent_id

    body = _json(alpha_api.get(f"/api/v1/leads?agent={agent_id}"))

    assert [lead["id"] for lead in body["results"]] == [alpha_leads["li"].pk]


def test_leads_list_refuses_an_unknown_filter_value(alpha_api, alpha_leads):
    response = alpha_api.get("/api/v1/leads?status=won")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert _json(response)["code"] == "validation_error"


def test_leads_list_is_paginated(alpha_api, alpha_leads):
    first = _json(alpha_api.get("/api/v1/leads?limit=1"))
    second = _json(alpha_api.get(first["next"]))

    assert [lead["id"] for lead in first["results"] + second["results"]] == [
        alpha_leads["li"].pk,
        alpha_leads["sarah"].pk,
    ]
    assert second["next"] is None


def test_lead_retrieve_and_change(alpha_api, alpha_leads, tenant_a):
    path = f"/api/v1/leads/{alpha_leads['sarah'].pk}"

    changed = _patch(alpha_api, path, {"status": "contacted", "notes": "Emailed the deck.", "company": "Cyberdyne Inc"})

    assert changed.status_code == 200, changed.content
    assert (_json(changed)["status"], _json(changed)["notes"], _json(changed)["company"]) == (
        "contacted",
        "Emailed the deck.",
        "Cyberdyne Inc",
    )
    assert _json(alpha_api.get(path))["status"] == "contacted"


def test_lead_change_refuses_unknown_status_and_ignores_email(alpha_api, alpha_leads):
    path = f"/api/v1/leads/{alpha_leads['sarah'].pk}"

    refused = _patch(alpha_api, path, {"status": "won"})
    ignored = _patch(alpha_api, path, {"email": "attacker@example.com"})

    assert refused.status_code == 400 and _json(refused)["code"] == "validation_error"
    assert _json(ignored)["email"] == "sarah@cyberdyne.example"


def test_lead_unknown_id_is_a_problem_404(alpha_api):
    response = alpha_api.get("/api/v1/leads/lead_nope")

    assert response.status_code == 404
    assert _json(response)["code"] == "not_found"


def test_leads_need_their_scopes(tenant_a, alpha_leads):
    chat_only = IssuedApiKeyFactory.create(tenant=tenant_a.tenant, scopes=["chat"])
    read_only = IssuedApiKeyFactory.create(tenant=tenant_a.tenant, scopes=["leads:read"])
    path = f"/api/v1/leads/{alpha_leads['sarah'].pk}"

    assert api_client(tenant_a.host, chat_only.secret).get("/api/v1/leads").status_code == 403
    reader = api_client(tenant_a.host, read_only.secret)
    assert reader.get(path).status_code == 200
    refused = _patch(reader, path, {"status": "closed"})
    assert refused.status_code == 403 and _json(refused)["code"] == "insufficient_scope"


def test_leads_of_another_tenant_are_invisible(tenant_b, alpha_leads):
    beta = api_client(tenant_b.host, IssuedApiKeyFactory.create(tenant=tenant_b.tenant).secret)
    path = f"/api/v1/leads/{alpha_leads['sarah'].pk}"

    assert _json(beta.get("/api/v1/leads"))["results"] == []
    assert beta.get(path).status_code == 404
    assert _patch(beta, path, {"status": "closed"}).status_code == 404
