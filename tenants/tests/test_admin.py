"""Staff admin on the public host: tenant list, filters, search and lifecycle actions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.test import Client
from django_tenants.utils import get_public_schema_name, schema_context, schema_exists

from accounts.models import User
from audit.models import ActorType, AuditEvent
from billing.models import Plan
from conftest import PASSWORD, client_for, signed_in_client
from tenants.models import Tenant, TenantStatus

CHANGELIST = "/admin/tenants/tenant/"
FROZEN_NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _staff(email: str = "staff@agentry.test", **flags: bool) -> User:
    with schema_context(get_public_schema_name()):
        if flags.get("is_superuser", True):
            return User.objects.create_superuser(email=email, password=PASSWORD)
        return User.objects.create_user(email=email, password=PASSWORD, **flags)


def _client_for_user(user: User) -> Client:
    client = client_for("localhost")
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


@pytest.fixture
def staff(two_tenants, db) -> User:
    return _staff()


@pytest.fixture
def staff_client(staff) -> Client:
    return _client_for_user(staff)


def _listed_slugs(response) -> list[str]:
    assert response.status_code == 200
    return sorted(tenant.slug for tenant in response.context["cl"].result_list)


def _run_action(client: Client, action: str, *tenants, **extra: str):
    data = {"action": action, ACTION_CHECKBOX_NAME: [t.tenant.pk for t in tenants], "index": 0, **extra}
    return client.post(CHANGELIST, data, follow=True)


def _messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def _status(tenant_fixture) -> str:
    return Tenant.objects.get(pk=tenant_fixture.tenant.pk).status


def _staff_events(action: str, slug: str) -> list[AuditEvent]:
    with schema_context(get_public_schema_name()):
        return list(AuditEvent.objects.filter(action=action, tenant_slug=slug, actor_type=ActorType.STAFF))


# --- Listing, filters, search ---------------------------------------------------------------


def test_admin_index_shows_the_platform_overview(staff_client):
    response = staff_client.get("/admin/")

    assert response.status_code == 200
    assert b"Platform overview" in response.content


def test_admin_tenant_list_shows_every_tenant(staff_client):
    assert _listed_slugs(staff_client.get(CHANGELIST)) == ["alpha", "beta"]


@pytest.mark.parametrize(
    ("status", "expected"), [("active", ["alpha"]), ("trialing", ["beta"]), ("suspended", [])], ids=lambda v: str(v)
)
def test_admin_tenant_list_filters_by_status(staff_client, status, expected):
    assert _listed_slugs(staff_client.get(CHANGELIST, {"status__exact": status})) == expected


@pytest.mark.parametrize(("plan", "expected"), [("professional", ["alpha"]), ("starter", ["beta"]), ("enterprise", [])])
def test_admin_tenant_list_filters_by_plan(staff_client, plan, expected):
    plan_id = Plan.objects.get(code=plan).pk

    assert _listed_slugs(staff_client.get(CHANGELIST, {"plan__id__exact": plan_id})) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [("alpha", ["alpha"]), ("Beta Ltd", ["beta"]), ("beta.localhost", ["beta"]), ("owner@alpha.test", ["alpha"]),
     ("t_beta", ["beta"]), ("nothing-like-this", [])],
)  # fmt: skip
def test_admin_tenant_list_search(staff_client, query, expected):
    assert _listed_slugs(staff_client.get(CHANGELIST, {"q": query})) == expected


def test_admin_tenant_list_filters_scheduled_deletions(staff_client, tenant_a):
    _run_action(staff_client, "request_deletion", tenant_a, confirm_slug="alpha", grace_days="30")

    assert _listed_slugs(staff_client.get(CHANGELIST, {"deletion": "scheduled"})) == ["alpha"]
    assert _listed_slugs(staff_client.get(CHANGELIST, {"deletion": "live"})) == ["beta"]


def test_admin_tenant_change_page_keeps_slug_read_only(staff_client, tenant_a):
    response = staff_client.get(f"{CHANGELIST}{tenant_a.tenant.pk}/change/")

    assert response.status_code == 200
    assert "slug" not in response.context["adminform"].form.fields
    assert "alpha.localhost" in response.content.decode()  # the domain inline


def test_admin_tenants_cannot_be_added_or_hard_deleted(staff_client, tenant_a):
    assert staff_client.get(f"{CHANGELIST}add/").status_code == 403
    assert staff_client.post(f"{CHANGELIST}{tenant_a.tenant.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Tenant.objects.filter(pk=tenant_a.tenant.pk).exists()


# --- Lifecycle actions ----------------------------------------------------------------------


def test_admin_suspend_action_goes_through_the_service(staff_client, staff, tenant_a):
    assert signed_in_client(tenant_a).get("/").status_code == 200  # route cached before

    response = _run_action(staff_client, "suspend", tenant_a)

    assert response.status_code == 200
    assert "Suspended 1 tenant(s)." in _messages(response)
    assert _status(tenant_a) == TenantStatus.SUSPENDED
    [event] = _staff_events("tenant.status_changed", "alpha")
    assert (event.data["from"], event.data["to"]) == ("active", "suspended")
    assert (event.actor_id, event.actor_label) == (str(staff.pk), "staff@agentry.test")
    assert signed_in_client(tenant_a).get("/").status_code == 403  # routing cache invalidated


def test_admin_reactivate_action(staff_client, tenant_a):
    Tenant.objects.filter(pk=tenant_a.tenant.pk).update(status=TenantStatus.SUSPENDED)

    response = _run_action(staff_client, "reactivate", tenant_a)

    assert "Reactivated 1 tenant(s)." in _messages(response)
    assert _status(tenant_a) == TenantStatus.ACTIVE
    [event] = _staff_events("tenant.status_changed", "alpha")
    assert (event.data["from"], event.data["to"]) == ("suspended", "active")


def test_admin_cancel_action_on_several_tenants(staff_client, tenant_a, tenant_b):
    response = _run_action(staff_client, "cancel", tenant_a, tenant_b)

    assert "Cancelled 2 tenant(s)." in _messages(response)
    assert (_status(tenant_a), _status(tenant_b)) == (TenantStatus.CANCELLED, TenantStatus.CANCELLED)
    assert len(_staff_events("tenant.status_changed", "alpha")) == 1
    assert len(_staff_events("tenant.status_changed", "beta")) == 1


def test_admin_illegal_transition_shows_an_error_not_a_500(staff_client, tenant_a, tenant_b):
    Tenant.objects.filter(pk=tenant_b.tenant.pk).update(status=TenantStatus.CANCELLED)

    response = _run_action(staff_client, "suspend", tenant_a, tenant_b)

    assert response.status_code == 200
    assert _messages(response) == ["beta: A cancelled tenant cannot become suspended.", "Suspended 1 tenant(s)."]
    assert (_status(tenant_a), _status(tenant_b)) == (TenantStatus.SUSPENDED, TenantStatus.CANCELLED)
    assert _staff_events("tenant.status_changed", "beta") == []


def test_admin_request_deletion_first_shows_a_confirmation_page(staff_client, tenant_a):
    response = staff_client.post(CHANGELIST, {"action": "request_deletion", ACTION_CHECKBOX_NAME: [tenant_a.tenant.pk]})

    assert response.status_code == 200
    assert response.templates[0].name == "admin/tenants/confirm_deletion.html"
    content = response.content.decode()
    assert "Type the tenant&#x27;s slug to confirm" in content or "Type the tenant's slug to confirm" in content
    assert "t_alpha" in content
    assert not Tenant.objects.get(pk=tenant_a.tenant.pk).is_deleted


@pytest.mark.parametrize("typed", ["", "ALPHA", "beta", "alpha-"])
def test_admin_request_deletion_without_the_slug_typed_schedules_nothing(staff_client, tenant_a, typed):
    response = _run_action(staff_client, "request_deletion", tenant_a, confirm_slug=typed, grace_days="30")

    assert response.status_code == 200
    assert response.templates[0].name == "admin/tenants/confirm_deletion.html"
    assert not Tenant.objects.get(pk=tenant_a.tenant.pk).is_deleted
    assert _staff_events("tenant.deletion_requested", "alpha") == []
    assert signed_in_client(tenant_a).get("/").status_code == 200


def test_admin_request_deletion_with_the_slug_typed_schedules_it(staff_client, tenant_a):
    with time_machine.travel(FROZEN_NOW, tick=False):
        response = _run_action(staff_client, "request_deletion", tenant_a, confirm_slug="alpha", grace_days="7")

    assert response.status_code == 200
    assert any(message.startswith("alpha is offline") for message in _messages(response))
    stored = Tenant.objects.get(pk=tenant_a.tenant.pk)
    assert stored.deletion_requested_at == FROZEN_NOW
    assert stored.purge_after == FROZEN_NOW + timedelta(days=7)
    assert len(_staff_events("tenant.deletion_requested", "alpha")) == 1
    assert client_for(tenant_a.host).get("/accounts/login/").status_code == 404
    assert schema_exists("t_alpha")  # dropped only after the grace period


def test_admin_request_deletion_refuses_several_tenants_at_once(staff_client, tenant_a, tenant_b):
    response = _run_action(staff_client, "request_deletion", tenant_a, tenant_b, confirm_slug="alpha", grace_days="0")

    assert "Delete one tenant at a time." in _messages(response)
    assert not Tenant.objects.filter(deletion_requested_at__isnull=False).exists()


def test_admin_restore_action_brings_the_tenant_back(staff_client, tenant_a):
    _run_action(staff_client, "request_deletion", tenant_a, confirm_slug="alpha", grace_days="30")

    response = _run_action(staff_client, "restore", tenant_a)

    assert "Restored 1 tenant(s)." in _messages(response)
    assert not Tenant.objects.get(pk=tenant_a.tenant.pk).is_deleted
    assert client_for(tenant_a.host).get("/accounts/login/").status_code == 200


def test_admin_purge_action_refused_during_the_grace_period(staff_client, tenant_a):
    _run_action(staff_client, "request_deletion", tenant_a, confirm_slug="alpha", grace_days="30")

    response = _run_action(staff_client, "purge", tenant_a)

    assert response.status_code == 200
    assert _messages(response) == ["alpha: Only a tenant whose deletion grace period has ended can be purged."]
    assert schema_exists("t_alpha")
    assert Tenant.objects.filter(pk=tenant_a.tenant.pk).exists()


def test_admin_restore_of_a_live_tenant_shows_an_error(staff_client, tenant_a):
    response = _run_action(staff_client, "restore", tenant_a)

    assert response.status_code == 200
    assert _messages(response) == ["alpha: This tenant is not scheduled for deletion."]


# --- Who reaches /admin/ --------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/admin/", CHANGELIST])
def test_admin_anonymous_visitors_are_sent_to_the_admin_login(db, path):
    response = client_for("localhost").get(path)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_admin_non_staff_public_user_cannot_reach_admin(two_tenants, db):
    client = _client_for_user(_staff("customer@agentry.test", is_superuser=False, is_staff=False))

    for path in ("/admin/", CHANGELIST):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/admin/login/"), path


def test_admin_non_staff_user_cannot_sign_in_to_admin(two_tenants, db):
    _staff("customer@agentry.test", is_superuser=False, is_staff=False)
    client = client_for("localhost")

    response = client.post("/admin/login/?next=/admin/", {"username": "customer@agentry.test", "password": PASSWORD})

    assert response.status_code == 200
    assert client.get("/admin/").status_code == 302


def test_admin_staff_without_tenant_permissions_cannot_act_on_tenants(two_tenants, db, tenant_a):
    client = _client_for_user(_staff("junior@agentry.test", is_superuser=False, is_staff=True))

    assert client.get("/admin/").status_code == 200
    assert client.get(CHANGELIST).status_code == 403
    assert client.post(CHANGELIST, {"action": "suspend", ACTION_CHECKBOX_NAME: [tenant_a.tenant.pk]}).status_code == 403
    assert _status(tenant_a) == TenantStatus.ACTIVE


def test_admin_staff_signs_in_with_password(two_tenants, db):
    _staff("boss@agentry.test")
    client = client_for("localhost")

    response = client.post("/admin/login/?next=/admin/", {"username": "boss@agentry.test", "password": PASSWORD})

    assert response.status_code == 302
    assert client.get(CHANGELIST).status_code == 200


def test_admin_edit_goes_through_service_and_is_audited(staff_client, tenant_b):
    url = f"/admin/tenants/tenant/{tenant_b.tenant.pk}/change/"
    form = staff_client.get(url).context["adminform"].form
    data = {name: form.initial.get(name) or "" for name in form.fields}
    data.update(
        name="Beta Renamed",
        plan=Plan.objects.get(code="professional").pk,  # read-only: the subscription owns it
        **{"domains-TOTAL_FORMS": "0", "domains-INITIAL_FORMS": "0"},
    )
    response = staff_client.post(url, data)

    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    tenant = Tenant.objects.get(pk=tenant_b.tenant.pk)
    assert (tenant.name, tenant.plan.code) == ("Beta Renamed", "starter")
    event = AuditEvent.objects.get(action="tenant.updated", tenant_slug="beta")
    assert event.actor_type == ActorType.STAFF
    assert event.data["changes"] == {"name": ["Beta Ltd", "Beta Renamed"]}


def test_admin_tenant_change_page_keeps_plan_and_trial_end_read_only_for_subscribed_tenants(staff_client, tenant_b):
    form = staff_client.get(f"{CHANGELIST}{tenant_b.tenant.pk}/change/").context["adminform"].form

    assert "plan" not in form.fields
    assert "trial_ends_at" not in form.fields


def test_admin_overview_hidden_from_staff_without_tenant_permission(two_tenants, db):
    viewer = _client_for_user(_staff("plain-staff@agentry.test", is_staff=True, is_superuser=False))
    response = viewer.get("/admin/")
    assert response.status_code == 200
    assert b"platform-overview" not in response.content


def test_admin_overview_counts_tenants_for_superusers(staff_client):
    response = staff_client.get("/admin/")
    overview = response.context["overview"]
    assert overview.total >= 2
    assert b"platform-overview" in response.content
