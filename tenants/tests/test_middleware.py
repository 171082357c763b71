"""Host routing and the suspended/cancelled gate, seen from the outside (HTTP in, response out)."""

from __future__ import annotations

import copy
import json

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from audit.services import Actor
from conftest import client_for, signed_in_client
from tenants.models import Tenant, TenantStatus
from tenants.services import tenant_cancel, tenant_reactivate, tenant_suspend

SYSTEM = Actor.system("tests")
LANDING_TEXT = b"Start your 14-day free trial"
UNKNOWN_HOST_TEXT = b"No workspace here"


def _fresh(tenant_fixture) -> Tenant:
    return Tenant.objects.get(pk=tenant_fixture.tenant.pk)


def _set_status(tenant_fixture, status: str) -> None:
    Tenant.objects.filter(pk=tenant_fixture.tenant.pk).update(status=status)


# --- Hosts ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    [
        "nosuch.localhost",
        "nosuch.localhost:8000",
        "deep.alpha.localhost",
        "tenant_template.localhost",
        "t_alpha.localhost",
    ],
)
def test_routing_unknown_host_gets_plain_404_page(tenant_a, host):
    response = client_for(host).get("/")

    assert response.status_code == 404
    assert UNKNOWN_HOST_TEXT in response.content
    assert LANDING_TEXT not in response.content
    assert tenant_a.tenant.name.encode() not in response.content
    assert b"Agentry" not in response.content  # not even the public site's brand


def test_routing_unknown_host_404_for_every_path(tenant_a):
    client = client_for("nosuch.localhost")

    for path in ("/signup/", "/admin/", "/accounts/login/", "/api/v1/anything", "/pricing/"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert UNKNOWN_HOST_TEXT in response.content, path


def test_routing_host_outside_allowed_hosts_gets_plain_404(db):
    response = client_for("evil.example").get("/")

    assert response.status_code == 404
    assert UNKNOWN_HOST_TEXT in response.content


def test_routing_public_host_serves_public_site_and_admin(db, public_client):
    assert LANDING_TEXT in public_client.get("/").content
    assert public_client.get("/pricing/").status_code == 200
    assert public_client.get("/signup/").status_code == 200
    admin = public_client.get("/admin/")
    assert admin.status_code == 302
    assert admin["Location"].startswith("/admin/login/")


def test_routing_public_host_with_port_is_still_public(db):
    assert LANDING_TEXT in client_for("localhost:8000").get("/").content


def test_routing_tenant_host_serves_its_own_portal(tenant_a, tenant_b):
    response = signed_in_client(tenant_b).get("/")

    assert response.status_code == 200
    assert tenant_b.tenant.name.encode() in response.content
    assert tenant_a.tenant.name.encode() not in response.content
    assert LANDING_TEXT not in response.content


def test_routing_tenant_host_has_no_public_pages(tenant_a):
    client = signed_in_client(tenant_a)

    assert client.get("/signup/").status_code == 404
    assert client.get("/pricing/").status_code == 404


def test_routing_warm_cache_resolves_host_without_touching_the_domain_table(tenant_a):
    client = client_for(tenant_a.host)
    client.get("/accounts/login/")  # warms the hostname → tenant cache

    with CaptureQueriesContext(connection) as queries:
        response = client.get("/accounts/login/")

    assert response.status_code == 200
    assert not [q["sql"] for q in queries.captured_queries if "tenants_domain" in q["sql"]]


# --- Suspended and cancelled tenants --------------------------------------------------------


def test_status_gate_suspended_tenant_portal_shows_locked_page(tenant_a):
    _set_status(tenant_a, TenantStatus.SUSPENDED)

    response = signed_in_client(tenant_a).get("/")

    assert response.status_code == 403
    assert b"This workspace is suspended" in response.content
    assert b'href="/billing/"' in response.content
    for path in ("/team/", "/settings/"):
        assert signed_in_client(tenant_a).get(path).status_code == 403, path


def test_status_gate_locks_anonymous_visitors_too(tenant_a):
    _set_status(tenant_a, TenantStatus.SUSPENDED)

    response = client_for(tenant_a.host).get("/team/")

    assert response.status_code == 403
    assert b"This workspace is suspended" in response.content


def test_status_gate_suspended_tenant_keeps_billing_and_sign_in(tenant_a):
    _set_status(tenant_a, TenantStatus.SUSPENDED)

    billing = signed_in_client(tenant_a).get("/billing/")
    login_page = client_for(tenant_a.host).get("/accounts/login/")
    login = client_for(tenant_a.host).post(
        "/accounts/login/", {"login": tenant_a.owner_email, "password": "correct-horse-battery-staple"}
    )

    assert billing.status_code == 200
    assert b"Your workspace is locked" in billing.content
    assert login_page.status_code == 200
    assert login.status_code == 302


def test_status_gate_suspended_tenant_api_answers_problem_json(tenant_a):
    _set_status(tenant_a, TenantStatus.SUSPENDED)

    response = signed_in_client(tenant_a).get("/api/v1/anything")

    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    body = json.loads(response.content)
    assert body["code"] == "tenant_suspended"
    assert body["status"] == 403
    assert body["title"]
    assert body["detail"]


def test_status_gate_api_is_locked_for_every_method(tenant_a):
    _set_status(tenant_a, TenantStatus.SUSPENDED)
    client = client_for(tenant_a.host)

    for method in ("get", "post", "put", "patch", "delete"):
        response = getattr(client, method)("/api/v1/agents/", content_type="application/json")
        assert response.status_code == 403, method
        assert json.loads(response.content)["code"] == "tenant_suspended", method


def test_status_gate_cancelled_tenant_answers_tenant_cancelled(tenant_a):
    _set_status(tenant_a, TenantStatus.CANCELLED)

    api = client_for(tenant_a.host).get("/api/v1/anything")
    portal = signed_in_client(tenant_a).get("/")

    assert api.status_code == 403
    assert api["Content-Type"] == "application/problem+json"
    assert json.loads(api.content)["code"] == "tenant_cancelled"
    assert portal.status_code == 403
    assert b"subscription is cancelled" in portal.content
    assert signed_in_client(tenant_a).get("/billing/").status_code == 200


@pytest.mark.parametrize("status", [TenantStatus.TRIALING, TenantStatus.ACTIVE, TenantStatus.PAST_DUE])
def test_status_gate_open_statuses_serve_the_portal(tenant_a, status):
    _set_status(tenant_a, status)

    assert signed_in_client(tenant_a).get("/").status_code == 200


def test_status_gate_suspension_applies_on_the_very_next_request(tenant_a):
    client = signed_in_client(tenant_a)
    assert client.get("/").status_code == 200  # route (with status) now cached

    tenant_suspend(tenant=_fresh(tenant_a), actor=SYSTEM)
    assert client.get("/").status_code == 403

    tenant_reactivate(tenant=_fresh(tenant_a), actor=SYSTEM)
    assert client.get("/").status_code == 200

    tenant_cancel(tenant=_fresh(tenant_a), actor=SYSTEM)
    assert json.loads(client.get("/api/v1/anything").content)["code"] == "tenant_cancelled"


def test_status_gate_suspending_one_tenant_leaves_the_other_open(tenant_a, tenant_b):
    tenant_suspend(tenant=_fresh(tenant_a), actor=SYSTEM)

    assert signed_in_client(tenant_a).get("/").status_code == 403
    assert signed_in_client(tenant_b).get("/").status_code == 200


# --- Health probes --------------------------------------------------------------------------

ANY_HOST = ["localhost", "alpha.localhost", "nosuch.localhost"]


@pytest.mark.parametrize("host", ANY_HOST)
def test_healthz_answers_on_any_host(tenant_a, host):
    response = client_for(host).get("/healthz")

    assert response.status_code == 200
    assert json.loads(response.content) == {"status": "ok"}


def test_healthz_answers_on_a_suspended_tenant_host(tenant_a):
    _set_status(tenant_a, TenantStatus.SUSPENDED)

    assert client_for(tenant_a.host).get("/healthz").status_code == 200


@pytest.mark.parametrize("host", ANY_HOST)
def test_readyz_names_every_check_when_ready(tenant_a, host):
    response = client_for(host).get("/readyz")

    assert response.status_code == 200
    assert json.loads(response.content) == {
        "status": "ready",
        "checks": {"database": "ok", "redis": "ok", "broker": "ok", "rate_limiter": "ok"},
    }


def test_readyz_names_the_failed_check_with_503(db):
    # A real Redis address nothing listens on: the probe must say which dependency is down.
    caches_with_dead_redis = copy.deepcopy(settings.CACHES)
    caches_with_dead_redis["routing"]["LOCATION"] = "redis://127.0.0.1:1/0"
    with override_settings(CACHES=caches_with_dead_redis):
        response = client_for("localhost").get("/readyz")

    assert response.status_code == 503
    assert json.loads(response.content) == {
        "status": "not_ready",
        "checks": {"database": "ok", "redis": "unavailable", "broker": "ok", "rate_limiter": "ok"},
    }
