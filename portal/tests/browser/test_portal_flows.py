"""What a person sees in Chromium: signup, the portal pages, invitations, locks and roles."""

from __future__ import annotations

import re
import time

import pytest
from django.core import mail
from django_tenants.utils import schema_context
from playwright.sync_api import Browser, Page, expect

from accounts.models import Role, User
from audit.services import Actor
from conftest import PASSWORD
from portal.tests.browser.conftest import LiveSite, add_member, new_visitor, provision_tenant, sign_in, unique
from tenants.models import Domain, Tenant
from tenants.services import tenant_suspend

pytestmark = pytest.mark.browser

INVITATION_LINK = re.compile(r"https?://\S+/accounts/invitations/\S+/")


def _invitation_link_for(email: str) -> str:
    sent = [message for message in mail.outbox if message.to == [email]]
    assert len(sent) == 1, f"expected one invitation email to {email}, got {len(sent)}"
    match = INVITATION_LINK.search(str(sent[0].body))
    assert match, sent[0].body
    return match.group(0)


def test_signup_then_invite_a_teammate_who_joins(page: Page, chromium: Browser, site: LiveSite) -> None:
    slug = unique("signup")
    company = f"Signup {slug[-8:]} Corp"
    owner_email = f"founder@{slug}.test"
    teammate_email = f"teammate@{slug}.test"

    page.goto(f"{site.public_url}/signup/")
    page.get_by_label("Company name").fill(company)
    page.get_by_label("Workspace address").fill(slug)
    page.get_by_label("Your work email").fill(owner_email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Plan").select_option("starter")
    started = time.perf_counter()
    page.get_by_role("button", name="Create workspace").click()
    page.wait_for_url(site.tenant_url(slug, "/"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Welcome, {owner_email}")
    print(f"\nsignup submit → signed-in dashboard: {time.perf_counter() - started:.3f} s")

    expect(page.locator(".brand")).to_have_text(company)
    expect(page.get_by_role("status")).to_contain_text(f"Welcome to {company}! Your trial has started.")
    expect(page.get_by_text("Your trial ends on")).to_be_visible()
    page.screenshot(path="/tmp/agentry-dashboard.png", full_page=True)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Team").click()
    expect(page.get_by_role("heading", name="Invite a teammate")).to_be_visible()
    page.get_by_label("Email", exact=True).fill(teammate_email)
    page.get_by_label("Role", exact=True).select_option("admin")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_role("status")).to_contain_text(f"Invitation sent to {teammate_email}.")
    pending = page.locator(".card", has=page.get_by_role("heading", name="Pending invitations"))
    expect(pending.get_by_role("row", name=teammate_email)).to_contain_text("Admin")
    expect(pending.get_by_role("row", name=teammate_email)).to_contain_text(owner_email)
    page.screenshot(path="/tmp/agentry-team.png", full_page=True)

    link = _invitation_link_for(teammate_email)
    assert link.startswith(site.tenant_url(slug, "/accounts/invitations/"))
    teammate_context = new_visitor(chromium)
    try:
        teammate = teammate_context.new_page()
        teammate.goto(link)
        expect(teammate.get_by_role("heading", level=1)).to_have_text(f"Join {company}")
        expect(teammate.get_by_text(f"You were invited as Admin with {teammate_email}")).to_be_visible()
        teammate.get_by_label("Full name").fill("Tess Mate")
        teammate.get_by_label("Password", exact=True).fill("another-long-passphrase-42")
        teammate.get_by_label("Confirm password").fill("another-long-passphrase-42")
        teammate.get_by_role("button", name="Join the team").click()
        teammate.wait_for_url(site.tenant_url(slug, "/"))
        expect(teammate.get_by_role("heading", level=1)).to_have_text("Welcome, Tess")
        expect(teammate.get_by_role("status")).to_contain_text(f"Welcome to {company}!")
        expect(teammate.locator(".user-menu")).to_contain_text(f"{teammate_email} · Admin")
    finally:
        teammate_context.close()

    page.reload()
    members = page.locator(".card", has=page.get_by_role("heading", name="Members"))
    expect(members.get_by_role("row", name=teammate_email)).to_contain_text("Tess Mate")
    expect(members.get_by_role("row", name=teammate_email)).to_contain_text("Admin")
    expect(members.get_by_role("row", name=owner_email)).to_contain_text("Owner")
    expect(page.get_by_text("No pending invitations.")).to_be_visible()


def test_signup_with_a_reserved_address_shows_the_reason_and_creates_nothing(page: Page, site: LiveSite) -> None:
    company = unique("Reserved Co")
    page.goto(f"{site.public_url}/signup/")
    page.get_by_label("Company name").fill(company)
    page.get_by_label("Workspace address").fill("admin")
    page.get_by_label("Your work email").fill(f"{unique('someone')}@example.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create workspace").click()

    expect(page.get_by_text("“admin” is reserved. Please choose another address.")).to_be_visible()
    assert page.url == f"{site.public_url}/signup/"
    expect(page.get_by_label("Company name")).to_have_value(company)
    assert not Tenant.objects.filter(name=company).exists()
    assert not Domain.objects.filter(domain="admin.localhost").exists()


def test_every_portal_page_renders_for_a_signed_in_owner(page: Page, site: LiveSite) -> None:
    workspace = provision_tenant(name_prefix="pages")
    login = page.goto(site.tenant_url(workspace.slug, "/accounts/login/"))
    assert login is not None and login.status == 200
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Sign in to {workspace.tenant.name}")
    sign_in(page, site, slug=workspace.slug, email=workspace.owner_email)

    pages = {
        "/": f"Welcome, {workspace.owner_email}",
        "/team/": "Team",
        "/settings/": "Account settings",
        "/settings/api-keys/": "API keys",
        "/audit-log/": "Audit log",
        "/billing/": "Billing",
        "/accounts/password/reset/": "Password Reset",
        "/accounts/2fa/": "Two-Factor Authentication",
    }
    for path, heading in pages.items():
        response = page.goto(site.tenant_url(workspace.slug, path))
        assert response is not None and response.status == 200, path
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        expect(page.locator(".brand")).to_have_text(workspace.tenant.name)


def test_suspended_workspace_explains_the_lock_and_keeps_billing_open(page: Page, site: LiveSite) -> None:
    workspace = provision_tenant(name_prefix="locked")
    tenant_suspend(tenant=workspace.tenant, actor=Actor.system("browser-tests"), reason="unpaid invoice")

    sign_in_page = page.goto(site.tenant_url(workspace.slug, "/accounts/login/"))
    assert sign_in_page is not None and sign_in_page.status == 200
    page.get_by_label("Email").fill(workspace.owner_email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(site.tenant_url(workspace.slug, "/"))

    expect(page.get_by_role("heading", level=1)).to_have_text("This workspace is suspended")
    expect(page.get_by_text("usually because of an unpaid invoice")).to_be_visible()
    team = page.goto(site.tenant_url(workspace.slug, "/team/"))
    assert team is not None and team.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("This workspace is suspended")

    page.get_by_role("link", name="Go to billing").click()
    page.wait_for_url(site.tenant_url(workspace.slug, "/billing/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Billing")
    expect(page.get_by_text("Your workspace is locked.")).to_be_visible()
    expect(page.locator("#billing-status")).to_have_text("Suspended")


def test_viewer_sees_the_team_but_no_invite_form(page: Page, site: LiveSite) -> None:
    workspace = provision_tenant(name_prefix="viewers")
    viewer_email = add_member(workspace, role=Role.VIEWER)
    sign_in(page, site, slug=workspace.slug, email=viewer_email)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Team").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Team")
    expect(page.get_by_role("row", name=viewer_email)).to_contain_text("Viewer")
    expect(page.get_by_role("row", name=workspace.owner_email)).to_contain_text("Owner")
    expect(page.get_by_role("heading", name="Invite a teammate")).to_have_count(0)
    expect(page.get_by_role("button", name="Send invitation")).to_have_count(0)
    expect(page.get_by_role("button", name="Change role")).to_have_count(0)
    with schema_context(workspace.tenant.schema_name):
        assert User.objects.get(email=viewer_email).role == Role.VIEWER
