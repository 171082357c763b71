"""Portal pages through HTTP: team permissions, the invitation flow, signup → portal hand-off."""

from __future__ import annotations

import re

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django_tenants.utils import schema_context, schema_exists

from accounts.handoff import handoff_token_issue
from accounts.models import Invitation, Role, User
from accounts.services import invitation_create
from accounts.tests.factories import UserFactory
from audit.models import AuditEvent
from conftest import PASSWORD, client_for, make_member, signed_in_client
from tenants.models import Domain, Tenant, TenantStatus

NEW_PASSWORD = "another-long-passphrase-42"


def _user(tenant_fixture, email: str) -> User | None:
    with schema_context(tenant_fixture.schema):
        return User.objects.filter(email=email).first()


def _open_invitations(tenant_fixture) -> list[str]:
    with schema_context(tenant_fixture.schema):
        return list(
            Invitation.objects.filter(accepted_at__isnull=True, revoked_at__isnull=True).values_list("email", flat=True)
        )


# --- Team page and role permissions ---------------------------------------------------------


@pytest.mark.parametrize("role", [Role.OWNER, Role.ADMIN])
def test_team_page_managers_see_the_invite_form_and_controls(tenant_a, role):
    make_member(tenant_a, email="manager@alpha.test", role=role)

    response = signed_in_client(tenant_a, "manager@alpha.test").get("/team/")

    assert response.status_code == 200
    assert b"Send invitation" in response.content
    assert b"Change role" in response.content


@pytest.mark.parametrize("role", [Role.MEMBER, Role.VIEWER])
def test_team_page_members_and_viewers_see_the_team_without_controls(tenant_a, role):
    make_member(tenant_a, email="reader@alpha.test", role=role)

    response = signed_in_client(tenant_a, "reader@alpha.test").get("/team/")

    assert response.status_code == 200
    assert tenant_a.owner_email.encode() in response.content
    assert b"Send invitation" not in response.content
    assert b"Change role" not in response.content
    assert b"Remove" not in response.content


@pytest.mark.parametrize("role", [Role.MEMBER, Role.VIEWER])
def test_team_actions_are_forbidden_for_members_and_viewers(tenant_a, role):
    make_member(tenant_a, email="reader@alpha.test", role=role)
    teammate = make_member(tenant_a, email="teammate@alpha.test", role=Role.MEMBER)
    with schema_context(tenant_a.schema):
        owner = User.objects.get(email=tenant_a.owner_email)
        invitation = invitation_create(email="pending@alpha.test", role=Role.MEMBER, invited_by=owner).invitation
    client = signed_in_client(tenant_a, "reader@alpha.test")

    invite = client.post("/team/", {"email": "intruder@example.test", "role": Role.OWNER})
    change = client.post(f"/team/members/{teammate.pk}/role/", {"role": Role.OWNER})
    remove = client.post(f"/team/members/{teammate.pk}/remove/")
    revoke = client.post(f"/team/invitations/{invitation.pk}/revoke/")

    assert [invite.status_code, change.status_code, remove.status_code, revoke.status_code] == [403] * 4
    assert b"does not allow this" in invite.content
    assert len(mail.outbox) == 0
    assert _open_invitations(tenant_a) == ["pending@alpha.test"]
    stored = _user(tenant_a, "teammate@alpha.test")
    assert (stored.role, stored.is_active) == (Role.MEMBER, True)


def test_team_actions_require_sign_in(tenant_a):
    client = client_for(tenant_a.host)

    for path in ("/team/", "/team/members/1/role/", "/team/members/1/remove/", "/team/invitations/1/revoke/"):
        response = client.post(path, {"role": Role.VIEWER, "email": "x@example.test"})
        assert response.status_code == 302, path
        assert response["Location"].startswith("/accounts/login/"), path


def test_team_owner_changes_a_role_and_removes_a_teammate(tenant_a):
    teammate = make_member(tenant_a, email="teammate@alpha.test", role=Role.MEMBER)
    client = signed_in_client(tenant_a)

    changed = client.post(f"/team/members/{teammate.pk}/role/", {"role": Role.ADMIN}, follow=True)
    assert _user(tenant_a, "teammate@alpha.test").role == Role.ADMIN
    assert b"teammate@alpha.test is now admin." in changed.content

    removed = client.post(f"/team/members/{teammate.pk}/remove/", follow=True)
    assert _user(tenant_a, "teammate@alpha.test").is_active is False
    assert b"was removed from the team" in removed.content
    assert b"teammate@alpha.test" not in client.get("/team/").content.split(b"Pending invitations")[0]


def test_team_admin_cannot_make_an_owner_and_is_told_why(tenant_a):
    make_member(tenant_a, email="admin@alpha.test", role=Role.ADMIN)
    teammate = make_member(tenant_a, email="teammate@alpha.test", role=Role.MEMBER)

    response = signed_in_client(tenant_a, "admin@alpha.test").post(
        f"/team/members/{teammate.pk}/role/", {"role": Role.OWNER}, follow=True
    )

    assert response.status_code == 200
    assert b"Your role does not allow this." in response.content
    assert _user(tenant_a, "teammate@alpha.test").role == Role.MEMBER


def test_team_last_owner_cannot_demote_themselves_through_the_page(tenant_a):
    owner = _user(tenant_a, tenant_a.owner_email)

    response = signed_in_client(tenant_a).post(f"/team/members/{owner.pk}/role/", {"role": Role.VIEWER}, follow=True)

    assert b"The last owner cannot be demoted" in response.content
    assert _user(tenant_a, tenant_a.owner_email).role == Role.OWNER


def test_team_invite_with_bad_email_rerenders_with_400(tenant_a):
    response = signed_in_client(tenant_a).post("/team/", {"email": "not-an-email", "role": Role.MEMBER})

    assert response.status_code == 400
    assert b"Enter a valid email address." in response.content
    assert len(mail.outbox) == 0


# --- Invitation flow ------------------------------------------------------------------------


def _invite_link(message) -> str:
    match = re.search(r"http://\S+/accounts/invitations/\S+/", message.body)
    assert match, message.body
    return match.group(0)


def test_invite_flow_email_link_lets_the_invitee_join_signed_in(tenant_a):
    owner_client = signed_in_client(tenant_a)

    sent = owner_client.post("/team/", {"email": "Newbie@Example.test", "role": Role.MEMBER})

    assert sent.status_code == 302
    [message] = mail.outbox
    assert message.to == ["newbie@example.test"]
    assert tenant_a.tenant.name in message.subject
    link = _invite_link(message)
    assert link.startswith(f"http://{tenant_a.host}/accounts/invitations/")
    assert link in message.alternatives[0][0]  # the HTML part carries the same link
    assert b"newbie@example.test" in owner_client.get("/team/").content  # listed as pending

    invitee = client_for(tenant_a.host)
    path = link.removeprefix(f"http://{tenant_a.host}")
    page = invitee.get(path)
    assert page.status_code == 200
    assert f"Join {tenant_a.tenant.name}".encode() in page.content

    joined = invitee.post(path, {"full_name": "New Bie", "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})

    assert joined.status_code == 302
    assert joined["Location"] == "/"
    dashboard = invitee.get("/")
    assert dashboard.status_code == 200
    assert b"newbie@example.test" in dashboard.content
    user = _user(tenant_a, "newbie@example.test")
    assert (user.role, user.full_name) == (Role.MEMBER, "New Bie")
    assert invitee.get(path).status_code == 404  # the link is spent


def test_invite_flow_accept_page_rejects_mismatched_passwords(tenant_a):
    with schema_context(tenant_a.schema):
        owner = User.objects.get(email=tenant_a.owner_email)
        token = invitation_create(email="typo@example.test", role=Role.MEMBER, invited_by=owner).token
    client = client_for(tenant_a.host)

    response = client.post(
        f"/accounts/invitations/{token}/", {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD + "x"}
    )

    assert response.status_code == 400
    assert b"The two passwords do not match." in response.content
    assert _user(tenant_a, "typo@example.test") is None


def test_invite_flow_accept_page_rejects_weak_password(tenant_a):
    with schema_context(tenant_a.schema):
        owner = User.objects.get(email=tenant_a.owner_email)
        token = invitation_create(email="weak@example.test", role=Role.MEMBER, invited_by=owner).token

    response = client_for(tenant_a.host).post(
        f"/accounts/invitations/{token}/", {"password": "password", "password_confirm": "password"}
    )

    assert response.status_code == 400
    assert b"too common" in response.content
    assert _user(tenant_a, "weak@example.test") is None


def test_invite_flow_link_of_tenant_a_is_invalid_on_tenant_b(tenant_a, tenant_b):
    with schema_context(tenant_a.schema):
        owner = User.objects.get(email=tenant_a.owner_email)
        token = invitation_create(email="wanderer@example.test", role=Role.MEMBER, invited_by=owner).token

    response = client_for(tenant_b.host).post(
        f"/accounts/invitations/{token}/", {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}
    )

    assert response.status_code == 404
    assert b"Invitation not valid" in response.content
    assert _user(tenant_b, "wanderer@example.test") is None


def test_invite_flow_revoked_link_shows_invalid_page(tenant_a):
    client = signed_in_client(tenant_a)
    client.post("/team/", {"email": "maybe@example.test", "role": Role.VIEWER})
    link = _invite_link(mail.outbox[0]).removeprefix(f"http://{tenant_a.host}")
    with schema_context(tenant_a.schema):
        invitation = Invitation.objects.get(email="maybe@example.test")

    client.post(f"/team/invitations/{invitation.pk}/revoke/")

    assert client_for(tenant_a.host).get(link).status_code == 404


# --- Signup on the public host --------------------------------------------------------------


def _signup_data(**overrides: str) -> dict[str, str]:
    return {
        "company_name": "Initech",
        "slug": "initech",
        "email": "peter@initech.test",
        "password": NEW_PASSWORD,
        "plan": "professional",
        **overrides,
    }


def test_signup_page_renders_with_plans(public_client, db):
    response = public_client.get("/signup/?plan=enterprise")

    assert response.status_code == 200
    assert b"Create your workspace" in response.content
    assert b'value="enterprise" selected' in response.content


def test_signup_creates_a_trialing_tenant_and_hands_the_owner_to_the_portal(public_client, db):
    response = public_client.post("/signup/", _signup_data())

    assert response.status_code == 302
    match = re.fullmatch(r"http://initech\.localhost/accounts/handoff/\?token=(\S+)", response["Location"])
    assert match, response["Location"]
    tenant = Tenant.objects.get(slug="initech")
    assert (tenant.name, tenant.status, tenant.plan.code) == ("Initech", TenantStatus.TRIALING, "professional")
    assert tenant.trial_ends_at is not None
    assert schema_exists("t_initech")

    portal = client_for("initech.localhost")
    landed = portal.get(f"/accounts/handoff/?token={match.group(1)}")

    assert landed.status_code == 302
    assert landed["Location"] == "/"
    dashboard = portal.get("/")
    assert dashboard.status_code == 200
    assert b"peter@initech.test" in dashboard.content
    assert b"Initech" in dashboard.content
    assert _user_in("t_initech", "peter@initech.test").role == Role.OWNER


def _user_in(schema: str, email: str) -> User:
    with schema_context(schema):
        return User.objects.get(email=email)


def test_signup_handoff_token_is_single_use(public_client, db):
    location = public_client.post("/signup/", _signup_data())["Location"]
    path = location.removeprefix("http://initech.localhost")
    assert _signed_in_after(client_for("initech.localhost"), path)

    replay = client_for("initech.localhost")
    response = replay.get(path)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert replay.get("/").status_code == 302


def _signed_in_after(client, path: str) -> bool:
    client.get(path)
    return client.get("/").status_code == 200


def test_signup_handoff_token_is_refused_on_another_tenant(public_client, tenant_b):
    location = public_client.post("/signup/", _signup_data())["Location"]
    path = location.removeprefix("http://initech.localhost")

    elsewhere = client_for(tenant_b.host)
    response = elsewhere.get(path)

    assert response["Location"].startswith("/accounts/login/")
    assert elsewhere.get("/").status_code == 302
    # The refused attempt did not burn the token for its rightful tenant.
    assert _signed_in_after(client_for("initech.localhost"), path)


def test_signup_handoff_forged_token_is_refused(tenant_a):
    client = client_for(tenant_a.host)

    response = client.get("/accounts/handoff/?token=forged")

    assert response["Location"].startswith("/accounts/login/")
    assert client.get("/").status_code == 302


def test_signup_handoff_token_for_a_tenant_user_only_signs_in_on_that_tenant(tenant_a, tenant_b):
    owner_a = _user(tenant_a, tenant_a.owner_email)
    token = handoff_token_issue(schema_name=tenant_a.schema, user_id=owner_a.pk)

    on_b = client_for(tenant_b.host)
    on_b.get(f"/accounts/handoff/?token={token}")

    assert on_b.get("/").status_code == 302


SIGNUP_ERRORS = {
    "reserved slug": ({"slug": "admin"}, "“admin” is reserved. Please choose another address."),
    "duplicate slug": ({"slug": "alpha"}, "The address “alpha” is already taken."),
    "malformed slug": ({"slug": "bad--slug"}, "Use lowercase letters, digits and single hyphens"),
    "short slug": ({"slug": "ab"}, "Ensure this value has at least 3 characters"),
    "bad email": ({"email": "peter-at-initech"}, "Enter a valid email address."),
    "overlong email": ({"email": "p" * 64 + "@" + ".".join(["i" * 60] * 4) + ".test"}, "Enter a valid email address."),
    "weak password": ({"password": "password"}, "This password is too common."),
    "short password": ({"password": "short"}, "Ensure this value has at least 8 characters"),
    "unknown plan": ({"plan": "platinum"}, "Select a valid choice."),
    "missing company": ({"company_name": ""}, "This field is required."),
}


@pytest.mark.parametrize(("overrides", "message"), SIGNUP_ERRORS.values(), ids=SIGNUP_ERRORS.keys())
def test_signup_errors_rerender_the_form_with_400_and_create_nothing(public_client, tenant_a, overrides, message):
    tenants_before = Tenant.objects.count()
    domains_before = Domain.objects.count()

    response = public_client.post("/signup/", _signup_data(**overrides))

    assert response.status_code == 400
    assert message in response.content.decode()
    assert b"Create your workspace" in response.content
    assert (Tenant.objects.count(), Domain.objects.count()) == (tenants_before, domains_before)
    assert not schema_exists("t_initech")


@pytest.mark.parametrize("data", [{}, dict.fromkeys(_signup_data(), "")], ids=["no fields", "empty fields"])
def test_signup_with_missing_fields_names_every_one(public_client, db, data):
    tenants_before = Tenant.objects.count()

    response = public_client.post("/signup/", data)

    assert response.status_code == 400
    assert response.content.decode().count("This field is required.") == 5
    assert Tenant.objects.count() == tenants_before


def test_signup_writes_nothing_to_the_audit_trail_on_failure(public_client, tenant_a):
    public_client.post("/signup/", _signup_data(password="password"))

    assert not AuditEvent.objects.filter(tenant_slug="initech").exists()


# --- Pages for signed-in users --------------------------------------------------------------

PORTAL_PAGES = {"/": b"Welcome", "/settings/": b"Account settings", "/billing/": b"Current plan", "/team/": b"Members"}


@pytest.mark.parametrize(("path", "text"), PORTAL_PAGES.items(), ids=PORTAL_PAGES.keys())
def test_portal_pages_render_for_a_signed_in_user(tenant_a, path, text):
    response = signed_in_client(tenant_a).get(path)

    assert response.status_code == 200
    assert text in response.content
    assert tenant_a.tenant.name.encode() in response.content


@pytest.mark.parametrize("role", [Role.MEMBER, Role.VIEWER])
@pytest.mark.parametrize("path", ["/", "/settings/", "/billing/"])
def test_portal_pages_render_for_every_role(tenant_a, role, path):
    make_member(tenant_a, email="someone@alpha.test", role=role)

    assert signed_in_client(tenant_a, "someone@alpha.test").get(path).status_code == 200


@pytest.mark.parametrize("path", PORTAL_PAGES.keys())
def test_portal_pages_send_anonymous_visitors_to_sign_in(tenant_a, path):
    response = client_for(tenant_a.host).get(path)

    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={path}"


def test_portal_trialing_tenant_shows_its_trial_end(tenant_b):
    response = signed_in_client(tenant_b).get("/")

    assert b"Your trial ends on" in response.content


def test_portal_settings_saves_the_profile(tenant_a):
    client = signed_in_client(tenant_a)

    response = client.post("/settings/", {"full_name": "  Ada Owner  "}, follow=True)

    assert b"Your profile was saved." in response.content
    assert _user(tenant_a, tenant_a.owner_email).full_name == "Ada Owner"


def test_portal_removed_member_loses_access_on_the_next_request(tenant_a):
    teammate = make_member(tenant_a, email="leaving@alpha.test", role=Role.MEMBER)
    teammate_client = signed_in_client(tenant_a, "leaving@alpha.test")
    assert teammate_client.get("/").status_code == 200

    signed_in_client(tenant_a).post(f"/team/members/{teammate.pk}/remove/")

    assert teammate_client.get("/").status_code == 302


def test_portal_sign_in_with_password_lands_on_the_dashboard(tenant_a):
    with schema_context(tenant_a.schema):
        UserFactory(email="typist@alpha.test", password=PASSWORD)
    client = client_for(tenant_a.host)

    response = client.post("/accounts/login/", {"login": "typist@alpha.test", "password": PASSWORD})

    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_signup_owner_confirms_their_email_from_the_portal(public_client, db):
    location = public_client.post("/signup/", _signup_data())["Location"]
    portal = client_for("initech.localhost")
    portal.get(location.removeprefix("http://initech.localhost"))
    with schema_context("t_initech"):
        assert not EmailAddress.objects.get(email="peter@initech.test").verified

    [message] = mail.outbox
    assert message.to == ["peter@initech.test"]
    match = re.search(r"http://initech\.localhost(/accounts/confirm-email/\S+/)", message.body)
    assert match, message.body
    portal.post(match.group(1))

    with schema_context("t_initech"):
        assert EmailAddress.objects.get(email="peter@initech.test").verified


def test_signup_slug_check_reports_taken_reserved_and_available(public_client, tenant_a):
    taken = public_client.get("/signup/check-slug/", {"slug": tenant_a.tenant.slug})
    reserved = public_client.get("/signup/check-slug/", {"slug": "admin"})
    free = public_client.get("/signup/check-slug/", {"slug": "brand-new-co"})
    assert "already taken" in taken.content.decode()
    assert "reserved" in reserved.content.decode()
    assert "Available" in free.content.decode() and "brand-new-co.localhost" in free.content.decode()


def test_signup_throttled_per_client_ip_after_the_hourly_limit(public_client, settings, db):
    settings.SIGNUP_RATE_LIMIT_PER_HOUR = 1
    form = {
        "company_name": "One Co",
        "slug": "throttle-one",
        "email": "a@one.test",
        "password": "a-long-enough-passphrase",
        "plan": "starter",
    }
    assert public_client.post("/signup/", form).status_code == 302
    second = public_client.post("/signup/", {**form, "slug": "throttle-two", "email": "b@two.test"})
    assert second.status_code == 429
    assert "Too many signups" in second.content.decode()
    assert not Tenant.objects.filter(slug="throttle-two").exists()
    other_ip = public_client.post(
        "/signup/", {**form, "slug": "throttle-three", "email": "c@three.test"}, REMOTE_ADDR="198.51.100.9"
    )
    assert other_ip.status_code == 302
