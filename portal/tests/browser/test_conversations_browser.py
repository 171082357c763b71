"""Chat in Chromium: the agent page's "Try it" preview answers from the workspace's FAQ (htmx,
no page load), and the conversations browser lists and filters the conversation and shows its
transcript with the source, cost and rating."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context
from playwright.sync_api import Page, expect

from conversations.models import Conversation
from conversations.services import conversation_rate
from conversations.tests.factories import SHOP_FAQS, chat_agent
from portal.tests.browser.conftest import LiveSite, provision_tenant, sign_in

pytestmark = pytest.mark.browser


def test_owner_tries_an_agent_then_reads_the_transcript(page: Page, site: LiveSite) -> None:
    workspace = provision_tenant(name_prefix="chat")
    with schema_context(workspace.tenant.schema_name):
        agent = chat_agent(name="Ava", status="draft")
    sign_in(page, site, slug=workspace.slug, email=workspace.owner_email)

    page.goto(site.tenant_url(workspace.slug, f"/agents/{agent.pk}/"))
    try_it = page.locator("#try-it")
    expect(try_it.get_by_role("heading", name="Try it")).to_be_visible()
    try_it.get_by_label("Message").fill("How can I return a product?")
    try_it.get_by_role("button", name="Send").click()
    reply = try_it.locator(".chat-assistant").last
    expect(reply).to_contain_text(SHOP_FAQS[0][1])
    expect(reply).to_contain_text(f"Source: {SHOP_FAQS[0][0]}")
    expect(try_it.get_by_label("Message")).to_have_value("")  # the form was reset, the page not reloaded
    try_it.get_by_label("Message").fill("What is the meaning of life on Mars?")
    try_it.get_by_role("button", name="Send").click()
    expect(try_it.locator(".chat-assistant")).to_have_count(2)
    expect(try_it.locator(".chat-assistant").last).to_contain_text("leave your name")

    with schema_context(workspace.tenant.schema_name):
        conversation = Conversation.objects.get(agent=agent)
        conversation_rate(conversation=conversation, rating=4)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Conversations").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Conversations")
    page.get_by_label("Channel").select_option(label="Portal preview")
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("#conversation-list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Ava")
    rows.first.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Conversation with Ava")
    expect(page.locator("#conversation-rating")).to_have_text("4 / 5")
    expect(page.locator("#conversation-cost")).to_contain_text("USD")
    transcript = page.locator("#transcript")
    expect(transcript.locator(".chat-turn")).to_have_count(4)
    expect(transcript).to_contain_text(f"Source: {SHOP_FAQS[0][0]}")
    expect(transcript).to_contain_text("local/agentry-local")


def test_owner_sets_the_model_provider_and_sees_only_the_keys_last_four(page: Page, site: LiveSite) -> None:
    workspace = provision_tenant(name_prefix="providers")
    sign_in(page, site, slug=workspace.slug, email=workspace.owner_email)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Model providers").click()
    expect(page.locator("#api-key-state")).to_have_text("No API key is stored.")
    page.get_by_label("Base URL").fill("http://llm.internal:8000/v1")
    page.get_by_label("Default model").fill("llama3")
    page.get_by_label("API key").fill("sk-live-secret-4321")
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_role("status")).to_contain_text("Model provider settings saved.")
    expect(page.locator("#api-key-state")).to_contain_text("…4321")
    assert "sk-live-secret" not in page.content()
    expect(page.get_by_label("Base URL")).to_have_value("http://llm.internal:8000/v1")
    expect(page.get_by_label("API key")).to_have_value("")
