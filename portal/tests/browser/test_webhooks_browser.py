"""Webhooks in Chromium: add an endpoint, copy its secret, send a test, read the delivery log,
replay, disable. Deliveries are attempted in this process (no worker) against a local receiver."""

from __future__ import annotations

import re

import pytest
from django_tenants.utils import schema_context
from playwright.sync_api import Page, expect
from pytest_httpserver import HTTPServer
from standardwebhooks.webhooks import Webhook

from portal.tests.browser.conftest import LiveSite, provision_tenant, sign_in
from webhooks.deliveries import webhook_delivery_attempt
from webhooks.models import DeliveryStatus, WebhookDelivery

pytestmark = pytest.mark.browser


def _attempt_pending(tenant) -> int:  # type: ignore[no-untyped-def]
    """What the worker would do: attempt every pending delivery of the tenant now."""
    with schema_context(tenant.schema_name):
        pending = list(WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).values_list("pk", flat=True))
        for delivery_id in pending:
            webhook_delivery_attempt(tenant=tenant, delivery_id=delivery_id)
    return len(pending)


def test_owner_adds_tests_replays_and_disables_an_endpoint(
    page: Page, site: LiveSite, httpserver: HTTPServer, settings
) -> None:
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True  # the receiver is on localhost
    settings.WEBHOOKS_ALLOW_HTTP = True
    httpserver.expect_request("/hook").respond_with_data("received, thanks")
    workspace = provision_tenant(name_prefix="hooks")
    sign_in(page, site, slug=workspace.slug, email=workspace.owner_email)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Webhooks").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Webhooks")
    expect(page.get_by_text("No endpoints yet.")).to_be_visible()
    page.get_by_label("Endpoint URL").fill(httpserver.url_for("/hook"))
    page.get_by_label("Description").fill("CRM")
    page.get_by_label("lead.created").check()
    page.get_by_role("button", name="Add endpoint").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("The endpoint is ready")
    expect(page.get_by_role("alert")).to_contain_text("you won't see it again")
    secret = page.get_by_label("Signing secret").input_value()
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/]{43}=", secret), secret

    page.get_by_role("link", name="I've saved it: go to the endpoint").click()
    expect(page.get_by_text("Nothing delivered yet.")).to_be_visible()
    page.get_by_role("button", name="Send test event").click()
    expect(page.get_by_role("status")).to_contain_text("test.ping event is on its way")
    assert _attempt_pending(workspace.tenant) == 1

    page.reload()
    log = page.locator("#delivery-log")
    expect(log).to_contain_text("test.ping")
    expect(log).to_contain_text("HTTP 200")
    expect(log).to_contain_text("received, thanks")
    expect(log.get_by_text(re.compile(r"^\d+ ms$"))).to_have_count(1)
    (request, _), *_ = httpserver.log
    assert Webhook(secret).verify(request.get_data(), dict(request.headers))["type"] == "test.ping"

    page.get_by_role("button", name=re.compile("^Replay")).click()
    expect(page.get_by_role("status")).to_contain_text("will be delivered again")
    assert _attempt_pending(workspace.tenant) == 1
    assert len(httpserver.log) == 2

    page.get_by_label("Enabled").uncheck()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="The endpoint was saved.")).to_be_visible()
    expect(page.get_by_text(f"Disabled: Disabled by {workspace.owner_email}.")).to_be_visible()
    expect(page.get_by_role("button", name="Send test event")).to_be_disabled()
    page.screenshot(path="/tmp/agentry-webhooks-endpoint.png", full_page=True)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Webhooks").click()
    expect(page.locator("#endpoint-list")).to_contain_text("Disabled")


def test_members_cannot_open_the_webhooks_page(page: Page, site: LiveSite) -> None:
    from portal.tests.browser.conftest import add_member

    workspace = provision_tenant(name_prefix="hooks-member")
    email = add_member(workspace, role="member")
    sign_in(page, site, slug=workspace.slug, email=email)

    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Webhooks")).to_have_count(0)
    response = page.goto(site.tenant_url(workspace.slug, "/settings/webhooks/"))
    assert response is not None and response.status == 403
