"""Browser-test harness: a live server in this process and Debian's Chromium through Playwright.

Why not pytest-django's `live_server`: it needs `transactional_db`, whose flush truncates the
public schema (session tenants, seeded plans). Here the server runs on its own threads and
connections, so what the browser writes is committed; every test therefore creates its own
uniquely named tenants and people, and never touches the session tenants `alpha` and `beta`.
The mail backend is locmem in this same process, so invitation emails land in `mail.outbox`.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.db import connections
from django.test.testcases import LiveServerThread, QuietWSGIRequestHandler
from django_tenants.utils import schema_context
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from accounts.services import user_create
from audit.services import Actor
from conftest import PASSWORD
from tenants.models import Tenant, TenantStatus
from tenants.services import tenant_provision

# Playwright's sync API keeps an event loop on the main thread; the ORM calls tests make from
# that thread are still synchronous, so Django's async-safety guard must be told (as `make test` does).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@dataclass(frozen=True)
class LiveSite:
    port: int

    @property
    def public_url(self) -> str:
        return f"http://localhost:{self.port}"

    def tenant_url(self, slug: str, path: str = "/") -> str:
        return f"http://{slug}.localhost:{self.port}{path}"


@dataclass(frozen=True)
class BrowserTenant:
    tenant: Tenant
    owner_email: str

    @property
    def slug(self) -> str:
        return self.tenant.slug


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class _RequestHandler(QuietWSGIRequestHandler):
    """Hands its database connection back after every request, not when the browser drops the
    keep-alive socket: an idle socket must not hold a session on the test database, or the
    database cannot be dropped at the end of the run."""

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        finally:
            connections.close_all()


class _LiveServerThread(LiveServerThread):
    def _create_server(self, connections_override=None):  # type: ignore[no-untyped-def]
        return self.server_class(
            (self.host, self.port),
            _RequestHandler,
            allow_reuse_address=False,
            connections_override=connections_override,
        )


def _serve_with_whitenoise(app):  # type: ignore[no-untyped-def]
    """LiveServerThread wraps the app in a static handler; WhiteNoise (with finders) already serves it."""
    return app


@pytest.fixture(scope="package")
def live_site(django_db_setup: None, django_db_blocker) -> Iterator[LiveSite]:  # type: ignore[no-untyped-def]
    with django_db_blocker.unblock():
        server = _LiveServerThread("127.0.0.1", _serve_with_whitenoise, port=0)  # type: ignore[arg-type]
        server.daemon = True
        server.start()
        server.is_ready.wait()
        if server.error:
            raise server.error
    yield LiveSite(port=server.port)
    server.terminate()


@pytest.fixture
def site(live_site: LiveSite, django_db_blocker) -> Iterator[LiveSite]:  # type: ignore[no-untyped-def]
    """The live site, with database access open while the test runs (the server's threads need it)."""
    with django_db_blocker.unblock():
        yield live_site


@pytest.fixture(scope="package")
def chromium(live_site: LiveSite) -> Iterator[Browser]:
    """Debian's Chromium, for this package only (pytest-playwright's session-wide fixtures go unused).

    While Playwright's sync API runs, the main thread has an event loop, and Django (through
    asgiref's context-local connections) hands tests' ORM calls a different connection object
    than the one pytest-django closes at the end of the session. Closing those connections and
    stopping Playwright when the browser tests end keeps later tests on the usual connection and
    lets the test database be dropped.
    """
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
    finally:
        connections.close_all()
        playwright.stop()


def new_visitor(chromium: Browser, *, javascript: bool = True) -> BrowserContext:
    """A fresh browser profile: no cookies, so nobody is signed in. `javascript=False` checks
    that a page works without it (htmx and small scripts are only enhancements)."""
    return chromium.new_context(viewport={"width": 1280, "height": 900}, locale="en-US", java_script_enabled=javascript)


@pytest.fixture
def page(chromium: Browser) -> Iterator[Page]:
    visitor = new_visitor(chromium)
    yield visitor.new_page()
    visitor.close()


def provision_tenant(*, name_prefix: str) -> BrowserTenant:
    """A committed tenant of its own (the browser's server cannot see uncommitted rows)."""
    slug = unique(name_prefix)
    owner_email = f"owner@{slug}.test"
    provisioned = tenant_provision(
        slug=slug,
        name=f"{slug.title()} Ltd",
        owner_email=owner_email,
        owner_password=PASSWORD,
        plan_code="professional",
        status=TenantStatus.ACTIVE,
        actor=Actor.system("browser-tests"),
    )
    return BrowserTenant(tenant=provisioned.tenant, owner_email=owner_email)


def add_member(tenant: BrowserTenant, *, role: str) -> str:
    email = f"{role}-{uuid.uuid4().hex[:6]}@{tenant.slug}.test"
    with schema_context(tenant.tenant.schema_name):
        user_create(email=email, password=PASSWORD, role=role, email_verified=True)
    return email


def sign_in(page: Page, site: LiveSite, *, slug: str, email: str, password: str = PASSWORD) -> None:
    """Sign in through allauth's real login form and wait for the portal to answer."""
    page.goto(site.tenant_url(slug, "/accounts/login/"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(site.tenant_url(slug, "/"))
    expect(page.locator(".user-menu")).to_contain_text(email)
