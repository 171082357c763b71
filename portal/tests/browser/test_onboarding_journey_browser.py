"""The product brief's promise, in Chromium: a new customer gets from signup to a working chatbot
answering from their own FAQ in under 5 minutes — on the portal's "Try it" preview and on their
own website through the widget.

The test asserts that every step succeeds; the wall time of the journey is printed (a timing
assertion would only measure this machine's load). What it checks the product does in one sitting:
sign up → knowledge base with one FAQ → agent using it, activated → "Try it" answers with the FAQ →
widget key for their website → the widget on that website answers with the FAQ.
"""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Browser, Page, expect

from conftest import PASSWORD
from portal.tests.browser.conftest import LiveSite, new_visitor, unique
from portal.tests.browser.test_widget_browser import website

pytestmark = pytest.mark.browser

QUESTION = "Do you deliver on Saturdays?"
ANSWER = "Yes: we deliver Monday to Saturday, 8:00 to 20:00."


def _sign_up(page: Page, site: LiveSite, slug: str, company: str) -> None:
    page.goto(f"{site.public_url}/signup/")
    page.get_by_label("Company name").fill(company)
    page.get_by_label("Workspace address").fill(slug)
    page.get_by_label("Your work email").fill(f"founder@{slug}.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Plan").select_option("starter")
    page.get_by_role("button", name="Create workspace").click()
    page.wait_for_url(site.tenant_url(slug, "/"))


def _add_faq(page: Page) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Knowledge").click()
    page.get_by_label("Name", exact=True).fill("Help centre")
    page.get_by_role("button", name="Create knowledge base").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Help centre")
    page.get_by_label("Question", exact=True).fill(QUESTION)
    page.get_by_label("Answer", exact=True).fill(ANSWER)
    page.get_by_role("button", name="Add FAQ").click()
    expect(page.locator("#faqs")).to_contain_text(QUESTION)


def _create_active_agent(page: Page) -> str:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Agents").click()
    page.get_by_role("link", name="Create your first agent").click()
    page.get_by_label("Name", exact=True).fill("Delivery helper")
    page.get_by_label("Type", exact=True).select_option(label="Customer support")
    page.get_by_label("Search the knowledge bases it may use").check()
    page.get_by_label("Help centre").check()
    page.get_by_label("Activate now").check()
    page.get_by_role("button", name="Create agent").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Delivery helper")
    expect(page.get_by_role("status")).to_contain_text("was created as active")
    return page.url.rstrip("/").rsplit("/", 1)[1]


def _try_it(page: Page) -> None:
    try_it = page.locator("#try-it")
    try_it.get_by_label("Message").fill("do you deliver on saturday?")
    try_it.get_by_role("button", name="Send").click()
    expect(try_it.locator(".chat-assistant").last).to_contain_text(ANSWER, timeout=15_000)


def _widget_snippet(page: Page, website_origin: str) -> str:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="API keys").click()
    page.get_by_role("link", name="Create a website widget key").click()
    page.get_by_label("Name", exact=True).fill("Our website")
    page.get_by_label("Agent", exact=True).select_option(label="Delivery helper")
    page.get_by_label("Websites").fill(website_origin)
    page.get_by_role("button", name="Create widget key").click()
    snippet = page.get_by_label("Embed code").input_value()
    assert snippet.startswith("<script src=") and 'data-key="pk_live_' in snippet
    return snippet


def test_signup_to_a_chatbot_answering_from_the_faq(page: Page, chromium: Browser, site: LiveSite) -> None:
    slug = unique("journey")
    steps: list[tuple[str, float]] = []
    started = time.perf_counter()

    def step(name: str) -> None:
        steps.append((name, time.perf_counter() - started))

    _sign_up(page, site, slug, company=f"Journey {slug[-8:]} Ltd")
    step("signed up")
    _add_faq(page)
    step("FAQ added")
    agent_id = _create_active_agent(page)
    assert agent_id.startswith("agt_")
    step("agent created and active")
    _try_it(page)
    step("'Try it' answered from the FAQ")

    visitor = new_visitor(chromium)
    try:
        with website(host="localhost") as own_site:
            snippet = _widget_snippet(page, own_site.origin)
            step("widget key and snippet")
            own_site.serve(f"<!doctype html><html><body><h1>Our shop</h1>{snippet}</body></html>")
            shop = visitor.new_page()
            shop.goto(own_site.origin + "/")
            shop.get_by_role("button", name="Open chat").click()
            shop.get_by_role("textbox", name="Your message").fill("Do you deliver on Saturdays?")
            shop.get_by_role("button", name="Send").click()
            expect(shop.locator(".msg.assistant").last).to_have_text(ANSWER, timeout=15_000)
            step("the widget on their website answered from the FAQ")
    finally:
        visitor.close()

    total = time.perf_counter() - started
    print("\nonboarding journey (wall time, target: well under 5 minutes):")
    for name, at in steps:
        print(f"  {at:7.2f} s  {name}")
    print(f"  total {total:.2f} s")
