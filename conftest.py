"""Suite-wide fixtures: the test database with its tenant template, two committed tenants,
per-tenant test clients and a real Celery worker (the browser tests' live server is in
portal/tests/browser/conftest.py; worker helpers are in testing/celery_worker.py).

Tenants are created once per session by cloning the template schema (~0.1 s each). Tests run
inside pytest-django's transaction, so what they write is rolled back, schemas included.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import stripe
from django.core.cache import caches
from django.core.management import call_command
from django.db import connections
from django.test import Client
from django_tenants.utils import schema_context

from accounts.models import Role, User
from audit.services import Actor
from tenants.context import set_schema_to_public
from tenants.models import Tenant, TenantStatus
from tenants.services import tenant_provision
from testing.celery_worker import celery_worker_running, committed_tenant_purged_after

PASSWORD = "correct-horse-battery-staple"


@dataclass(frozen=True)
class TenantFixture:
    tenant: Tenant
    host: str
    owner_email: str

    @property
    def schema(self) -> str:
        return self.tenant.schema_name


@pytest.fixture(scope="session")
def django_db_setup(request, django_test_environment, django_db_blocker, django_db_modify_db_settings):  # type: ignore[no-untyped-def]
    """The test database (always, plus the template schema tenants are cloned from).

    pytest-django only creates it when some selected test asks for `db`; browser and Celery
    worker tests use committed data through their own fixtures, so a run of those alone would
    otherwise talk to the development database. Here the database is always set up, and the
    session refuses to continue on anything not named like a test database.
    """
    from django.test.utils import setup_databases, teardown_databases

    with django_db_blocker.unblock():
        db_cfg = setup_databases(verbosity=request.config.option.verbose, interactive=False, aliases={"default"})
        name = connections["default"].settings_dict["NAME"]
        if not name.startswith("test_"):
            pytest.exit(f"refusing to run tests against non-test database {name!r}", returncode=3)
        call_command("sync_tenant_template", verbosity=0)
    yield
    with django_db_blocker.unblock():
        teardown_databases(db_cfg, verbosity=request.config.option.verbose)


def _provision(slug: str, plan: str, status: str) -> TenantFixture:
    provisioned = tenant_provision(
        slug=slug,
        name=f"{slug.title()} Ltd",
        owner_email=f"owner@{slug}.test",
        owner_password=PASSWORD,
        plan_code=plan,
        status=status,
        actor=Actor.system("tests"),
    )
    return TenantFixture(tenant=provisioned.tenant, host=provisioned.domain.domain, owner_email=f"owner@{slug}.test")


@pytest.fixture(scope="session")
def two_tenants(django_db_setup: None, django_db_blocker) -> tuple[TenantFixture, TenantFixture]:  # type: ignore[no-untyped-def]
    with django_db_blocker.unblock():
        return (
            _provision("alpha", "professional", TenantStatus.ACTIVE),
            _provision("beta", "starter", TenantStatus.TRIALING),
        )


@pytest.fixture
def tenant_a(two_tenants: tuple[TenantFixture, TenantFixture], db: None) -> TenantFixture:
    return two_tenants[0]


@pytest.fixture
def tenant_b(two_tenants: tuple[TenantFixture, TenantFixture], db: None) -> TenantFixture:
    return two_tenants[1]


@pytest.fixture(scope="module")
def worker(django_db_setup: None, django_db_blocker) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """A solo-pool Celery worker on the test broker for the module's tests; database access stays open."""
    with django_db_blocker.unblock(), celery_worker_running():
        yield


@pytest.fixture
def worker_tenant(worker: None, django_db_blocker) -> Iterator[Tenant]:  # type: ignore[no-untyped-def]
    """A committed Professional tenant the worker can see, purged after the test."""
    with django_db_blocker.unblock(), committed_tenant_purged_after("worker", plan_code="professional") as tenant:
        yield tenant


@pytest.fixture(autouse=True)
def _fresh_schema_and_cache() -> Iterator[None]:
    """Every test starts and ends on the public schema with empty (test-only) Redis caches."""
    caches["default"].clear()
    yield
    set_schema_to_public()
    caches["default"].clear()


class StripeNetworkGuard(stripe.HTTPClient):
    """Installed for every test: a request to Stripe fails the test (tests of the Stripe backend
    replace it with `stripe_billing.tests.fake_stripe.FakeStripe`). No call may leave the machine."""

    name = "stripe-network-guard"

    def __init__(self) -> None:
        super().__init__()
        self.attempts: list[str] = []

    def request(self, method: str, url: str, headers: object, post_data: object = None, **kwargs: object) -> tuple:  # type: ignore[override]
        self.attempts.append(f"{method.upper()} {url}")
        raise AssertionError(f"a test tried to call Stripe: {method.upper()} {url}")

    def close(self) -> None:
        pass


@pytest.fixture(autouse=True)
def _no_real_stripe_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    guard = StripeNetworkGuard()
    monkeypatch.setattr(stripe, "default_http_client", guard)
    yield
    assert not guard.attempts, f"tests must not call Stripe: {guard.attempts}"


def client_for(host: str) -> Client:
    return Client(HTTP_HOST=host)


@pytest.fixture
def public_client(db: None) -> Client:  # every request runs in a transaction (ATOMIC_REQUESTS)
    return client_for("localhost")


def make_member(tenant: TenantFixture, *, email: str, role: str = Role.MEMBER) -> User:
    from accounts.services import user_create

    with schema_context(tenant.schema):
        return user_create(email=email, password=PASSWORD, role=role, email_verified=True)


def signed_in_client(tenant: TenantFixture, email: str | None = None) -> Client:
    client = client_for(tenant.host)
    with schema_context(tenant.schema):
        user = User.objects.get(email=email or tenant.owner_email)
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client
