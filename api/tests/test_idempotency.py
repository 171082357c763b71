"""Idempotency-Key on POSTs that create something: one effect per key and body for 24 hours."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from django_tenants.utils import schema_context

from api.models import IdempotencyRecord
from apikeys.models import ApiKey
from apikeys.tests.factories import IssuedApiKeyFactory, api_client
from conftest import signed_in_client

CREATE = "/api/v1/api-keys"


@pytest.fixture
def client_a(tenant_a):  # type: ignore[no-untyped-def]
    return api_client(tenant_a.host, IssuedApiKeyFactory(tenant=tenant_a.tenant).secret)


def _create(client, idempotency_key: str | None, **body):  # type: ignore[no-untyped-def]
    payload = {"name": "Nightly export", "scopes": ["usage:read"], **body}
    headers = {"HTTP_IDEMPOTENCY_KEY": idempotency_key} if idempotency_key is not None else {}
    return client.post(CREATE, data=json.dumps(payload), content_type="application/json", **headers)


def _keys_named(tenant_fixture, name: str = "Nightly export") -> int:
    return ApiKey.objects.filter(tenant=tenant_fixture.tenant, name=name).count()


def test_idempotency_same_key_and_body_replays_the_first_response(tenant_a, client_a):
    first = _create(client_a, "order-1001")
    second = _create(client_a, "order-1001")

    assert first.status_code == second.status_code == 201
    assert "Idempotent-Replayed" not in first
    assert second["Idempotent-Replayed"] == "true"
    assert json.loads(second.content) == json.loads(first.content)  # same id, same (once-shown) secret
    assert _keys_named(tenant_a) == 1


def test_idempotency_replay_still_carries_rate_limit_headers(client_a):
    _create(client_a, "order-1002")

    replay = _create(client_a, "order-1002")

    assert replay["Idempotent-Replayed"] == "true"
    assert replay["X-RateLimit-Limit"].isdigit()


def test_idempotency_same_key_different_body_is_422(tenant_a, client_a):
    assert _create(client_a, "order-1003").status_code == 201

    response = _create(client_a, "order-1003", name="Something else")

    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert json.loads(response.content)["code"] == "idempotency_key_reused"
    assert _keys_named(tenant_a, "Something else") == 0


def test_idempotency_key_expires_after_24_hours(tenant_a, client_a):
    assert _create(client_a, "order-1004").status_code == 201

    with time_machine.travel(timezone.now() + timedelta(hours=24, minutes=1)):
        again = _create(client_a, "order-1004")

    assert again.status_code == 201
    assert "Idempotent-Replayed" not in again
    assert _keys_named(tenant_a) == 2


def test_idempotency_key_still_replays_just_before_24_hours(tenant_a, client_a):
    assert _create(client_a, "order-1005").status_code == 201

    with time_machine.travel(timezone.now() + timedelta(hours=23, minutes=59)):
        again = _create(client_a, "order-1005")

    assert again["Idempotent-Replayed"] == "true"
    assert _keys_named(tenant_a) == 1


def test_idempotency_keys_are_per_caller(tenant_a, client_a):
    client_other = api_client(tenant_a.host, IssuedApiKeyFactory(tenant=tenant_a.tenant).secret)
    session = signed_in_client(tenant_a)

    responses = [_create(client, "shared-key") for client in (client_a, client_other)]

    assert [r.status_code for r in responses] == [201, 201]
    assert not any("Idempotent-Replayed" in r for r in responses)
    assert json.loads(responses[0].content)["id"] != json.loads(responses[1].content)["id"]
    assert _keys_named(tenant_a) == 2
    # A signed-in portal user is a caller of its own, with its own key space.
    assert _create(session, "shared-key").status_code == 201
    assert _keys_named(tenant_a) == 3


def test_idempotency_failed_request_is_not_stored(tenant_a, client_a):
    failed = _create(client_a, "order-1006", scopes=["no-such-scope"])
    assert failed.status_code == 400
    with schema_context(tenant_a.schema):
        assert not IdempotencyRecord.objects.filter(key="order-1006").exists()

    fixed = _create(client_a, "order-1006")  # the corrected retry runs, not a 422 or a replayed 400

    assert fixed.status_code == 201
    assert "Idempotent-Replayed" not in fixed
    assert _keys_named(tenant_a) == 1


def test_idempotency_refused_request_is_not_stored(tenant_a, client_a):
    weak = api_client(tenant_a.host, IssuedApiKeyFactory(tenant=tenant_a.tenant, scopes=["keys:manage"]).secret)

    assert _create(weak, "order-1007", scopes=["usage:read"]).status_code == 403  # beyond its own scopes

    with schema_context(tenant_a.schema):
        assert not IdempotencyRecord.objects.filter(key="order-1007").exists()


@pytest.mark.parametrize("idempotency_key", ["k" * 256, "", "   "], ids=["too long", "empty", "blank"])
def test_idempotency_malformed_key_is_400(tenant_a, client_a, idempotency_key):
    response = _create(client_a, idempotency_key)

    assert response.status_code == 400
    body = json.loads(response.content)
    assert body["code"] == "validation_error"
    assert body["errors"][0]["field"] == "Idempotency-Key"
    assert _keys_named(tenant_a) == 0


def test_idempotency_longest_allowed_key_works(client_a):
    assert _create(client_a, "k" * 255).status_code == 201
    assert _create(client_a, "k" * 255)["Idempotent-Replayed"] == "true"


def test_idempotency_without_a_key_every_post_creates(tenant_a, client_a):
    assert [_create(client_a, None).status_code for _ in range(2)] == [201, 201]
    assert _keys_named(tenant_a) == 2


def test_idempotency_stored_response_does_not_hold_the_secret_in_clear(tenant_a, client_a):
    secret = json.loads(_create(client_a, "order-1008").content)["secret"]

    with schema_context(tenant_a.schema):
        record = IdempotencyRecord.objects.get(key="order-1008")
    assert record.status_code == 201
    assert secret not in json.dumps(record.response_body)
