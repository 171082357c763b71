"""Two tenants, one database: nothing of tenant A is visible or usable from tenant B (or public)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django_tenants.utils import get_public_schema_name, schema_context

from accounts.models import Invitation, Role, User
from accounts.services import invitation_create
from accounts.tests.factories import UserFactory
from audit.models import AuditEvent
from conftest import PASSWORD, client_for, make_member, signed_in_client

SESSION_COOKIE = settings.SESSION_COOKIE_NAME


@pytest.fixture
def tenant_a_data(tenant_a):
    """A teammate, an open invitation and their audit events, all written in tenant A."""
    with schema_context(tenant_a.schema):
        owner = User.objects.get(email=tenant_a.owner_email)
        teammate = UserFactory(email="secret.teammate@alpha.test", role=Role.ADMIN, full_name="Secret Teammate")
        invitation_create(email="secret.invitee@alpha.test", role=Role.MEMBER, invited_by=owner)
    return teammate


def _sign_in(client: Client, email: str, password: str = PASSWORD) -> Client:
    client.post("/accounts/login/", {"login": email, "password": password})
    return client


def _is_signed_in(client: Client) -> bool:
    return client.get("/").status_code == 200


# --- ORM ------------------------------------------------------------------------------------


def test_isolation_orm_tenant_b_sees_none_of_tenant_a_rows(tenant_a, tenant_b, tenant_a_data):
    with schema_context(tenant_a.schema):
        assert User.objects.filter(email="secret.teammate@alpha.test").exists()  # the data is there...
        assert Invitation.objects.filter(email="secret.invitee@alpha.test").exists()
        assert AuditEvent.objects.filter(action="team.invited").exists()

    with schema_context(tenant_b.schema):  # ...and invisible from B
        assert list(User.objects.values_list("email", flat=True)) == [tenant_b.owner_email]
        assert not Invitation.objects.exists()
        assert not AuditEvent.objects.filter(action="team.invited").exists()
        assert not AuditEvent.objects.filter(data__email="secret.invitee@alpha.test").exists()


def test_isolation_orm_public_schema_holds_no_tenant_users_or_invitations(tenant_a, tenant_a_data):
    with schema_context(get_public_schema_name()):
        assert not User.objects.filter(email__in=[tenant_a.owner_email, "secret.teammate@alpha.test"]).exists()
        assert not Invitation.objects.exists()
        assert not AuditEvent.objects.filter(action="team.invited").exists()


def test_isolation_same_email_is_two_independent_people(tenant_a, tenant_b):
    in_a = make_member(tenant_a, email="both@example.test", role=Role.ADMIN)
    with schema_context(tenant_b.schema):
        in_b = UserFactory(email="both@example.test", role=Role.VIEWER, password="a-different-passphrase-9")

    with schema_context(tenant_a.schema):
        stored_a = User.objects.get(email="both@example.test")
    with schema_context(tenant_b.schema):
        stored_b = User.objects.get(email="both@example.test")
    assert (stored_a.pk, stored_a.role) == (in_a.pk, Role.ADMIN)
    assert (stored_b.pk, stored_b.role) == (in_b.pk, Role.VIEWER)
    assert stored_a.check_password(PASSWORD) and not stored_b.check_password(PASSWORD)


# --- Portal ---------------------------------------------------------------------------------


def test_isolation_portal_team_page_lists_only_own_people(tenant_a, tenant_b, tenant_a_data):
    page_a = signed_in_client(tenant_a).get("/team/").content.decode()
    page_b = signed_in_client(tenant_b).get("/team/").content.decode()

    assert "secret.teammate@alpha.test" in page_a and "secret.invitee@alpha.test" in page_a
    assert tenant_b.owner_email in page_b
    for leaked in ("secret.teammate@alpha.test", "Secret Teammate", "secret.invitee@alpha.test", tenant_a.owner_email):
        assert leaked not in page_b


def test_isolation_portal_dashboard_shows_only_own_activity(tenant_a, tenant_b, tenant_a_data):
    dashboard_a = signed_in_client(tenant_a).get("/").content.decode()
    dashboard_b = signed_in_client(tenant_b).get("/").content.decode()

    assert "team.invited" in dashboard_a
    assert "team.invited" not in dashboard_b
    assert "secret.invitee@alpha.test" not in dashboard_b


# --- Admin ----------------------------------------------------------------------------------


@pytest.fixture
def staff_client(db) -> Client:
    with schema_context(get_public_schema_name()):
        staff = User.objects.create_superuser(email="staff@agentry.test", password=PASSWORD)
    client = client_for("localhost")
    client.force_login(staff, backend="django.contrib.auth.backends.ModelBackend")
    return client


def test_isolation_admin_lists_staff_only_never_tenant_users(tenant_a, tenant_a_data, staff_client):
    response = staff_client.get("/admin/accounts/user/")
    searched = staff_client.get("/admin/accounts/user/", {"q": "alpha.test"})

    assert response.status_code == 200
    assert [user.email for user in response.context["cl"].result_list] == ["staff@agentry.test"]
    assert list(searched.context["cl"].result_list) == []


def test_isolation_admin_audit_trail_shows_platform_events_only(tenant_a, tenant_a_data, staff_client):
    response = staff_client.get("/admin/audit/auditevent/")

    actions = {event.action for event in response.context["cl"].result_list}
    assert "team.invited" not in actions
    assert "tenant.created" in actions


@pytest.mark.parametrize("path", ["/admin/", "/admin/login/", "/admin/accounts/user/"])
def test_isolation_tenant_hosts_have_no_admin(tenant_a, path):
    assert client_for(tenant_a.host).get(path).status_code == 404
    assert signed_in_client(tenant_a).get(path).status_code == 404


# --- Sessions and credentials ---------------------------------------------------------------


def test_isolation_session_cookie_of_tenant_a_is_worthless_on_tenant_b(tenant_a, tenant_b):
    on_a = _sign_in(client_for(tenant_a.host), tenant_a.owner_email)
    assert _is_signed_in(on_a)
    stolen = on_a.cookies[SESSION_COOKIE].value

    on_b = client_for(tenant_b.host)
    on_b.cookies[SESSION_COOKIE] = stolen
    response = on_b.get("/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert on_b.get("/team/").status_code == 302


def test_isolation_session_cookie_of_tenant_a_is_worthless_on_the_public_admin(tenant_a):
    on_a = _sign_in(client_for(tenant_a.host), tenant_a.owner_email)

    public = client_for("localhost")
    public.cookies[SESSION_COOKIE] = on_a.cookies[SESSION_COOKIE].value
    response = public.get("/admin/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_isolation_password_of_tenant_a_does_not_sign_in_on_tenant_b(tenant_a, tenant_b):
    on_b = client_for(tenant_b.host)

    response = on_b.post("/accounts/login/", {"login": tenant_a.owner_email, "password": PASSWORD})

    assert response.status_code == 200  # the form again, with an error
    assert not _is_signed_in(on_b)
    assert _is_signed_in(_sign_in(client_for(tenant_a.host), tenant_a.owner_email))  # but fine on A


def test_isolation_staff_users_cannot_sign_in_to_a_tenant_portal(tenant_a):
    with schema_context(get_public_schema_name()):
        User.objects.create_superuser(email="ops@agentry.test", password=PASSWORD)
    on_a = client_for(tenant_a.host)

    response = on_a.post("/accounts/login/", {"login": "ops@agentry.test", "password": PASSWORD})

    assert response.status_code == 200
    assert not _is_signed_in(on_a)


def test_isolation_staff_session_is_worthless_on_a_tenant_host(tenant_a, staff_client):
    assert staff_client.get("/admin/").status_code == 200

    on_a = client_for(tenant_a.host)
    on_a.cookies[SESSION_COOKIE] = staff_client.cookies[SESSION_COOKIE].value

    assert not _is_signed_in(on_a)


def test_isolation_tenant_owner_cannot_sign_in_to_the_public_admin(tenant_a):
    public = client_for("localhost")

    response = public.post("/admin/login/?next=/admin/", {"username": tenant_a.owner_email, "password": PASSWORD})

    assert response.status_code == 200  # login form again
    assert public.get("/admin/").status_code == 302
