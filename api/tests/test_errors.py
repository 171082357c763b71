"""One error contract: every API error is RFC 9457 problem+json with a stable `code`, validation
errors list their fields, unexpected errors are a 500 whose request id is in the log, and every
response carries X-Request-ID.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django_tenants.log import TenantContextFilter
from django_tenants.utils import schema_context

from accounts.models import User
from api.request_id import RequestIdLogFilter
from apikeys.tests.factories import IssuedApiKeyFactory, api_client
from conftest import client_for, signed_in_client

PROBLEM = "application/problem+json"
PROBLEM_KEYS = {"type", "title", "status", "detail", "code", "request_id"}
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
GENERATED_ID = re.compile(r"^req_[0-9a-f]{32}$")


def _problem(response, status: int, code: str) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = json.loads(response.content)
    assert body.keys() >= PROBLEM_KEYS
    assert (body["status"], body["code"]) == (status, code)
    assert body["type"].endswith(f"#{code}")
    assert body["request_id"] == response["X-Request-ID"]
    return body


@pytest.fixture
def key_a(tenant_a):  # type: ignore[no-untyped-def]
    return IssuedApiKeyFactory(tenant=tenant_a.tenant)


@pytest.fixture
def client_a(tenant_a, key_a) -> Client:  # type: ignore[no-untyped-def]
    return api_client(tenant_a.host, key_a.secret)


def _post_json(client: Client, path: str, payload: object, **extra: Any):  # type: ignore[no-untyped-def]
    return client.post(path, data=json.dumps(payload), content_type="application/json", **extra)


# --- Each error class -----------------------------------------------------------------------


def test_errors_400_validation_lists_fields_with_codes(client_a):
    response = _post_json(
        client_a,
        "/api/v1/api-keys",
        {"name": "", "scopes": ["agents:read", "root"], "rate_limit_burst": 0, "allowed_cidrs": ["x" * 65]},
    )

    body = _problem(response, 400, "validation_error")
    errors = {error["field"]: error for error in body["errors"]}
    assert all(error.keys() == {"field", "code", "message"} for error in body["errors"])
    assert errors["name"]["code"] == "blank"
    assert errors["scopes.1"]["code"] == "invalid_choice"  # nested: list index, dotted
    assert errors["allowed_cidrs.0"]["code"] == "max_length"
    assert errors["rate_limit_burst"]["code"] == "min_value"
    assert "scopes.0" not in errors


def test_errors_400_service_validation_uses_the_same_list(client_a):
    response = _post_json(client_a, "/api/v1/api-keys", {"name": "k", "scopes": ["chat"], "allowed_cidrs": ["nope"]})

    body = _problem(response, 400, "validation_error")
    assert [error["field"] for error in body["errors"]] == ["allowed_cidrs"]
    assert "nope" in body["errors"][0]["message"]


def test_errors_400_cross_field_validation_names_the_field(client_a):
    response = client_a.get("/api/v1/audit-log?since=2026-03-02T00:00:00Z&until=2026-03-01T00:00:00Z")

    body = _problem(response, 400, "validation_error")
    assert [error["field"] for error in body["errors"]] == ["until"]


@pytest.mark.parametrize("payload", ['{"name": "x",', "not json", '{"name": "x"} trailing', "\xff"])
def test_errors_400_malformed_json(client_a, payload):
    response = client_a.post("/api/v1/api-keys", data=payload, content_type="application/json")

    _problem(response, 400, "malformed_request")


def test_errors_401_unauthenticated(tenant_a):
    response = client_for(tenant_a.host).get("/api/v1/api-keys")

    _problem(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == 'Bearer realm="agentry"'


def test_errors_403_insufficient_scope_lists_missing_scopes(tenant_a):
    weak = IssuedApiKeyFactory(tenant=tenant_a.tenant, scopes=["agents:read"])

    body = _problem(api_client(tenant_a.host, weak.secret).get("/api/v1/audit-log"), 403, "insufficient_scope")

    assert body["missing_scopes"] == ["audit:read"]
    assert body["required_scopes"] == ["audit:read"]


def test_errors_403_scope_escalation_lists_scopes_not_held(tenant_a):
    manager = IssuedApiKeyFactory(tenant=tenant_a.tenant, scopes=["keys:manage", "agents:read"])

    response = _post_json(
        api_client(tenant_a.host, manager.secret), "/api/v1/api-keys", {"name": "x", "scopes": ["billing:write"]}
    )

    assert _problem(response, 403, "permission_denied")["scopes_not_held"] == ["billing:write"]


@pytest.mark.parametrize("path", ["/api/v1/nothing-here", "/api/v1/api-keys/key_x/explode", "/api/v1/tenant/"])
def test_errors_404_unknown_route(client_a, path):
    _problem(client_a.get(path), 404, "not_found")


def test_errors_404_unknown_id(client_a):
    _problem(client_a.get("/api/v1/api-keys/key_0000000000000000"), 404, "not_found")
    _problem(client_a.post("/api/v1/api-keys/key_0000000000000000/revoke"), 404, "not_found")


def test_errors_404_id_with_a_nul_byte_is_not_a_500(client_a):
    _problem(client_a.get("/api/v1/api-keys/key_%00"), 404, "not_found")


def test_errors_405_names_the_allowed_methods(client_a):
    response = client_a.delete("/api/v1/tenant")

    _problem(response, 405, "method_not_allowed")
    assert "GET" in response["Allow"] and "DELETE" not in response["Allow"]


def test_errors_406_when_only_html_is_acceptable(client_a):
    _problem(client_a.get("/api/v1/me", HTTP_ACCEPT="text/html"), 406, "not_acceptable")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"])
def test_errors_415_for_bodies_that_are_not_json(client_a, content_type):
    response = client_a.post("/api/v1/api-keys", data="name=x&scopes=chat", content_type=content_type)

    _problem(response, 415, "unsupported_media_type")


def test_errors_422_idempotency_key_reused(client_a):
    first = _post_json(client_a, "/api/v1/api-keys", {"name": "a", "scopes": ["chat"]}, HTTP_IDEMPOTENCY_KEY="k1")
    assert first.status_code == 201

    response = _post_json(client_a, "/api/v1/api-keys", {"name": "b", "scopes": ["chat"]}, HTTP_IDEMPOTENCY_KEY="k1")

    _problem(response, 422, "idempotency_key_reused")


def test_errors_429_rate_limited(tenant_a):
    client = api_client(
        tenant_a.host, IssuedApiKeyFactory(tenant=tenant_a.tenant, rate_limit_per_minute=1, rate_limit_burst=1).secret
    )
    client.get("/api/v1/me")

    response = client.get("/api/v1/me")

    _problem(response, 429, "rate_limited")
    assert int(response["Retry-After"]) > 0


def _capture_like_the_server_log(caplog) -> None:  # type: ignore[no-untyped-def]
    """Give the test's log capture the filters and format of the server's console handler."""
    caplog.handler.addFilter(TenantContextFilter())
    caplog.handler.addFilter(RequestIdLogFilter())
    server_format = settings.LOGGING["formatters"]["tenant"]["format"]  # type: ignore[index]
    caplog.handler.setFormatter(logging.Formatter(server_format))


def test_errors_500_internal_error_has_the_request_id_that_is_logged(client_a, monkeypatch, caplog):
    def broken_selector(**kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("database password is hunter2")

    monkeypatch.setattr("apikeys.apis.api_key_list", broken_selector)
    _capture_like_the_server_log(caplog)

    with caplog.at_level(logging.ERROR):
        response = client_a.get("/api/v1/api-keys", HTTP_X_REQUEST_ID="support-ticket-4242")

    body = _problem(response, 500, "internal_error")
    assert body["request_id"] == response["X-Request-ID"] == "support-ticket-4242"
    assert "hunter2" not in response.content.decode() and "Traceback" not in response.content.decode()
    lines = [caplog.handler.format(record) for record in caplog.records if record.name == "config.problems"]
    assert len(lines) == 1
    assert "[support-ticket-4242]" in lines[0] and "t_alpha" in lines[0]
    assert "hunter2" in lines[0]  # the traceback goes to the log, not to the caller


def test_errors_500_generates_a_request_id_when_none_is_sent(client_a, monkeypatch, caplog):
    monkeypatch.setattr("apikeys.apis.api_key_list", lambda **kwargs: 1 / 0)
    _capture_like_the_server_log(caplog)

    with caplog.at_level(logging.ERROR):
        response = client_a.get("/api/v1/api-keys")

    body = _problem(response, 500, "internal_error")
    assert GENERATED_ID.match(body["request_id"])
    assert any(body["request_id"] in caplog.handler.format(r) for r in caplog.records if r.name == "config.problems")


# --- X-Request-ID ---------------------------------------------------------------------------


@pytest.mark.parametrize("offered", ["abcdef12", "trace-01HQ3K:span.7_x", "a" * 128])
def test_errors_request_id_echoed_when_well_formed(client_a, offered):
    response = client_a.get("/api/v1/me", HTTP_X_REQUEST_ID=offered)

    assert response.status_code == 200
    assert response["X-Request-ID"] == offered


@pytest.mark.parametrize(
    "offered",
    ["has spaces in it", "x" * 500, "short", "<script>alert(1)</script>", "line\nbreak-12345", "ünïcode-123"],
    ids=["spaces", "500 chars", "too short", "markup", "newline", "non-ascii"],
)
def test_errors_request_id_replaced_when_malformed(client_a, offered):
    response = client_a.get("/api/v1/nothing-here", HTTP_X_REQUEST_ID=offered)

    assert GENERATED_ID.match(response["X-Request-ID"])
    assert json.loads(response.content)["request_id"] == response["X-Request-ID"]


def test_errors_request_id_on_every_response(tenant_a, client_a):
    responses = [
        client_a.get("/api/v1/me"),
        client_for(tenant_a.host).get("/api/v1/me"),
        client_for("localhost").get("/api/v1/me"),
        client_for("localhost").get("/healthz"),
        signed_in_client(tenant_a).get("/"),
    ]

    ids = [response["X-Request-ID"] for response in responses]
    assert all(GENERATED_ID.match(request_id) for request_id in ids)
    assert len(set(ids)) == len(ids)


# --- Never HTML -----------------------------------------------------------------------------


def _bad_requests(tenant_a, key_a) -> list[tuple[str, Client, str, str, dict]]:  # type: ignore[no-untyped-def]
    keyed, public, anonymous = (
        api_client(tenant_a.host, key_a.secret),
        client_for("localhost"),
        client_for(tenant_a.host),
    )
    browser = Client(HTTP_HOST=tenant_a.host, enforce_csrf_checks=True)
    with schema_context(tenant_a.schema):
        browser.force_login(User.objects.get(email=tenant_a.owner_email), backend=MODEL_BACKEND)
    json_body = {"data": '{"name": "x", "scopes": ["chat"]}', "content_type": "application/json"}
    return [
        ("unknown route", keyed, "get", "/api/v1/nothing-here", {}),
        ("unknown version", public, "get", "/api/v2/tenant", {}),
        ("unknown route post, public host", public, "post", "/api/v1/nothing", json_body),
        ("no credentials", anonymous, "get", "/api/v1/tenant", {}),
        ("no credentials, public host", public, "get", "/api/v1/tenant", {}),
        ("garbage key", anonymous, "get", "/api/v1/me", {"HTTP_X_API_KEY": "garbage"}),
        ("garbage key, public host", public, "get", "/api/v1/me", {"HTTP_AUTHORIZATION": "Bearer garbage"}),
        ("wrong scheme", anonymous, "get", "/api/v1/me", {"HTTP_AUTHORIZATION": "Basic Zm9vOmJhcg=="}),
        ("options unauthenticated", anonymous, "options", "/api/v1/me", {}),
        ("method", keyed, "delete", "/api/v1/tenant", {}),
        ("put on a list", keyed, "put", "/api/v1/api-keys", json_body),
        ("malformed json", keyed, "post", "/api/v1/api-keys", {"data": "{", "content_type": "application/json"}),
        ("form body", keyed, "post", "/api/v1/api-keys", {"data": {"name": "x"}}),
        ("bad filter", keyed, "get", "/api/v1/api-keys?status=bogus", {}),
        ("bad cursor", keyed, "get", "/api/v1/api-keys?cursor=garbage", {}),
        ("bad date", keyed, "get", "/api/v1/audit-log?since=yesterday", {}),
        ("nul in id", keyed, "get", "/api/v1/api-keys/%00", {}),
        ("trailing slash", keyed, "get", "/api/v1/me/", {}),
        ("html only", keyed, "get", "/api/v1/me", {"HTTP_ACCEPT": "text/html"}),
        ("csrf", browser, "post", "/api/v1/api-keys", json_body),
        ("huge idempotency key", keyed, "post", "/api/v1/api-keys", {**json_body, "HTTP_IDEMPOTENCY_KEY": "k" * 999}),
    ]


def test_errors_are_never_html(tenant_a, key_a):
    for name, client, method, path, kwargs in _bad_requests(tenant_a, key_a):
        response = getattr(client, method)(path, **kwargs)

        assert 400 <= response.status_code < 500, (name, response.status_code, response.content[:200])
        assert response["Content-Type"] == PROBLEM, (name, response["Content-Type"])
        text = response.content.decode()
        assert "<html" not in text.lower() and "Traceback" not in text, name
        body = json.loads(text)
        assert body.keys() >= PROBLEM_KEYS, name
        assert body["status"] == response.status_code, name
