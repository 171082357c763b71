"""The "Knowledge" pages in Chromium: create a knowledge base, add an FAQ and find it, upload a
PDF and watch it go from pending to ready (htmx polling, a real Celery worker), then search it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Role
from knowledge.tests.factories import pdf_bytes
from portal.tests.browser.conftest import LiveSite, add_member, provision_tenant, sign_in
from testing.celery_worker import celery_worker_running

pytestmark = [
    pytest.mark.browser,
    pytest.mark.celery_worker,
    pytest.mark.filterwarnings("ignore:Call to deprecated setex:DeprecationWarning"),
]


@pytest.fixture
def worker(site: LiveSite, settings, tmp_path) -> Iterator[None]:  # type: ignore[no-untyped-def]
    settings.KNOWLEDGE_FILES_ROOT = tmp_path / "knowledge"
    with celery_worker_running():
        yield


def test_owner_builds_a_knowledge_base_and_tries_retrieval(page: Page, site: LiveSite, worker: None) -> None:
    workspace = provision_tenant(name_prefix="knowledge")
    sign_in(page, site, slug=workspace.slug, email=workspace.owner_email)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Knowledge").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Knowledge")
    expect(page.get_by_text("No knowledge bases yet.")).to_be_visible()
    page.get_by_label("Name", exact=True).fill("Help centre")
    page.get_by_role("button", name="Create knowledge base").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Help centre")
    expect(page.get_by_text("No FAQs yet.")).to_be_visible()

    page.get_by_label("Question", exact=True).fill("How do I get a refund?")
    page.get_by_label("Answer", exact=True).fill("Refunds are paid back to your card within 5 days.")
    page.get_by_role("button", name="Add FAQ").click()
    expect(page.locator("#faqs")).to_contain_text("How do I get a refund?")

    page.get_by_role("textbox", name="Try a question").fill("refunds")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#search-results mark").first).to_have_text("refund")

    page.locator("#document-form input[type=file]").set_input_files(
        {"name": "warranty.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes([["Warranty covers batteries."]])}
    )
    page.get_by_role("button", name="Add document").click()
    row = page.locator("#documents tr", has_text="warranty.pdf")
    expect(row).to_be_visible()
    expect(page.locator("#upload-status")).to_have_count(1)
    # The worker indexes it; the list polls until the status reads Ready, without a reload.
    expect(row.locator(".badge")).to_have_text("Ready", timeout=30_000)
    expect(row).to_contain_text("1")  # one passage

    page.get_by_role("textbox", name="Try a question").fill("battery warranty")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#search-results li[data-kind=document]")).to_contain_text("warranty")
    page.screenshot(path="/tmp/agentry-knowledge.png", full_page=True)


def test_viewer_sees_knowledge_without_edit_controls(page: Page, site: LiveSite) -> None:
    workspace = provision_tenant(name_prefix="knowledge-viewer")
    email = add_member(workspace, role=Role.VIEWER)
    sign_in(page, site, slug=workspace.slug, email=email)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Knowledge").click()

    expect(page.get_by_text("A member of your team can create one.")).to_be_visible()
    expect(page.get_by_role("button", name="Create knowledge base")).to_have_count(0)
