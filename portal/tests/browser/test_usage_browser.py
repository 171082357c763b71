"""The usage page in Chromium: charts, limits, per-key and per-agent tables, costs, the CSV
export and the owner's overage switch; a viewer sees the page without the switch."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Role
from apikeys.tests.factories import IssuedApiKeyFactory
from metering.models import ModelPrice
from portal.tests.browser.conftest import LiveSite, add_member, new_visitor, provision_tenant, sign_in
from usage.meters import Meter
from usage.recorder import usage_record
from usage.rollup import usage_rollup

pytestmark = pytest.mark.browser


def test_owner_reads_usage_exports_csv_and_turns_overage_on(page: Page, site: LiveSite, chromium) -> None:  # type: ignore[no-untyped-def]
    workspace = provision_tenant(name_prefix="usage")
    tenant = workspace.tenant
    key = IssuedApiKeyFactory.create(tenant=tenant, name="CRM sync")
    price, _ = ModelPrice.objects.update_or_create(
        provider="browsertest",
        model="m1",
        defaults={"input_price_per_1k": Decimal("1.00"), "output_price_per_1k": Decimal("2.00")},
    )
    today = datetime.now(UTC)
    for n in range(12):
        usage_record(
            tenant=tenant,
            meter=Meter.API_CALLS,
            quantity=1,
            idempotency_id=f"call-{n}",
            key_id=key.key.pk,
            latency_ms=40,
            outcome="2xx",
            occurred_at=today,
        )
    usage_record(
        tenant=tenant,
        meter=Meter.TOKENS,
        quantity=3000,
        idempotency_id="tok-1",
        agent_id="support-bot",
        model="browsertest/m1",
        token_type="output",
        conversation_id="conv-42",
        occurred_at=today,
    )
    usage_rollup(tenant=tenant)

    sign_in(page, site, slug=workspace.slug, email=workspace.owner_email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Usage", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Usage in")
    limits = page.locator("#usage-limits")
    expect(limits.locator("tr[data-meter=api_calls]")).to_contain_text("12")
    expect(limits.locator("tr[data-meter=api_calls]")).to_contain_text("100,000")
    expect(page.locator("#chart-api_calls + svg rect")).not_to_have_count(0)
    expect(page.get_by_role("img", name="API calls per day, highest 12")).to_be_visible()
    expect(page.locator("#usage-per-key")).to_contain_text("CRM sync")
    expect(page.locator("#usage-per-agent")).to_contain_text("support-bot")
    expect(page.get_by_role("img", name="Top API keys by calls")).to_be_visible()
    expect(page.locator("#chart-per-key g.ranked-bar")).to_have_count(1)
    expect(page.locator("#chart-per-key")).to_contain_text("CRM sync")
    expect(page.get_by_role("img", name="Top agents by tokens")).to_contain_text("support-bot")
    expect(page.get_by_role("img", name="Top agents by cost (USD)")).to_contain_text("6.0000")
    expect(page.locator("#usage-cost-total")).to_have_text("6.0000")  # 3,000 output tokens × $2 per 1K
    expect(page.get_by_text("conv-42")).to_be_visible()
    expect(page.locator("#usage-performance")).to_contain_text("40 ms")
    page.screenshot(path="/tmp/agentry-usage.png", full_page=True)

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export CSV").click()
    rows = list(csv.DictReader(io.StringIO(download_info.value.path().read_text())))
    calls = [row for row in rows if row["meter"] == "api_calls"]
    assert [(row["quantity"], row["api_key"], row["avg_latency_ms"]) for row in calls] == [("12", key.key.pk, "40")]

    expect(page.locator("#overage-state")).to_contain_text("Off")
    page.get_by_role("button", name="Turn overage on").click()
    expect(page.get_by_role("status")).to_contain_text("Overage is on")
    expect(page.locator("#overage-state")).to_contain_text("On")

    viewer_email = add_member(workspace, role=Role.VIEWER)
    viewer = new_visitor(chromium).new_page()
    sign_in(viewer, site, slug=workspace.slug, email=viewer_email)
    viewer.goto(site.tenant_url(workspace.slug, "/usage/"))
    expect(viewer.locator("#overage-state")).to_contain_text("On")
    expect(viewer.get_by_role("button", name="Turn overage off")).to_have_count(0)
    price.delete()


def test_usage_page_empty_month(page: Page, site: LiveSite) -> None:
    workspace = provision_tenant(name_prefix="usage-empty")
    sign_in(page, site, slug=workspace.slug, email=workspace.owner_email)

    page.goto(site.tenant_url(workspace.slug, "/usage/"))

    expect(page.get_by_text("No API calls this month.").first).to_be_visible()
    expect(page.get_by_text("No model tokens used this month.")).to_be_visible()
    expect(page.get_by_text("Nothing used this month yet.")).to_have_count(3)
    expect(page.locator("svg.ranked-chart")).to_have_count(0)
