"""API keys in Chromium: create a key, copy its secret, call the API with it, revoke it, audit it."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import Browser, Page, expect

from portal.tests.browser.conftest import LiveSite, new_visitor, provision_tenant, sign_in

pytestmark = pytest.mark.browser

KEY_FORMAT = re.compile(r"agk_live_[0-9A-Za-z]{38}")


def _call_me(site: LiveSite, *, slug: str, secret: str) -> tuple[int, dict]:
    """GET /api/v1/me over real HTTP. Python cannot resolve *.localhost, so connect to 127.0.0.1
    and name the tenant host in the Host header, as a browser would."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{site.port}/api/v1/me",
        headers={"Host": f"{slug}.localhost:{site.port}", "Authorization": f"Bearer {secret}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_owner_creates_copies_uses_and_revokes_an_api_key(page: Page, site: LiveSite) -> None:
    workspace = provision_tenant(name_prefix="keys")
    sign_in(page, site, slug=workspace.slug, email=workspace.owner_email)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site.tenant_url(workspace.slug, ""))

    page.get_by_role("navigation", name="Main").get_by_role("link", name="API keys").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("API keys")
    expect(page.get_by_text("No active keys yet.")).to_be_visible()
    page.get_by_label("Name", exact=True).fill("Warehouse sync")
    page.get_by_label("agents:read", exact=True).check()
    page.get_by_label("usage:read", exact=True).check()
    page.get_by_role("button", name="Create key").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("“Warehouse sync” is ready")
    expect(page.get_by_role("alert")).to_contain_text("you won't see it again")
    secret = page.get_by_label("API key", exact=True).input_value()
    assert KEY_FORMAT.fullmatch(secret), secret
    expect(page.get_by_label("Signing secret")).to_have_count(0)
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == secret
    page.screenshot(path="/tmp/agentry-apikey-secret.png", full_page=True)

    status, me = _call_me(site, slug=workspace.slug, secret=secret)
    assert status == 200, me
    assert (me["type"], me["name"], me["scopes"]) == ("api_key", "Warehouse sync", ["agents:read", "usage:read"])
    assert me["tenant"] == workspace.slug

    page.get_by_role("link", name="back to API keys").click()
    row = page.get_by_role("row", name=re.compile("Warehouse sync"))
    expect(row).to_contain_text(f"{secret[:13]}…{secret[-4:]}")
    expect(row).to_contain_text("Active")
    expect(row).to_contain_text(f"by {workspace.owner_email}")
    assert secret not in page.content()
    page.screenshot(path="/tmp/agentry-apikeys.png", full_page=True)

    row.get_by_role("link", name="Revoke").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Revoke “Warehouse sync”?")
    page.get_by_role("button", name="Revoke key").click()
    expect(page.get_by_role("status")).to_contain_text("“Warehouse sync” was revoked.")
    expect(page.get_by_text("No active keys yet.")).to_be_visible()
    page.get_by_label("Show").select_option("all")  # htmx swaps the list in place, no button needed
    expect(page.get_by_role("row", name=re.compile("Warehouse sync"))).to_contain_text("Revoked")
    assert page.url.endswith("/settings/api-keys/?status=all")

    status, problem = _call_me(site, slug=workspace.slug, secret=secret)
    assert status == 401, problem
    assert problem["code"] == "api_key_revoked"

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit log").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit log")
    events = page.locator("tbody")
    expect(events.get_by_role("row").filter(has_text="api_key.revoked")).to_contain_text("Warehouse sync")
    expect(events.get_by_role("row").filter(has_text="api_key.created")).to_contain_text(workspace.owner_email)
    page.screenshot(path="/tmp/agentry-audit.png", full_page=True)

    page.get_by_label("Action").select_option("api_key.")
    page.get_by_role("button", name="Filter").click()
    expect(events.get_by_role("row")).to_have_count(2)
    events.get_by_role("link", name=workspace.owner_email).first.click()
    expect(page.get_by_label("Actor")).to_have_value(workspace.owner_email)
    expect(page.get_by_label("Action")).to_have_value("api_key.")
    expect(events.get_by_role("row")).to_have_count(2)


def test_api_key_secret_page_works_without_javascript(chromium: Browser, site: LiveSite) -> None:
    workspace = provision_tenant(name_prefix="nojs")
    visitor = new_visitor(chromium, javascript=False)
    try:
        page = visitor.new_page()
        sign_in(page, site, slug=workspace.slug, email=workspace.owner_email)
        page.goto(site.tenant_url(workspace.slug, "/settings/api-keys/"))
        page.get_by_label("Name", exact=True).fill("Signed webhook relay")
        page.get_by_label("chat", exact=True).check()
        page.get_by_label("Require signed requests").check()
        page.get_by_role("button", name="Create key").click()

        expect(page.get_by_role("heading", level=1)).to_have_text("“Signed webhook relay” is ready")
        assert KEY_FORMAT.fullmatch(page.get_by_label("API key", exact=True).input_value())
        assert page.get_by_label("Signing secret").input_value().startswith("whsk_")
        expect(page.get_by_role("button", name="Copy")).to_have_count(0)  # hidden: no clipboard without JS

        page.get_by_role("link", name="back to API keys").click()
        page.get_by_label("Show").select_option("revoked")
        page.get_by_role("button", name="Filter").click()
        expect(page.get_by_text("No keys match this filter.")).to_be_visible()
    finally:
        visitor.close()
