"""Publishable keys: what they are made of, and that they can do nothing but chat from their website."""

from __future__ import annotations

import json

import pytest
from django.test import override_settings
from django_tenants.utils import schema_context

from apikeys.models import ApiKey
from apikeys.origins import origin_normalize
from apikeys.scopes import ALL_SCOPES
from apikeys.secrets import api_key_is_well_formed
from apikeys.services import api_key_create_publishable, api_key_revoke, api_key_rotate
from audit.services import Actor
from config.errors import PermissionDeniedError, ValidationFailed
from conversations.models import Conversation
from widget.tests.factories import SITE, publishable_key, widget_agent, widget_client

TESTS = Actor.system("tests")


def _chat(client, agent_id: str, message: str = "Hello", session_id: str = "visitor-1"):  # type: ignore[no-untyped-def]
    body = {"agent": agent_id, "session_id": session_id, "message": message}
    return client.post("/api/v1/chat", data=json.dumps(body), content_type="application/json")


@pytest.fixture
def alpha_widget(tenant_a):  # type: ignore[no-untyped-def]
    agent = widget_agent(tenant_a.tenant)
    return agent, publishable_key(tenant_a.tenant, agent_id=agent.pk)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://www.example.com", "https://www.example.com"),
        ("https://WWW.Example.com/", "https://www.example.com"),
        ("https://shop.example.com:8443", "https://shop.example.com:8443"),
        ("https://shop.example.com:443", "https://shop.example.com"),
        ("http://localhost:8123", "http://localhost:8123"),
        ("http://127.0.0.1:9000", "http://127.0.0.1:9000"),
        ("http://www.example.com", None),
        ("https://www.example.com/shop", None),
        ("https://www.example.com?x=1", None),
        ("https://*.example.com", None),
        ("ftp://example.com", None),
        ("https://user:pw@example.com", None),
        ("example.com", None),
        ("https://localhost", None),
    ],
)
def test_origin_normalize(given, expected):
    assert origin_normalize(given) == expected


@override_settings(WIDGET_ALLOW_LOCALHOST_ORIGINS=False)
def test_origin_normalize_refuses_localhost_outside_development():
    assert origin_normalize("http://localhost:8000") is None


def test_publishable_key_has_its_own_prefix_scope_agent_and_origins(tenant_a, alpha_widget):
    agent, issued = alpha_widget

    key = ApiKey.objects.get(pk=issued.key.pk)
    assert issued.secret.startswith("pk_live_") and api_key_is_well_formed(issued.secret)
    assert (key.kind, key.scopes, key.agent_id, key.allowed_origins) == ("publishable", ["chat"], agent.pk, [SITE])
    assert key.prefix.startswith("pk_live_")
    rotated = api_key_rotate(key=key, actor=TESTS)
    assert rotated.secret.startswith("pk_live_")


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"allowed_origins": ["http://www.example.com"]}, "allowed_origins"),
        ({"allowed_origins": ["https://www.example.com/path"]}, "allowed_origins"),
        ({"allowed_origins": []}, "allowed_origins"),
        ({"agent_id": "agt_missing"}, "agent"),
        ({"name": " "}, "name"),
    ],
)
def test_publishable_key_creation_is_validated(tenant_a, arguments, field):
    agent = widget_agent(tenant_a.tenant)
    values = {"name": "Widget", "agent_id": agent.pk, "allowed_origins": [SITE], **arguments}

    with pytest.raises(ValidationFailed) as raised:
        api_key_create_publishable(tenant=tenant_a.tenant, actor=TESTS, granter_scopes=ALL_SCOPES, **values)

    assert field in raised.value.errors
    assert not ApiKey.objects.filter(tenant=tenant_a.tenant, kind="publishable").exists()


def test_publishable_key_needs_a_creator_who_may_chat(tenant_a):
    agent = widget_agent(tenant_a.tenant)
    with pytest.raises(PermissionDeniedError):
        api_key_create_publishable(
            tenant=tenant_a.tenant,
            name="w",
            agent_id=agent.pk,
            allowed_origins=[SITE],
            actor=TESTS,
            granter_scopes=frozenset({"agents:read"}),
        )


def test_widget_chats_from_its_website_on_the_widget_channel(tenant_a, alpha_widget):
    agent, issued = alpha_widget
    client = widget_client(tenant_a.host, issued.secret)

    response = _chat(client, agent.pk, "Hi, I'm Nora, nora@example.com")

    assert response.status_code == 200, response.content
    assert response["Access-Control-Allow-Origin"] == SITE
    assert "Origin" in response["Vary"]
    with schema_context(tenant_a.schema):
        conversation = Conversation.objects.get(pk=json.loads(response.content)["conversation_id"])
        assert (conversation.channel, conversation.key_id, conversation.session_id) == (
            "widget",
            issued.key.pk,
            "visitor-1",
        )
        assert conversation.leads.get().email == "nora@example.com"


@pytest.mark.parametrize("origin", ["https://evil.example", "https://www.alpha-shop.example.evil.example", None])
def test_widget_key_is_refused_from_any_other_origin(tenant_a, alpha_widget, origin):
    agent, issued = alpha_widget

    response = _chat(widget_client(tenant_a.host, issued.secret, origin=origin), agent.pk)

    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    problem = json.loads(response.content)
    assert (problem["code"], problem["origin"]) == ("origin_not_allowed", origin)
    assert "Access-Control-Allow-Origin" not in response
    with schema_context(tenant_a.schema):
        assert not Conversation.objects.exists()


def test_widget_key_is_refused_for_another_agent(tenant_a, alpha_widget):
    _, issued = alpha_widget
    other = widget_agent(tenant_a.tenant)

    response = _chat(widget_client(tenant_a.host, issued.secret), other.pk)

    assert response.status_code == 403
    assert json.loads(response.content)["code"] == "permission_denied"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/me"),
        ("get", "/api/v1/tenant"),
        ("get", "/api/v1/agents"),
        ("get", "/api/v1/leads"),
        ("get", "/api/v1/conversations"),
        ("post", "/api/v1/api-keys"),
        ("post", "/api/v1/conversations/erase"),
    ],
)
def test_widget_key_cannot_use_any_other_endpoint(tenant_a, alpha_widget, method, path):
    _, issued = alpha_widget
    client = widget_client(tenant_a.host, issued.secret)

    send = client.get if method == "get" else client.post
    response = send(path) if method == "get" else send(path, data="{}", content_type="application/json")

    assert response.status_code == 403
    assert json.loads(response.content)["code"] in ("permission_denied", "insufficient_scope")


def test_widget_key_of_one_workspace_is_unknown_on_another(tenant_b, alpha_widget):
    agent, issued = alpha_widget

    response = _chat(widget_client(tenant_b.host, issued.secret), agent.pk)

    assert response.status_code == 401
    assert json.loads(response.content)["code"] == "invalid_api_key"


@override_settings(WIDGET_RATE_LIMIT_PER_MINUTE=2, WIDGET_RATE_LIMIT_BURST=2)
def test_widget_rate_limit_is_per_visitor(tenant_a, alpha_widget):
    agent, issued = alpha_widget
    client = widget_client(tenant_a.host, issued.secret)

    statuses = [_chat(client, agent.pk, session_id="busy").status_code for _ in range(3)]
    limited = _chat(client, agent.pk, session_id="busy")
    other_session = _chat(client, agent.pk, session_id="calm")
    other_ip = _chat(widget_client(tenant_a.host, issued.secret, ip="198.51.100.9"), agent.pk, session_id="busy")

    assert statuses[:2] == [200, 200] and statuses[2] == 429
    assert limited.status_code == 429
    assert json.loads(limited.content)["code"] == "rate_limited"
    assert int(limited["Retry-After"]) >= 1
    assert limited["Access-Control-Allow-Origin"] == SITE  # the widget can read why
    assert (other_session.status_code, other_ip.status_code) == (200, 200)


def _preflight(host: str, origin: str):  # type: ignore[no-untyped-def]
    from django.test import Client

    return Client(HTTP_HOST=host).options(
        "/api/v1/chat",
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type",
    )


def test_preflight_is_answered_only_for_origins_of_live_widget_keys(tenant_a, tenant_b, alpha_widget):
    _, issued = alpha_widget

    allowed = _preflight(tenant_a.host, SITE)
    other_site = _preflight(tenant_a.host, "https://evil.example")
    other_workspace = _preflight(tenant_b.host, SITE)

    assert allowed.status_code == 204
    assert allowed["Access-Control-Allow-Origin"] == SITE
    assert "POST" in allowed["Access-Control-Allow-Methods"]
    assert "authorization" in allowed["Access-Control-Allow-Headers"].lower()
    for refused in (other_site, other_workspace):
        assert refused.status_code == 403
        assert refused["Content-Type"] == "application/problem+json"
        assert json.loads(refused.content)["code"] == "origin_not_allowed"
        assert "Access-Control-Allow-Origin" not in refused

    api_key_revoke(key=ApiKey.objects.get(pk=issued.key.pk), actor=TESTS)
    assert _preflight(tenant_a.host, SITE).status_code == 403
