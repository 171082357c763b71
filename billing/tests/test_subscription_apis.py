"""The subscription and invoice API: two tenants, scopes, and the error shapes."""

from __future__ import annotations

import json
from datetime import timedelta

import time_machine
from django.test import Client

from apikeys.tests.factories import IssuedApiKeyFactory, api_client
from billing.selectors import invoice_list_of_tenant, subscription_of_tenant
from conftest import make_member

READ, WRITE = ["billing:read"], ["billing:write"]


def _client(tenant_fixture, scopes: list[str]) -> Client:  # type: ignore[no-untyped-def]
    issued = IssuedApiKeyFactory.create(tenant=tenant_fixture.tenant, scopes=scopes)
    return api_client(tenant_fixture.host, issued.secret)


def _post(client: Client, path: str, body: dict) -> tuple[int, dict]:
    response = client.post(path, data=body, content_type="application/json")
    return response.status_code, json.loads(response.content)


def test_subscription_get_returns_the_callers_own(tenant_a, tenant_b):
    a = json.loads(_client(tenant_a, READ).get("/api/v1/subscription").content)
    b = json.loads(_client(tenant_b, READ).get("/api/v1/subscription").content)

    assert (a["plan"]["code"], a["status"], a["trial_ends_at"]) == ("professional", "active", None)
    assert (b["plan"]["code"], b["status"], b["scheduled_cycle"]) == ("starter", "trialing", None)
    assert b["trial_ends_at"] == b["current_period_end"]


def test_subscription_upgrade_prorates_and_issues_an_invoice(tenant_a):
    subscription = subscription_of_tenant(tenant=tenant_a.tenant)
    half_way = (
        subscription.current_period_start + (subscription.current_period_end - subscription.current_period_start) / 2
    )
    with time_machine.travel(half_way, tick=False):
        preview = json.loads(
            _client(tenant_a, READ)
            .get("/api/v1/subscription/proration-preview?plan=enterprise&billing_cycle=monthly")
            .content
        )
        status, body = _post(
            _client(tenant_a, WRITE), "/api/v1/subscription/upgrade", {"plan": "enterprise", "billing_cycle": "monthly"}
        )

    assert (preview["change"], preview["credit"], preview["charge"], preview["amount_due_now"]) == (
        "upgrade",
        -7450,
        24950,
        17500,
    )
    assert (status, body["plan"]["code"]) == (200, "enterprise")
    assert invoice_list_of_tenant(tenant=tenant_a.tenant).first().total == 17500


def test_subscription_downgrade_is_scheduled_and_previewed_as_free_now(tenant_a):
    preview = json.loads(
        _client(tenant_a, READ).get("/api/v1/subscription/proration-preview?plan=starter&billing_cycle=monthly").content
    )
    status, body = _post(
        _client(tenant_a, WRITE), "/api/v1/subscription/upgrade", {"plan": "starter", "billing_cycle": "annual"}
    )

    assert (preview["change"], preview["amount_due_now"]) == ("downgrade", 0)
    assert status == 200
    assert (body["plan"]["code"], body["scheduled_plan"]["code"], body["scheduled_cycle"]) == (
        "professional",
        "starter",
        "annual",
    )


def test_subscription_downgrade_blocked_is_a_409_problem_listing_what_to_reduce(tenant_a):
    for n in range(5):
        make_member(tenant_a, email=f"api-member{n}@alpha.test")

    response = _client(tenant_a, WRITE).post(
        "/api/v1/subscription/upgrade",
        data={"plan": "starter", "billing_cycle": "monthly"},
        content_type="application/json",
    )

    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    problem = json.loads(response.content)
    assert (problem["code"], problem["plan"]) == ("downgrade_blocked", "starter")
    assert problem["reduce"] == [{"limit": "team_members", "allowed": 5, "current_usage": 6}]


def test_subscription_upgrade_validates_plan_and_cycle(tenant_a):
    client = _client(tenant_a, WRITE)
    unknown = _post(client, "/api/v1/subscription/upgrade", {"plan": "platinum", "billing_cycle": "monthly"})
    same = _post(client, "/api/v1/subscription/upgrade", {"plan": "professional", "billing_cycle": "monthly"})
    bad_cycle = _post(client, "/api/v1/subscription/upgrade", {"plan": "enterprise", "billing_cycle": "weekly"})

    assert [(status, body["code"]) for status, body in (unknown, same, bad_cycle)] == [(400, "validation_error")] * 3


def test_subscription_cancel_then_undo_then_undo_again_is_a_conflict(tenant_a):
    client = _client(tenant_a, WRITE)
    cancelled = _post(client, "/api/v1/subscription/cancel", {})
    undone = _post(client, "/api/v1/subscription/cancel", {"undo": True})
    again = _post(client, "/api/v1/subscription/cancel", {"undo": True})

    assert (cancelled[0], cancelled[1]["cancel_at_period_end"]) == (200, True)
    assert (undone[0], undone[1]["cancel_at_period_end"]) == (200, False)
    assert (again[0], again[1]["code"]) == (409, "conflict")


def test_subscription_write_needs_billing_write(tenant_a):
    status, body = _post(_client(tenant_a, READ), "/api/v1/subscription/cancel", {})
    assert (status, body["code"], body["missing_scopes"]) == (403, "insufficient_scope", ["billing:write"])
    assert subscription_of_tenant(tenant=tenant_a.tenant).cancel_at_period_end is False


def test_invoices_are_the_callers_own_and_cursor_paginated(tenant_a, tenant_b):
    subscription = subscription_of_tenant(tenant=tenant_a.tenant)
    with time_machine.travel(subscription.current_period_start + timedelta(days=1), tick=False):
        _post(
            _client(tenant_a, WRITE), "/api/v1/subscription/upgrade", {"plan": "enterprise", "billing_cycle": "monthly"}
        )

    client = _client(tenant_a, READ)
    first = json.loads(client.get("/api/v1/invoices?limit=1").content)
    second = json.loads(client.get(first["next"]).content)
    b_page = json.loads(_client(tenant_b, READ).get("/api/v1/invoices").content)

    numbers = [invoice.number for invoice in invoice_list_of_tenant(tenant=tenant_a.tenant)]
    assert [first["results"][0]["number"], second["results"][0]["number"]] == numbers
    assert [line["is_proration"] for line in first["results"][0]["lines"]] == [True, True]
    assert second["next"] is None
    assert b_page["results"] == []


def test_proration_preview_requires_its_query(tenant_a):
    response = _client(tenant_a, READ).get("/api/v1/subscription/proration-preview?plan=enterprise")
    assert (response.status_code, json.loads(response.content)["code"]) == (400, "validation_error")
