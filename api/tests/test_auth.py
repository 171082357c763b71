"""Who may call /api/v1/: API keys (both headers), portal sessions (CSRF-checked), and every way
credentials can be wrong — malformed, unknown, expired, revoked, rotated out, another tenant's,
from a disallowed IP — seen from the outside as problem+json 401/403 responses.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.crypto import get_random_string
from django_tenants.utils import schema_context

from accounts.models import Role, User
from apikeys.models import ApiKey
from apikeys.scopes import Scope
from apikeys.secrets import api_key_generate
from apikeys.services import api_key_revoke
from apikeys.tests.factories import IssuedApiKeyFactory, api_client
from audit.services import Actor
from conftest import client_for, make_member, signed_in_client
from tenants.models import Tenant, TenantStatus

SYSTEM = Actor.system("tests")
PROBLEM = "application/problem+json"


def _problem(response) -> dict:  # type: ignore[no-untyped-def]
    assert response["Content-Type"] == PROBLEM, response.content
    return json.loads(response.content)


def _assert_refused(response, status: int, code: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.content
    body = _problem(response)
    assert (body["status"], body["code"]) == (status, code)
    if status == 401:
        assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.fixture
def key_a(tenant_a):  # type: ignore[no-untyped-def]
    return IssuedApiKeyFactory(tenant=tenant_a.tenant)


# --- The two headers ------------------------------------------------------------------------


def test_api_auth_bearer_header_authenticates(tenant_a, key_a):
    response = client_for(tenant_a.host).get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {key_a.secret}")

    assert response.status_code == 200
    body = json.loads(response.content)
    assert (body["type"], body["id"], body["tenant"]) == ("api_key", key_a.key.pk, "alpha")


def test_api_auth_bearer_scheme_is_case_insensitive(tenant_a, key_a):
    response = client_for(tenant_a.host).get("/api/v1/me", HTTP_AUTHORIZATION=f"bearer {key_a.secret}")

    assert response.status_code == 200


def test_api_auth_x_api_key_header_authenticates(tenant_a, key_a):
    response = client_for(tenant_a.host).get("/api/v1/me", HTTP_X_API_KEY=key_a.secret)

    assert response.status_code == 200
    assert json.loads(response.content)["id"] == key_a.key.pk


def test_api_auth_without_credentials_is_401(tenant_a):
    _assert_refused(client_for(tenant_a.host).get("/api/v1/me"), 401, "not_authenticated")


# --- Malformed and unknown keys ------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    ["Bearer", "Bearer    ", "Basic dXNlcjpwYXNzd29yZA==", "Token {key}", "{key}", "Bearer{key}"],
    ids=["no key", "blank key", "basic auth", "token scheme", "no scheme", "no space"],
)
def test_api_auth_malformed_authorization_header_is_401(tenant_a, key_a, header):
    response = client_for(tenant_a.host).get("/api/v1/me", HTTP_AUTHORIZATION=header.format(key=key_a.secret))

    _assert_refused(response, 401, "malformed_credentials")


@pytest.mark.parametrize(
    "garbage",
    ["hunter2", "agk_live_", "agk_live_" + "x" * 38, "sk_live_" + "a" * 40, "agk_live_ab/../../etc/passwd"],
)
def test_api_auth_garbage_key_is_refused_without_a_key_lookup(tenant_a, garbage):
    client = client_for(tenant_a.host)
    client.get("/api/v1/tenant")  # warm the host routing cache: only key lookups remain

    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/me", HTTP_X_API_KEY=garbage)

    _assert_refused(response, 401, "malformed_credentials")
    assert not [q for q in queries.captured_queries if "apikeys_apikey" in q["sql"]]


def test_api_auth_key_with_a_typo_is_refused_as_malformed(tenant_a, key_a):
    typo = key_a.secret[:20] + ("x" if key_a.secret[20] != "x" else "y") + key_a.secret[21:]

    _assert_refused(api_client(tenant_a.host, typo).get("/api/v1/me"), 401, "malformed_credentials")


def test_api_auth_well_formed_but_unknown_key_is_401(tenant_a):
    _assert_refused(api_client(tenant_a.host, api_key_generate()).get("/api/v1/me"), 401, "invalid_api_key")


# --- Key lifecycle --------------------------------------------------------------------------


def test_api_auth_expired_key_is_401(tenant_a):
    issued = IssuedApiKeyFactory(tenant=tenant_a.tenant, expires_at=timezone.now() + timedelta(hours=1))
    client = api_client(tenant_a.host, issued.secret)
    assert client.get("/api/v1/me").status_code == 200

    with time_machine.travel(timezone.now() + timedelta(hours=1, seconds=1)):
        _assert_refused(client.get("/api/v1/me"), 401, "api_key_expired")


def test_api_auth_revoked_key_is_401(tenant_a, key_a):
    client = api_client(tenant_a.host, key_a.secret)
    assert client.get("/api/v1/me").status_code == 200

    api_key_revoke(key=key_a.key, actor=SYSTEM)

    _assert_refused(client.get("/api/v1/me"), 401, "api_key_revoked")


def test_api_auth_rotated_out_secret_is_401(tenant_a, key_a, django_capture_on_commit_callbacks):
    old = api_client(tenant_a.host, key_a.secret)
    assert old.get("/api/v1/me").status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        response = old.post("/api/v1/api-keys/" + key_a.key.pk + "/rotate", data={}, content_type="application/json")
    assert response.status_code == 200
    new_secret = json.loads(response.content)["secret"]

    _assert_refused(old.get("/api/v1/me"), 401, "invalid_api_key")
    assert api_client(tenant_a.host, new_secret).get("/api/v1/me").status_code == 200


def test_api_auth_key_on_another_tenants_host_is_401(tenant_a, tenant_b, key_a):
    _assert_refused(api_client(tenant_b.host, key_a.secret).get("/api/v1/me"), 401, "invalid_api_key")


def test_api_auth_suspended_tenants_key_is_403(tenant_a, key_a):
    Tenant.objects.filter(pk=tenant_a.tenant.pk).update(status=TenantStatus.SUSPENDED)  # before any cached route

    _assert_refused(api_client(tenant_a.host, key_a.secret).get("/api/v1/me"), 403, "tenant_suspended")
    _assert_refused(api_client("localhost", key_a.secret).get("/api/v1/me"), 403, "tenant_suspended")


# --- The public host: the key names the tenant ----------------------------------------------


def test_api_auth_public_host_routes_by_key(tenant_a, tenant_b, key_a):
    key_b = IssuedApiKeyFactory(tenant=tenant_b.tenant)

    response_a = api_client("localhost", key_a.secret).get("http://localhost/api/v1/tenant")
    response_b = client_for("localhost").get("/api/v1/tenant", HTTP_X_API_KEY=key_b.secret)

    assert response_a.status_code == response_b.status_code == 200
    assert json.loads(response_a.content)["slug"] == "alpha"
    assert json.loads(response_b.content)["slug"] == "beta"


def test_api_auth_public_host_without_key_is_401(public_client):
    _assert_refused(public_client.get("/api/v1/tenant"), 401, "not_authenticated")


@pytest.mark.parametrize(
    ("credentials", "code"),
    [
        ({"HTTP_AUTHORIZATION": "Basic abc"}, "malformed_credentials"),
        ({"HTTP_X_API_KEY": "garbage"}, "malformed_credentials"),
        ({"HTTP_X_API_KEY": "unknown"}, "invalid_api_key"),
    ],
    ids=["wrong scheme", "garbage", "unknown"],
)
def test_api_auth_public_host_bad_key_is_401(public_client, credentials, code):
    if credentials.get("HTTP_X_API_KEY") == "unknown":
        credentials = {"HTTP_X_API_KEY": api_key_generate()}

    _assert_refused(public_client.get("/api/v1/tenant", **credentials), 401, code)


def test_api_auth_public_host_revoked_key_is_401(tenant_a, key_a):
    api_key_revoke(key=key_a.key, actor=SYSTEM)

    _assert_refused(api_client("localhost", key_a.secret).get("/api/v1/tenant"), 401, "api_key_revoked")


# --- IP allowlists --------------------------------------------------------------------------


@pytest.fixture
def office_key(tenant_a):  # type: ignore[no-untyped-def]
    return IssuedApiKeyFactory(tenant=tenant_a.tenant, allowed_cidrs=["203.0.113.0/24", "2001:db8:1::/48"])


@pytest.mark.parametrize("address", ["203.0.113.7", "2001:db8:1::42"])
def test_api_auth_ip_allowlist_admits_listed_addresses(tenant_a, office_key, address):
    response = api_client(tenant_a.host, office_key.secret, REMOTE_ADDR=address).get("/api/v1/me")

    assert response.status_code == 200


@pytest.mark.parametrize("address", ["198.51.100.7", "127.0.0.1", "2001:db8:2::42", "::1"])
def test_api_auth_ip_allowlist_refuses_other_addresses(tenant_a, office_key, address):
    response = api_client(tenant_a.host, office_key.secret, REMOTE_ADDR=address).get("/api/v1/me")

    _assert_refused(response, 403, "ip_not_allowed")


def test_api_auth_ip_allowlist_matches_ipv4_clients_of_a_dual_stack_listener(tenant_a, office_key):
    allowed = api_client(tenant_a.host, office_key.secret, REMOTE_ADDR="::ffff:203.0.113.7")
    refused = api_client(tenant_a.host, office_key.secret, REMOTE_ADDR="::ffff:198.51.100.7")

    assert allowed.get("/api/v1/me").status_code == 200
    _assert_refused(refused.get("/api/v1/me"), 403, "ip_not_allowed")


def test_api_auth_ip_allowlist_uses_the_trusted_proxys_forwarded_address(tenant_a, office_key, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    behind_proxy = api_client(tenant_a.host, office_key.secret, REMOTE_ADDR="10.0.0.2")

    assert behind_proxy.get("/api/v1/me", HTTP_X_FORWARDED_FOR="203.0.113.7").status_code == 200
    # The client may prepend anything; only the address our proxy appended counts.
    spoofed = behind_proxy.get("/api/v1/me", HTTP_X_FORWARDED_FOR="203.0.113.7, 198.51.100.7")
    _assert_refused(spoofed, 403, "ip_not_allowed")


def test_api_auth_ip_allowlist_ignores_forwarded_for_without_trusted_proxies(tenant_a, office_key, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    client = api_client(tenant_a.host, office_key.secret, REMOTE_ADDR="198.51.100.7")

    _assert_refused(client.get("/api/v1/me", HTTP_X_FORWARDED_FOR="203.0.113.7"), 403, "ip_not_allowed")


def test_api_auth_ip_allowlist_applies_on_the_public_host_too(tenant_a, office_key):
    client = api_client("localhost", office_key.secret, REMOTE_ADDR="198.51.100.7")

    _assert_refused(client.get("/api/v1/me"), 403, "ip_not_allowed")


# --- Portal sessions ------------------------------------------------------------------------


def _csrf_client(tenant_fixture, email: str | None = None) -> tuple[Client, str]:
    """A signed-in browser that enforces CSRF like a real one, and the token its page would carry."""
    client = Client(HTTP_HOST=tenant_fixture.host, enforce_csrf_checks=True)
    with schema_context(tenant_fixture.schema):
        user = User.objects.get(email=email or tenant_fixture.owner_email)
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    token = get_random_string(32)
    client.cookies["csrftoken"] = token
    return client, token


def test_api_auth_portal_session_can_read_without_a_csrf_token(tenant_a):
    client, _ = _csrf_client(tenant_a)

    response = client.get("/api/v1/me")

    assert response.status_code == 200
    body = json.loads(response.content)
    assert (body["type"], body["name"], body["role"]) == ("user", tenant_a.owner_email, Role.OWNER)
    assert "keys:manage" in body["scopes"]


def test_api_auth_portal_session_post_without_csrf_token_is_403(tenant_a):
    client, _ = _csrf_client(tenant_a)

    response = client.post(
        "/api/v1/api-keys", data={"name": "x", "scopes": ["agents:read"]}, content_type="application/json"
    )

    _assert_refused(response, 403, "permission_denied")
    assert "CSRF" in _problem(response)["detail"]
    assert not ApiKey.objects.filter(tenant=tenant_a.tenant, name="x").exists()


def test_api_auth_portal_session_post_with_csrf_token_succeeds(tenant_a):
    client, token = _csrf_client(tenant_a)

    response = client.post(
        "/api/v1/api-keys",
        data={"name": "From the browser", "scopes": ["agents:read"]},
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )

    assert response.status_code == 201, response.content
    assert json.loads(response.content)["created_by"]["name"] == tenant_a.owner_email


@pytest.mark.parametrize(
    ("role", "status"),
    [(Role.VIEWER, 403), (Role.MEMBER, 403), (Role.ADMIN, 200)],
)
def test_api_auth_portal_session_scopes_follow_the_role(tenant_a, role, status):
    make_member(tenant_a, email=f"{role}@alpha.test", role=role)

    response = signed_in_client(tenant_a, f"{role}@alpha.test").get("/api/v1/api-keys")

    assert response.status_code == status
    if status == 403:
        body = _problem(response)
        assert body["code"] == "insufficient_scope"
        assert body["missing_scopes"] == [Scope.KEYS_MANAGE]


def test_api_auth_session_of_another_tenant_is_not_a_session_here(tenant_a, tenant_b):
    client = signed_in_client(tenant_a)
    client.defaults["HTTP_HOST"] = tenant_b.host

    _assert_refused(client.get("/api/v1/me"), 401, "not_authenticated")


def test_api_auth_session_rate_limits_are_per_tenant_not_per_user_id(tenant_a, tenant_b, settings):
    # User ids restart in every schema: alpha's owner and beta's owner may both be user 1.
    with schema_context(tenant_a.schema):
        alpha_owner_id = User.objects.get(email=tenant_a.owner_email).pk
    with schema_context(tenant_b.schema):
        assert User.objects.get(email=tenant_b.owner_email).pk == alpha_owner_id
    settings.SESSION_RATE_LIMIT_PER_MINUTE = 1
    settings.SESSION_RATE_LIMIT_BURST = 1
    alpha, beta = signed_in_client(tenant_a), signed_in_client(tenant_b)

    assert alpha.get("/api/v1/me").status_code == 200
    assert beta.get("/api/v1/me").status_code == 200
    assert alpha.get("/api/v1/me").status_code == 429


# --- Cheap on the hot path ------------------------------------------------------------------


def test_api_auth_last_used_is_written_at_most_once_per_five_minutes(tenant_a, key_a):
    client = api_client(tenant_a.host, key_a.secret)

    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/v1/me").status_code == 200
        first_use = ApiKey.objects.get(pk=key_a.key.pk).last_used_at
        assert client.get("/api/v1/me").status_code == 200
        assert client.get("/api/v1/tenant").status_code == 200

    updates = [q for q in queries.captured_queries if q["sql"].startswith('UPDATE "apikeys_apikey"')]
    assert len(updates) == 1
    assert first_use is not None
    assert ApiKey.objects.get(pk=key_a.key.pk).last_used_at == first_use


def test_api_auth_warm_key_check_costs_no_query(tenant_a, key_a):
    client = api_client(tenant_a.host, key_a.secret)
    client.get("/api/v1/me")  # routing, key record and last-used gate now in Redis

    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/v1/me").status_code == 200

    statements = [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert statements == [f'SET search_path = "{tenant_a.schema}","public"']
