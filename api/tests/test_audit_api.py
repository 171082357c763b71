"""GET /api/v1/audit-log: filters, cursor pagination, the audit:read scope, what gets recorded
(sign-ins included) in which schema, and that nothing can change or delete an event.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
import time_machine
from django.test import Client
from django_tenants.utils import get_public_schema_name, schema_context

from accounts.models import User
from apikeys.tests.factories import IssuedApiKeyFactory, api_client
from audit.models import AuditEvent
from audit.services import Actor, audit_record
from conftest import PASSWORD, client_for

JAN_1 = datetime(2025, 1, 1, 10, 0, tzinfo=UTC)
OWNER = Actor(type="user", id="1", label="owner@alpha.test")
CI_KEY = Actor(type="api_key", id="key_ci00000000000000", label="CI")
# (minutes after JAN_1, action, actor) — recorded in tenant A's schema at those times.
HISTORY = [
    (0, "api_key.created", OWNER),
    (5, "api_key.rotated", CI_KEY),
    (10, "team.role_changed", OWNER),
    (15, "api_key.revoked", OWNER),
    (20, "settings.changed", CI_KEY),
]
WINDOW = {"since": "2025-01-01T09:00:00Z", "until": "2025-01-01T11:00:00Z"}


@pytest.fixture
def history(tenant_a) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    events = []
    with schema_context(tenant_a.schema):
        for minutes, action, actor in HISTORY:
            with time_machine.travel(JAN_1 + timedelta(minutes=minutes), tick=False):
                events.append(audit_record(action=action, actor=actor, data={"n": minutes}))
    return events


@pytest.fixture
def auditor(tenant_a) -> Client:  # type: ignore[no-untyped-def]
    return api_client(tenant_a.host, IssuedApiKeyFactory.create(tenant=tenant_a.tenant, scopes=["audit:read"]).secret)


def _events(client: Client, **params: str) -> list[dict]:
    response = client.get(f"/api/v1/audit-log?{urlencode(params)}")
    assert response.status_code == 200, response.content
    return json.loads(response.content)["results"]


def _actions(client: Client, **params: str) -> list[str]:
    return [event["action"] for event in _events(client, **params)]


# --- Filters --------------------------------------------------------------------------------


def test_audit_api_lists_newest_first_with_the_documented_shape(history, auditor):
    events = _events(auditor, **WINDOW)

    assert [event["action"] for event in events] == [action for _, action, _ in reversed(HISTORY)]
    first = events[-1]
    assert first["id"] == f"aud_{history[0].pk}"
    assert first["occurred_at"] == "2025-01-01T10:00:00Z"
    assert first["actor"] == {"type": "user", "id": "1", "name": "owner@alpha.test"}
    assert first["details"] == {"n": 0}
    assert set(first) >= {"target", "ip_address", "request_id"}


def test_audit_api_filters_by_exact_action(history, auditor):
    assert _actions(auditor, action="api_key.rotated") == ["api_key.rotated"]
    assert _actions(auditor, action="api_key") == []  # not a prefix without the dot


def test_audit_api_filters_by_action_prefix(history, auditor):
    assert _actions(auditor, action="api_key.", **WINDOW) == ["api_key.revoked", "api_key.rotated", "api_key.created"]


@pytest.mark.parametrize("actor", ["key_ci00000000000000", "CI", "ci"], ids=["id", "label", "label any case"])
def test_audit_api_filters_by_actor(history, auditor, actor):
    assert _actions(auditor, actor=actor) == ["settings.changed", "api_key.rotated"]


def test_audit_api_filters_by_actor_email(history, auditor):
    assert _actions(auditor, actor="OWNER@alpha.test", **WINDOW) == [
        "api_key.revoked",
        "team.role_changed",
        "api_key.created",
    ]


def test_audit_api_filters_by_since_and_until_inclusive(history, auditor):
    actions = _actions(auditor, since="2025-01-01T10:05:00Z", until="2025-01-01T10:15:00Z")

    assert actions == ["api_key.revoked", "team.role_changed", "api_key.rotated"]


def test_audit_api_filters_combine(history, auditor):
    assert _actions(auditor, action="api_key.", actor="owner@alpha.test", since="2025-01-01T10:01:00Z") == [
        "api_key.revoked"
    ]


def test_audit_api_until_before_since_is_400(auditor):
    response = auditor.get("/api/v1/audit-log?since=2025-01-02T00:00:00Z&until=2025-01-01T00:00:00Z")

    assert response.status_code == 400
    body = json.loads(response.content)
    assert body["code"] == "validation_error"
    assert [error["field"] for error in body["errors"]] == ["until"]


@pytest.mark.parametrize("params", [{"since": "yesterday"}, {"until": "2025-13-01"}, {"action": "\x00"}])
def test_audit_api_malformed_filter_is_400(auditor, params):
    response = auditor.get(f"/api/v1/audit-log?{urlencode(params)}")

    assert response.status_code == 400
    assert json.loads(response.content)["errors"][0]["field"] == next(iter(params))


# --- Pagination -----------------------------------------------------------------------------


def test_audit_api_cursor_pagination_walks_every_event_once(history, auditor):
    url: str | None = f"/api/v1/audit-log?{urlencode({'limit': 2, **WINDOW})}"
    pages = []
    while url:
        response = auditor.get(url)
        assert response.status_code == 200
        page = json.loads(response.content)
        pages.append([event["action"] for event in page["results"]])
        url = page["next"]

    assert [len(page) for page in pages] == [2, 2, 1]
    assert [action for page in pages for action in page] == [action for _, action, _ in reversed(HISTORY)]


def test_audit_api_cursor_pagination_goes_back_with_previous(history, auditor):
    first = json.loads(auditor.get(f"/api/v1/audit-log?{urlencode({'limit': 2, **WINDOW})}").content)
    second = json.loads(auditor.get(first["next"]).content)

    back = json.loads(auditor.get(second["previous"]).content)

    assert first["previous"] is None
    assert back["results"] == first["results"]


# --- Scope ----------------------------------------------------------------------------------


def test_audit_api_requires_audit_read(tenant_a):
    everything_else = [scope for scope in IssuedApiKeyFactory.scopes.function() if scope != "audit:read"]
    client = api_client(tenant_a.host, IssuedApiKeyFactory(tenant=tenant_a.tenant, scopes=everything_else).secret)

    response = client.get("/api/v1/audit-log")

    assert response.status_code == 403
    assert json.loads(response.content)["missing_scopes"] == ["audit:read"]


# --- What is recorded, and where ------------------------------------------------------------


def test_audit_api_key_changes_through_the_api_are_recorded_with_actor_ip_and_request_id(tenant_a):
    manager = IssuedApiKeyFactory(tenant=tenant_a.tenant, name="Ops bot", scopes=["keys:manage", "audit:read", "chat"])
    client = api_client(tenant_a.host, manager.secret, REMOTE_ADDR="198.51.100.23")

    created = client.post(
        "/api/v1/api-keys",
        data={"name": "Chat widget", "scopes": ["chat"]},
        content_type="application/json",
        HTTP_X_REQUEST_ID="req-create-widget-1",
    )
    assert created.status_code == 201

    event = _events(client, action="api_key.created", actor=manager.key.pk)[0]
    assert event["actor"] == {"type": "api_key", "id": manager.key.pk, "name": "Ops bot"}
    assert event["target"]["id"] == json.loads(created.content)["id"]
    assert event["ip_address"] == "198.51.100.23"
    assert event["request_id"] == "req-create-widget-1"
    assert event["details"]["scopes"] == ["chat"]


def _signed_in(host: str, email: str, password: str) -> Client:
    client = client_for(host)
    client.post("/accounts/login/", {"login": email, "password": password})
    return client


def test_audit_login_and_failed_login_are_recorded_in_the_tenants_schema(tenant_a, tenant_b):
    _signed_in(tenant_a.host, tenant_a.owner_email, PASSWORD)
    _signed_in(tenant_a.host, tenant_a.owner_email, "wrong-password")

    with schema_context(tenant_a.schema):
        owner = User.objects.get(email=tenant_a.owner_email)
        login = AuditEvent.objects.get(action="auth.login")
        failed = AuditEvent.objects.get(action="auth.login_failed")
    assert (login.actor_type, login.actor_id, login.actor_label) == ("user", str(owner.pk), tenant_a.owner_email)
    assert failed.actor_label == tenant_a.owner_email
    assert failed.data == {"email": tenant_a.owner_email}
    assert "wrong-password" not in json.dumps(failed.data)
    for other in (tenant_b.schema, get_public_schema_name()):
        with schema_context(other):
            assert not AuditEvent.objects.filter(action__startswith="auth.login").exists()


def test_audit_login_events_are_served_by_the_api(tenant_a, auditor):
    _signed_in(tenant_a.host, tenant_a.owner_email, "wrong-password")
    _signed_in(tenant_a.host, tenant_a.owner_email, PASSWORD)

    assert _actions(auditor, action="auth.")[:2] == ["auth.login", "auth.login_failed"]


def test_audit_failed_login_for_an_unknown_email_is_recorded(tenant_a):
    _signed_in(tenant_a.host, "nobody@alpha.test", "whatever-password")

    with schema_context(tenant_a.schema):
        event = AuditEvent.objects.get(action="auth.login_failed")
    assert (event.actor_id, event.actor_label, event.target_id) == ("", "nobody@alpha.test", "")


# --- Append-only ----------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["put", "patch", "delete", "post"])
def test_audit_api_has_no_write_methods(history, auditor, method):
    response = getattr(auditor, method)("/api/v1/audit-log", data="{}", content_type="application/json")

    assert response.status_code == 405
    assert json.loads(response.content)["code"] == "method_not_allowed"


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_audit_api_has_no_per_event_endpoint(tenant_a, history, auditor, method):
    response = getattr(auditor, method)(f"/api/v1/audit-log/aud_{history[0].pk}")

    assert response.status_code == 404
    with schema_context(tenant_a.schema):
        assert AuditEvent.objects.filter(pk=history[0].pk).exists()


@pytest.fixture
def staff_client(db) -> Client:  # type: ignore[no-untyped-def]
    with schema_context(get_public_schema_name()):
        staff = User.objects.create_superuser(email="auditor@agentry.test", password=PASSWORD)
    client = client_for("localhost")
    client.force_login(staff, backend="django.contrib.auth.backends.ModelBackend")
    return client


@pytest.fixture
def public_event(db) -> AuditEvent:  # type: ignore[no-untyped-def]
    with schema_context(get_public_schema_name()):
        return audit_record(action="tenant.suspended", actor=Actor.system("tests"), tenant_slug="alpha")


def test_audit_admin_refuses_change(staff_client, public_event):
    url = f"/admin/audit/auditevent/{public_event.pk}/change/"

    page = staff_client.get(url)
    posted = staff_client.post(url, {"action": "nothing.happened", "actor_type": "system"})

    assert page.status_code == 200  # superusers may look …
    assert b'name="_save"' not in page.content
    assert posted.status_code == 403  # … but not touch
    assert AuditEvent.objects.get(pk=public_event.pk).action == "tenant.suspended"


def test_audit_admin_refuses_delete_and_add(staff_client, public_event):
    delete_url = f"/admin/audit/auditevent/{public_event.pk}/delete/"

    assert staff_client.get(delete_url).status_code == 403
    assert staff_client.post(delete_url, {"post": "yes"}).status_code == 403
    assert staff_client.get("/admin/audit/auditevent/add/").status_code == 403
    bulk = staff_client.post(
        "/admin/audit/auditevent/", {"action": "delete_selected", "_selected_action": [public_event.pk], "post": "yes"}
    )
    assert bulk.status_code in (200, 302)
    assert AuditEvent.objects.filter(pk=public_event.pk).exists()
