"""Usage alerts and notifications in Chromium: an owner sets thresholds, usage crosses them, the
bell counts the notifications, and opening or dismissing them clears it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Role
from alerts.services import usage_thresholds_evaluate
from portal.tests.browser.conftest import LiveSite, add_member, provision_tenant, sign_in

pytestmark = pytest.mark.browser


def test_owner_sets_thresholds_and_works_through_the_alerts_in_notifications(page: Page, site: LiveSite) -> None:
    workspace = provision_tenant(name_prefix="alerts")
    sign_in(page, site, slug=workspace.slug, email=workspace.owner_email)
    nav = page.get_by_role("navigation", name="Main")
    bell = nav.get_by_role("link", name=re.compile("^Notifications"))
    expect(bell).to_have_text("Notifications")  # no count yet

    nav.get_by_role("link", name="Usage alerts").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Usage alerts")
    expect(page.get_by_text("No usage alerts yet.")).to_be_visible()
    thresholds = page.get_by_label("Alert me at (% of a limit)")
    expect(thresholds).to_have_value("50, 80, 100")
    thresholds.fill("50, 50")
    page.get_by_role("button", name="Save thresholds").click()
    expect(page.get_by_text("Each threshold may appear only once.")).to_be_visible()
    page.get_by_label("Alert me at (% of a limit)").fill("25, 75, 100")
    page.get_by_role("button", name="Save thresholds").click()
    expect(page.get_by_role("status")).to_contain_text("Usage alerts will be sent at 25%, 75%, 100%.")

    assert usage_thresholds_evaluate(
        tenant=workspace.tenant, meter="api_calls", used=80_000, limit=100_000, period="2026-11"
    ) == [25, 75]
    page.reload()
    rows = page.get_by_role("row", name=re.compile("API calls"))
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("80,000 / 100,000")
    expect(bell).to_have_text("Notifications 2 unread")
    page.screenshot(path="/tmp/agentry-usage-alerts.png", full_page=True)

    bell.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Notifications")
    expect(page.locator(".notification")).to_have_count(2)
    expect(page.locator(".notification").first).to_contain_text(
        f"{workspace.tenant.name} has used 80,000 of its 100,000 API calls for November 2026."
    )
    page.screenshot(path="/tmp/agentry-notifications.png", full_page=True)
    page.get_by_role("button", name="Open 75% of your API calls limit used").click()
    page.wait_for_url(site.tenant_url(workspace.slug, "/billing/"))
    expect(bell).to_have_text("Notifications 1 unread")

    bell.click()
    page.get_by_role("link", name="Unread", exact=True).click()
    expect(page.locator(".notification")).to_have_count(1)
    page.get_by_role("button", name="Mark all as read").click()
    expect(page.get_by_role("status")).to_contain_text("Marked 1 notification as read.")
    expect(page.get_by_text("You're all caught up: no unread notifications.")).to_be_visible()
    expect(bell).to_have_text("Notifications")
    page.get_by_role("link", name="All", exact=True).click()
    expect(page.locator(".notification")).to_have_count(2)
    expect(page.get_by_role("button", name=re.compile("^Mark as read"))).to_have_count(0)


def test_member_has_an_empty_notifications_page_and_no_alert_settings(page: Page, site: LiveSite) -> None:
    workspace = provision_tenant(name_prefix="alerts-member")
    email = add_member(workspace, role=Role.MEMBER)
    usage_thresholds_evaluate(tenant=workspace.tenant, meter="agents", used=25, limit=25, period="current")
    sign_in(page, site, slug=workspace.slug, email=email)

    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Usage alerts")).to_have_count(0)
    nav.get_by_role("link", name="Notifications").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Notifications")
    expect(page.get_by_text("No notifications yet.")).to_be_visible()
    response = page.goto(site.tenant_url(workspace.slug, "/settings/usage-alerts/"))
    assert response is not None and response.status == 403
