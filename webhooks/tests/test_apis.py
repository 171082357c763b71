"""/api/v1/webhook-endpoints and /api/v1/webhook-events with two tenants."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from apikeys.tests.factories import IssuedApiKeyFactory, api_client
from audit.models import AuditEvent
from billing.tests.factories import override_give
from config.crypto import decrypt_text
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.tests.factories import PUBLIC_URL, endpoint_give, event_give

CREATE = {"url": PUBLIC_URL, "event_types": ["lead.created", "agent.deleted"], "description": "CRM"}


def _client(tenant_fixture, scopes=("webhooks:manage",)):  # type: ignore[no-untyped-def]
    key = IssuedApiKeyFactory(tenant=tenant_fixture.tenant, scopes=list(scopes))
    return api_client(tenant_fixture.host, key.secret)


def _post(client: Client, path: str, body: dict | None = None, **headers: Any):  # type: ignore[no-untyped-def]
    return client.post(path, data=json.dumps(body or {}), content_type="application/json", **headers)


def test_create_returns_the_secret_once_and_stores_it_encrypted(tenant_a):
    client = _client(tenant_a)

    response = _post(client, "/api/v1/webhook-endpoints", CREATE)

    assert response.status_code == 201
    body = response.json()
    assert body["secret"].startswith("whsec_")
    assert (body["url"], body["event_types"], body["is_enabled"]) == (
        PUBLIC_URL,
        ["agent.deleted", "lead.created"],
        True,
    )
    with schema_context(tenant_a.schema):
        stored = WebhookEndpoint.objects.get(pk=body["id"])
        assert AuditEvent.objects.filter(action="webhook_endpoint.created", target_id=body["id"]).exists()
    assert body["secret"] not in stored.secret_encrypted
    assert decrypt_text(stored.secret_encrypted) == body["secret"]
    again = client.get(f"/api/v1/webhook-endpoints/{body['id']}").json()
    assert "secret" not in again and body["secret"] not in json.dumps(again)


def test_create_is_idempotent_with_an_idempotency_key(tenant_a):
    client = _client(tenant_a)

    first = _post(client, "/api/v1/webhook-endpoints", CREATE, HTTP_IDEMPOTENCY_KEY="wh-1")
    second = _post(client, "/api/v1/webhook-endpoints", CREATE, HTTP_IDEMPOTENCY_KEY="wh-1")

    assert (first.status_code, second.status_code) == (201, 201)
    assert second["Idempotent-Replayed"] == "true"
    assert first.json()["id"] == second.json()["id"]
    with schema_context(tenant_a.schema):
        assert WebhookEndpoint.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**CREATE, "event_types": ["lead.exploded"]}, "event_types.0"),
        ({**CREATE, "event_types": ["test.ping"]}, "event_types.0"),
        ({**CREATE, "event_types": []}, "event_types"),
        ({"event_types": ["lead.created"]}, "url"),
    ],
)
def test_create_refuses_bad_input_with_validation_error(tenant_a, body, field):
    response = _post(_client(tenant_a), "/api/v1/webhook-endpoints", body)
    assert response.status_code == 400
    problem = response.json()
    assert problem["code"] == "validation_error"
    assert field in {error["field"] for error in problem["errors"]}


def test_a_plan_without_webhooks_can_read_but_not_create(tenant_b):
    client = _client(tenant_b)

    refused = _post(client, "/api/v1/webhook-endpoints", CREATE)

    assert refused.status_code == 403
    assert refused.json()["code"] == "feature_not_in_plan"
    assert refused.json()["feature"] == "webhooks"
    assert client.get("/api/v1/webhook-endpoints").json()["results"] == []
    override_give(tenant_b.tenant, features=["webhooks"])
    assert _post(client, "/api/v1/webhook-endpoints", CREATE).status_code == 201


def test_update_disable_enable_and_delete(tenant_a):
    client = _client(tenant_a)
    endpoint_id = endpoint_give(tenant_a.tenant).endpoint.pk
    path = f"/api/v1/webhook-endpoints/{endpoint_id}"

    disabled = client.patch(path, data={"is_enabled": False, "description": "paused"}, content_type="application/json")
    assert disabled.status_code == 200
    assert (disabled.json()["is_enabled"], disabled.json()["description"]) == (False, "paused")
    assert disabled.json()["disabled_reason"].startswith("Disabled by")
    enabled = client.patch(path, data={"is_enabled": True}, content_type="application/json").json()
    assert (enabled["is_enabled"], enabled["disabled_reason"], enabled["disabled_at"]) == (True, "", None)
    bad = client.patch(path, data={"url": "https://192.168.0.1/"}, content_type="application/json")
    assert bad.json()["code"] == "webhook_target_refused"

    assert client.delete(path).status_code == 204
    assert client.get(path).status_code == 404


def test_rotate_secret_returns_a_new_secret_and_keeps_the_old_one_for_the_overlap(tenant_a):
    client = _client(tenant_a)
    issued = endpoint_give(tenant_a.tenant)

    response = _post(client, f"/api/v1/webhook-endpoints/{issued.endpoint.pk}/rotate-secret", {"overlap_seconds": 60})

    body = response.json()
    assert response.status_code == 200
    assert body["secret"].startswith("whsec_") and body["secret"] != issued.secret
    assert body["previous_secret_expires_at"] is not None
    with schema_context(tenant_a.schema):
        stored = WebhookEndpoint.objects.get(pk=issued.endpoint.pk)
    assert decrypt_text(stored.previous_secret_encrypted) == issued.secret


def test_send_test_and_replay_queue_deliveries(tenant_a, django_capture_on_commit_callbacks):
    client = _client(tenant_a)
    endpoint_id = endpoint_give(tenant_a.tenant).endpoint.pk
    event = event_give(tenant_a.tenant)

    with django_capture_on_commit_callbacks(execute=False) as queued:
        tested = _post(client, f"/api/v1/webhook-endpoints/{endpoint_id}/test")
        replayed = _post(client, f"/api/v1/webhook-endpoints/{endpoint_id}/events/{event.pk}/replay")
    missing = _post(client, f"/api/v1/webhook-endpoints/{endpoint_id}/events/msg_nope/replay")

    assert (tested.status_code, tested.json()["event_type"], tested.json()["trigger"]) == (202, "test.ping", "test")
    assert (replayed.status_code, replayed.json()["event_id"], replayed.json()["trigger"]) == (202, event.pk, "replay")
    assert missing.status_code == 404
    assert len(queued) == 2

    deliveries = client.get(f"/api/v1/webhook-endpoints/{endpoint_id}/deliveries?event_id={event.pk}").json()
    # The event's own delivery (the endpoint is subscribed to lead.created) and the replay.
    assert [d["trigger"] for d in deliveries["results"]] == ["replay", "event"]
    assert deliveries["results"][0]["id"] == replayed.json()["id"]
    assert client.get(f"/api/v1/webhook-endpoints/{endpoint_id}/deliveries?status=bogus").status_code == 400


def test_events_list_and_get(tenant_a):
    client = _client(tenant_a)
    lead = event_give(tenant_a.tenant, data={"lead": {"id": "lead_42"}})
    event_give(tenant_a.tenant, event_type="agent.created")

    listed = client.get("/api/v1/webhook-events?type=lead.created").json()
    got = client.get(f"/api/v1/webhook-events/{lead.pk}").json()

    assert [event["id"] for event in listed["results"]] == [lead.pk]
    assert got == {
        "id": lead.pk,
        "type": "lead.created",
        "timestamp": got["timestamp"],
        "data": {"lead": {"id": "lead_42"}},
    }
    assert client.get("/api/v1/webhook-events?type=nope").json()["code"] == "validation_error"


def test_tenant_b_cannot_see_or_touch_tenant_a_webhooks(tenant_a, tenant_b):
    issued = endpoint_give(tenant_a.tenant)
    event = event_give(tenant_a.tenant)
    override_give(tenant_b.tenant, features=["webhooks"])
    b = _client(tenant_b)
    a_path = f"/api/v1/webhook-endpoints/{issued.endpoint.pk}"

    assert b.get("/api/v1/webhook-endpoints").json()["results"] == []
    assert b.get("/api/v1/webhook-events").json()["results"] == []
    assert b.get(a_path).status_code == 404
    assert b.patch(a_path, data={"is_enabled": False}, content_type="application/json").status_code == 404
    assert b.delete(a_path).status_code == 404
    assert _post(b, f"{a_path}/rotate-secret").status_code == 404
    assert _post(b, f"{a_path}/test").status_code == 404
    assert b.get(f"{a_path}/deliveries").status_code == 404
    assert b.get(f"/api/v1/webhook-events/{event.pk}").status_code == 404
    # B's own endpoint cannot replay A's event either.
    b_endpoint = _post(b, "/api/v1/webhook-endpoints", CREATE).json()["id"]
    assert _post(b, f"/api/v1/webhook-endpoints/{b_endpoint}/events/{event.pk}/replay").status_code == 404

    with schema_context(tenant_a.schema):
        assert WebhookEndpoint.objects.get(pk=issued.endpoint.pk).is_enabled
        triggers = list(WebhookDelivery.objects.filter(endpoint=issued.endpoint).values_list("trigger", flat=True))
    assert triggers == ["event"]  # only the event's own delivery: no test, no replay


def test_members_without_the_scope_are_refused(tenant_a):
    client = _client(tenant_a, scopes=("agents:read",))
    response = client.get("/api/v1/webhook-endpoints")
    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_scope"
