"""Management commands: `provision_tenant` (a stable ops contract) and `seed_demo`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from io import StringIO
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client
from django_tenants.utils import get_public_schema_name, schema_context, schema_exists

from accounts.models import Role, User
from apikeys.models import ApiKey
from apikeys.scopes import ALL_SCOPES
from audit.models import AuditEvent
from tenants.management.commands.seed_demo import DEMO_PASSWORD, STAFF_EMAIL
from tenants.models import Domain, Tenant, TenantStatus

PROJECT_ROOT = Path(settings.BASE_DIR)
CONTRACT_KEYS = {"slug", "schema_name", "domain", "owner_email", "plan", "status"}


def _provision(*args: str) -> tuple[str, str]:
    stdout, stderr = StringIO(), StringIO()
    call_command("provision_tenant", *args, stdout=stdout, stderr=stderr)
    return stdout.getvalue(), stderr.getvalue()


# --- provision_tenant, in process -----------------------------------------------------------


def test_provision_tenant_json_prints_exactly_one_object_with_the_contract_keys(db):
    stdout, _ = _provision(
        "--slug", "acme-ops", "--name", "Acme Ops", "--owner-email", "a@acme-ops.test",
        "--owner-password", "correct-horse-battery-staple", "--plan", "professional", "--json",
    )  # fmt: skip

    result = json.loads(stdout)  # fails if anything but one JSON document was printed
    assert isinstance(result, dict)
    assert result.keys() >= CONTRACT_KEYS
    assert result["slug"] == "acme-ops"
    assert result["schema_name"] == "t_acme_ops"
    assert result["domain"] == "acme-ops.localhost"
    assert result["owner_email"] == "a@acme-ops.test"
    assert result["plan"] == "professional"
    assert result["status"] == "trialing"
    assert "owner_password" not in result  # only echoed when the command generated it
    assert stdout.count("\n") <= 1


def test_provision_tenant_json_describes_what_was_really_created(db):
    stdout, _ = _provision(
        "--slug", "real-one", "--name", "Real One", "--owner-email", "boss@real-one.test",
        "--owner-password", "correct-horse-battery-staple", "--status", "active", "--json",
    )  # fmt: skip
    result = json.loads(stdout)

    tenant = Tenant.objects.get(slug=result["slug"])
    assert tenant.schema_name == result["schema_name"]
    assert tenant.status == result["status"] == TenantStatus.ACTIVE
    assert tenant.plan.code == result["plan"] == "starter"  # the default plan
    assert Domain.objects.get(tenant=tenant).domain == result["domain"]
    assert schema_exists(result["schema_name"])
    with schema_context(result["schema_name"]):
        owner = User.objects.get(email=result["owner_email"])
        assert owner.role == Role.OWNER
        assert owner.check_password("correct-horse-battery-staple")


def test_provision_tenant_json_includes_an_api_key_with_every_scope(db):
    stdout, _ = _provision(
        "--slug", "keyed", "--name", "Keyed", "--owner-email", "o@keyed.test",
        "--owner-password", "correct-horse-battery-staple", "--json",
    )  # fmt: skip
    result = json.loads(stdout)

    assert result["api_key"].startswith("agk_live_")
    response = Client(HTTP_HOST=result["domain"]).get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {result['api_key']}")
    assert response.status_code == 200, response.content
    me = json.loads(response.content)
    assert (me["type"], me["id"], me["tenant"]) == ("api_key", result["api_key_id"], "keyed")
    assert set(me["scopes"]) == ALL_SCOPES
    stored = ApiKey.objects.filter(pk=result["api_key_id"]).values().get()
    assert result["api_key"] not in json.dumps(stored, default=str)  # only its hash is kept


def test_provision_tenant_without_password_generates_one_that_works(db):
    stdout, _ = _provision("--slug", "genpass", "--name", "Gen Pass", "--owner-email", "o@genpass.test", "--json")
    result = json.loads(stdout)

    assert len(result["owner_password"]) >= 12
    with schema_context(result["schema_name"]):
        assert User.objects.get(email="o@genpass.test").check_password(result["owner_password"])


def test_provision_tenant_without_json_prints_readable_lines(db):
    stdout, _ = _provision(
        "--slug", "plain-out", "--name", "Plain", "--owner-email", "o@plain-out.test",
        "--owner-password", "correct-horse-battery-staple",
    )  # fmt: skip

    assert "slug: plain-out" in stdout.splitlines()
    assert "domain: plain-out.localhost" in stdout.splitlines()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--slug", "admin"], "“admin” is reserved. Please choose another address."),
        (["--slug", "alpha"], "The address “alpha” is already taken."),
        (["--slug", "Bad--Slug"], "Use lowercase letters, digits and single hyphens"),
        (["--slug", "ok-slug", "--plan", "platinum"], "unknown plan 'platinum'"),
        (["--slug", "ok-slug", "--owner-email", "nope"], "Enter a valid email address."),
        (["--slug", "ok-slug", "--name", "N" * 121], "at most 120 characters"),
    ],
    ids=["reserved slug", "duplicate slug", "malformed slug", "unknown plan", "bad email", "overlong name"],
)
def test_provision_tenant_bad_arguments_fail_with_one_line_and_create_nothing(tenant_a, args, message):
    defaults = {"--name": "Acme", "--owner-email": "o@acme.test"}
    argv = [*args, *(item for flag, value in defaults.items() if flag not in args for item in (flag, value)), "--json"]
    tenants_before = Tenant.objects.count()

    with pytest.raises(CommandError) as excinfo:
        _provision(*argv)

    assert message in str(excinfo.value)
    assert "\n" not in str(excinfo.value)
    assert excinfo.value.returncode != 0
    assert Tenant.objects.count() == tenants_before


def test_provision_tenant_missing_slug_is_refused(db):
    with pytest.raises(CommandError, match="--slug"):
        _provision("--name", "Acme", "--owner-email", "o@acme.test")


# --- provision_tenant, as operators run it --------------------------------------------------


def _manage_env() -> dict[str, str]:
    """The environment of `manage.py` pointed at this session's test database and Redis DBs."""
    db = connection.settings_dict
    credentials = quote(db["USER"] or "") + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    location = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": f"postgres://{credentials}@{location}/{db['NAME']}",
    }


def _manage(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_ROOT,
        env=_manage_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _remove_committed_tenant(slug: str) -> None:
    tenant = Tenant.objects.filter(slug=slug).first()
    if tenant is not None:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA IF EXISTS "{tenant.schema_name}" CASCADE')
        Domain.objects.filter(tenant=tenant).delete()
        Tenant.objects.filter(pk=tenant.pk).delete()
    with schema_context(get_public_schema_name()):
        AuditEvent.objects.filter(tenant_slug=slug).delete()


def test_provision_tenant_subprocess_json_contract(django_db_setup, django_db_blocker):
    # The command commits for real (no test transaction around another process): clean up after.
    slug = f"ops-{uuid.uuid4().hex[:8]}"
    try:
        completed = _manage(
            "provision_tenant", "--slug", slug, "--name", "Ops Test", "--owner-email", f"o@{slug}.test",
            "--plan", "enterprise", "--json",
        )  # fmt: skip

        assert completed.returncode == 0, completed.stderr
        assert len(completed.stdout.strip().splitlines()) == 1
        result = json.loads(completed.stdout)
        assert result.keys() >= CONTRACT_KEYS
        assert (result["slug"], result["plan"], result["status"]) == (slug, "enterprise", "trialing")
        with django_db_blocker.unblock():
            tenant = Tenant.objects.get(slug=slug)
            assert tenant.schema_name == result["schema_name"]
            assert schema_exists(result["schema_name"])
            with schema_context(result["schema_name"]):
                assert User.objects.get(email=result["owner_email"]).check_password(result["owner_password"])
    finally:
        with django_db_blocker.unblock():
            _remove_committed_tenant(slug)
            assert not Tenant.objects.filter(slug=slug).exists()
            assert not schema_exists(f"t_{slug.replace('-', '_')}")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--slug", "www", "--name", "W", "--owner-email", "o@w.test"], "CommandError: “www” is reserved."),
        (["--slug", "fine-slug", "--name", "W", "--owner-email", "o@w.test", "--plan", "gold"], "unknown plan 'gold'"),
        (["--name", "W", "--owner-email", "o@w.test"], "the following arguments are required: --slug"),
    ],
    ids=["reserved slug", "unknown plan", "missing --slug"],
)
def test_provision_tenant_subprocess_bad_arguments_exit_non_zero_with_one_line(django_db_setup, args, message):
    completed = _manage("provision_tenant", *args, "--json")

    assert completed.returncode != 0
    assert completed.stdout == ""
    assert len(completed.stderr.strip().splitlines()) == 1, completed.stderr
    assert message in completed.stderr


# --- seed_demo ------------------------------------------------------------------------------


def test_seed_demo_creates_staff_and_demo_tenants(db):
    call_command("seed_demo", stdout=StringIO())

    staff = User.objects.get(email=STAFF_EMAIL)
    assert staff.is_staff and staff.is_superuser and staff.check_password(DEMO_PASSWORD)
    acme, globex = Tenant.objects.get(slug="acme"), Tenant.objects.get(slug="globex")
    assert (acme.status, acme.plan.code) == (TenantStatus.ACTIVE, "professional")
    assert (globex.status, globex.plan.code) == (TenantStatus.TRIALING, "starter")
    assert globex.trial_ends_at is not None
    with schema_context(acme.schema_name):
        assert dict(User.objects.values_list("email", "role")) == {
            "owner@acme.test": Role.OWNER,
            "admin@acme.test": Role.ADMIN,
            "member@acme.test": Role.MEMBER,
            "viewer@acme.test": Role.VIEWER,
        }
    with schema_context(globex.schema_name):
        assert dict(User.objects.values_list("email", "role")) == {"owner@globex.test": Role.OWNER}


def test_seed_demo_gives_acme_a_paid_subscription_and_globex_a_trial(db):
    call_command("seed_demo", stdout=StringIO())

    acme, globex = Tenant.objects.get(slug="acme"), Tenant.objects.get(slug="globex")
    acme_subscription, globex_subscription = acme.subscription, globex.subscription
    assert (acme_subscription.status, acme_subscription.plan.code, acme_subscription.billing_cycle) == (
        "active",
        "professional",
        "monthly",
    )
    assert list(acme.invoices.values_list("status", "total")) == [("paid", 14900)]
    assert (globex_subscription.status, globex_subscription.plan.code) == ("trialing", "starter")
    assert globex_subscription.trial_ends_at == globex.trial_ends_at
    assert acme.status == TenantStatus.ACTIVE


def test_seed_demo_is_idempotent(db):
    call_command("seed_demo", stdout=StringIO())
    snapshot = (Tenant.objects.count(), Domain.objects.count(), User.objects.count())

    second = StringIO()
    call_command("seed_demo", stdout=second)

    assert (Tenant.objects.count(), Domain.objects.count(), User.objects.count()) == snapshot
    assert "tenant acme already exists" in second.getvalue()
    with schema_context(Tenant.objects.get(slug="acme").schema_name):
        assert User.objects.count() == 4
