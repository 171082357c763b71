"""The website widget in Chromium: a page on another origin (a tiny http.server) embeds
/widget.js, the visitor chats through it with a publishable key and gets the FAQ's answer, the
session survives a reload; a page on an origin the key does not allow gets nothing."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
from django_tenants.utils import schema_context
from playwright.sync_api import Browser, expect

from agents.models import AgentTool
from agents.tests.factories import AgentFactory
from apikeys.scopes import ALL_SCOPES
from apikeys.services import api_key_create_publishable
from audit.services import Actor
from conversations.models import Conversation, Message
from knowledge.tests.factories import FaqFactory, KnowledgeBaseFactory
from leads.models import Lead
from portal.tests.browser.conftest import LiveSite, new_visitor, provision_tenant
from tenants.models import Tenant

pytestmark = [pytest.mark.browser]

FAQ_ANSWER = "We ship to every country in the EU within 3 working days."


@dataclass
class Website:
    origin: str
    html: list[str] = field(default_factory=lambda: [""])

    def serve(self, html: str) -> None:
        self.html[0] = html


@contextmanager
def website(*, host: str) -> Iterator[Website]:
    """A tiny site on a free port of `host` (its own origin), serving whatever `serve()` was given."""
    served = Website(origin="")

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = served.html[0].encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    served.origin = f"http://{host}:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield served
    finally:
        server.shutdown()
        server.server_close()


def shop_page(script_url: str, agent_id: str, key: str) -> str:
    script = f'<script src="{script_url}" data-agent="{agent_id}" data-key="{key}" async></script>'
    return f"<!doctype html><html><head><title>Shop</title></head><body><h1>The shop</h1>{script}</body></html>"


@dataclass(frozen=True)
class WidgetWorkspace:
    tenant: Tenant
    agent_id: str

    def key_for(self, origin: str) -> str:
        return api_key_create_publishable(
            tenant=self.tenant,
            name="Shop website",
            agent_id=self.agent_id,
            allowed_origins=[origin],
            actor=Actor.system("browser-tests"),
            granter_scopes=ALL_SCOPES,
        ).secret


def widget_workspace() -> WidgetWorkspace:
    """A workspace with an active agent answering from one FAQ."""
    workspace = provision_tenant(name_prefix="widget")
    with schema_context(workspace.tenant.schema_name):
        knowledge_base = KnowledgeBaseFactory.create(name="Shipping")
        FaqFactory.create(knowledge_base=knowledge_base, question="Where do you ship to?", answer=FAQ_ANSWER)
        agent = AgentFactory.create(
            name="Shop assistant",
            status="active",
            knowledge_base_ids=[knowledge_base.pk],
            tools=[AgentTool.KNOWLEDGE_SEARCH, AgentTool.LEAD_CAPTURE],
        )
    return WidgetWorkspace(tenant=workspace.tenant, agent_id=agent.pk)


def test_widget_on_another_website_answers_from_the_faq(chromium: Browser, site: LiveSite) -> None:
    workspace = widget_workspace()
    script_url = site.tenant_url(workspace.tenant.slug, "/widget.js")
    visitor = new_visitor(chromium)
    page = visitor.new_page()
    try:
        with website(host="localhost") as shop:
            shop.serve(shop_page(script_url, workspace.agent_id, workspace.key_for(shop.origin)))
            page.goto(shop.origin + "/")

            bubble = page.get_by_role("button", name="Open chat")
            expect(bubble).to_be_visible()
            bubble.click()
            dialog = page.get_by_role("dialog", name=workspace.tenant.name)
            expect(dialog).to_be_visible()
            dialog.get_by_role("textbox", name="Your message").fill("Where do you ship to?")
            dialog.get_by_role("button", name="Send").click()
            expect(dialog.locator(".msg.assistant").last).to_have_text(FAQ_ANSWER, timeout=15_000)

            page.reload()  # the visitor's session id is kept in localStorage
            page.get_by_role("button", name="Open chat").click()
            dialog = page.get_by_role("dialog", name=workspace.tenant.name)
            dialog.get_by_role("textbox", name="Your message").fill("Great, I'm Lena, lena@example.com")
            dialog.get_by_role("button", name="Send").click()
            expect(dialog.locator(".msg.assistant")).to_have_count(2, timeout=15_000)
            expect(dialog.locator(".msg.assistant").last).not_to_have_text("…", timeout=15_000)

        with schema_context(workspace.tenant.schema_name):
            conversation = Conversation.objects.get()
            assert conversation.channel == "widget"
            assert Message.objects.filter(conversation=conversation, role="user").count() == 2
            assert Lead.objects.get().email == "lena@example.com"
    finally:
        visitor.close()


def test_widget_on_a_website_the_key_does_not_allow_gets_nothing(chromium: Browser, site: LiveSite) -> None:
    workspace = widget_workspace()
    script_url = site.tenant_url(workspace.tenant.slug, "/widget.js")
    visitor = new_visitor(chromium)
    page = visitor.new_page()
    try:
        with website(host="localhost") as allowed, website(host="127.0.0.1") as other:
            key = workspace.key_for(allowed.origin)  # made for one site, pasted into another
            other.serve(shop_page(script_url, workspace.agent_id, key))
            page.goto(other.origin + "/")

            page.get_by_role("button", name="Open chat").click()
            dialog = page.get_by_role("dialog", name=workspace.tenant.name)
            dialog.get_by_role("textbox", name="Your message").fill("Where do you ship to?")
            dialog.get_by_role("button", name="Send").click()
            expect(dialog.locator(".msg.error")).to_have_text(
                "Sorry, the chat is not available on this website.", timeout=15_000
            )
            expect(dialog).not_to_contain_text(FAQ_ANSWER)

        with schema_context(workspace.tenant.schema_name):
            assert not Conversation.objects.exists()
    finally:
        visitor.close()
