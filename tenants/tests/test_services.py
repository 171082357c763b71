"""Tenant services: provisioning, slug rules, the status state machine, deletion, restore and purge."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import override_settings
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_context, schema_exists

from accounts.models import Role, User
from audit.models import ActorType, AuditEvent
from audit.services import Actor
from billing.models import Plan, Subscription
from config.errors import Conflict, InvalidTransition, ValidationFailed
from conftest import PASSWORD, client_for
from tenants.models import Domain, Tenant, TenantStatus
from tenants.selectors import tenant_list_live
from tenants.services import (
    tenant_billing_fields_update,
    tenant_cancel,
    tenant_purge,
    tenant_reactivate,
    tenant_request_deletion,
    tenant_restore,
    tenant_suspend,
    tenant_transition,
    tenant_update_details,
    tenant_validate_new_slug,
    tenants_purge_due,
)
from tenants.slugs import slug_problems
from tenants.tests.factories import ProvisionedTenantFactory

SYSTEM = Actor.system("tests")
FROZEN_NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _public_events(*, action: str, slug: str) -> list[AuditEvent]:
    with schema_context(get_public_schema_name()):
        return list(AuditEvent.objects.filter(action=action, tenant_slug=slug).order_by("id"))


def _schema_in_information_schema(schema: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM information_schema.schemata WHERE schema_name = %s", [schema])
        return cursor.fetchone() is not None


def _as_if_committed() -> None:
    """Fire the deferred FK checks of rows written earlier in this test's transaction.

    In production a tenant is purged long after its rows were committed; inside one test
    transaction PostgreSQL refuses to drop tables that still have pending trigger events.
    """
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def _nothing_left_of(slug: str, schema: str) -> bool:
    return (
        not Tenant.objects.filter(slug=slug).exists()
        and not Domain.objects.filter(domain=f"{slug}.localhost").exists()
        and not schema_exists(schema)
        and not _public_events(action="tenant.created", slug=slug)
    )


# --- Provisioning ---------------------------------------------------------------------------


def test_tenant_provision_creates_tenant_schema_domain_and_owner(db):
    provisioned = ProvisionedTenantFactory(
        slug="newco", name="  NewCo Ltd ", plan_code="professional", owner_email="Boss@NewCo.test"
    )

    tenant = Tenant.objects.get(slug="newco")
    assert tenant == provisioned.tenant
    assert tenant.name == "NewCo Ltd"
    assert tenant.schema_name == "t_newco"
    assert tenant.plan.code == "professional"
    assert tenant.status == TenantStatus.TRIALING
    assert tenant.billing_email == "boss@newco.test"
    assert schema_exists("t_newco")
    assert list(Domain.objects.filter(tenant=tenant).values_list("domain", "is_primary")) == [("newco.localhost", True)]
    with schema_context("t_newco"):
        owner = User.objects.get()
        assert owner.pk == provisioned.owner.pk
        assert owner.email == "boss@newco.test"
        assert owner.role == Role.OWNER
        assert owner.is_active
        assert owner.check_password(PASSWORD)
        assert EmailAddress.objects.filter(user=owner, email="boss@newco.test", primary=True, verified=True).exists()


def test_tenant_provision_clones_a_fully_migrated_schema(db):
    provisioned = ProvisionedTenantFactory()

    with schema_context(provisioned.tenant.schema_name):
        executor = MigrationExecutor(connection)
        assert executor.migration_plan(executor.loader.graph.leaf_nodes()) == []
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = %s AND table_name = %s",
                [provisioned.tenant.schema_name, "accounts_user"],
            )
            assert cursor.fetchone() == (1,)


def test_tenant_provision_keeps_the_template_schema_empty(db):
    ProvisionedTenantFactory(slug="template-check")

    with schema_context("tenant_template"):
        assert not User.objects.exists()
        assert not AuditEvent.objects.exists()


def test_tenant_provision_trial_ends_after_default_trial_days(db):
    with override_settings(DEFAULT_TRIAL_DAYS=21), time_machine.travel(FROZEN_NOW, tick=False):
        provisioned = ProvisionedTenantFactory(status=TenantStatus.TRIALING)

    assert provisioned.tenant.trial_ends_at == FROZEN_NOW + timedelta(days=21)
    assert Tenant.objects.get(pk=provisioned.tenant.pk).trial_ends_at == FROZEN_NOW + timedelta(days=21)


def test_tenant_provision_active_tenant_has_no_trial_end(db):
    provisioned = ProvisionedTenantFactory(status=TenantStatus.ACTIVE)

    assert Tenant.objects.get(pk=provisioned.tenant.pk).trial_ends_at is None


def test_tenant_provision_records_creation_in_public_and_tenant_audit_trails(db):
    provisioned = ProvisionedTenantFactory(slug="audited", plan_code="starter")

    [public_event] = _public_events(action="tenant.created", slug="audited")
    assert public_event.data == {"plan": "starter", "status": "trialing"}
    assert public_event.actor_type == ActorType.SYSTEM
    assert public_event.actor_label == "tests"
    assert public_event.target_id == str(provisioned.tenant.pk)
    with schema_context(provisioned.tenant.schema_name):
        assert list(AuditEvent.objects.order_by("id").values_list("action", flat=True)) == [
            "tenant.created",
            "billing.trial_started",  # every trialing tenant gets its trial subscription
        ]
        assert AuditEvent.objects.get(action="tenant.created").data == {"plan": "starter"}


def test_tenant_provision_host_answers_at_once_even_after_a_cached_miss(db):
    client = client_for("late.localhost")
    assert client.get("/accounts/login/").status_code == 404  # the miss is now cached

    ProvisionedTenantFactory(slug="late")

    assert client.get("/accounts/login/").status_code == 200


# --- Slug rules -----------------------------------------------------------------------------

MALFORMED_SLUGS = {
    "too short": "ab",
    "too long": "a" * 41,
    "uppercase": "Acme",
    "leading hyphen": "-acme",
    "trailing hyphen": "acme-",
    "double hyphen": "ac--me",
    "underscore": "ac_me",
    "dot": "ac.me",
    "space": "ac me",
    "non-ascii": "acmé",
    "empty": "",
    "trailing newline": "acme\n",
}
RESERVED = ["www", "api", "admin", "static", "media", "public", "template", "mail"]


@pytest.mark.parametrize("slug", MALFORMED_SLUGS.values(), ids=MALFORMED_SLUGS.keys())
def test_tenant_validate_new_slug_rejects_malformed_slugs(db, slug):
    with pytest.raises(ValidationFailed) as excinfo:
        tenant_validate_new_slug(slug)

    assert excinfo.value.errors["slug"]


@pytest.mark.parametrize("slug", ["ab", "a" * 41, "-acme", "acme-", "ac--me", "ac_me", "ac me", "acmé"])
def test_tenant_provision_rejects_malformed_slug_and_creates_nothing(db, slug):
    tenants_before = Tenant.objects.count()

    with pytest.raises(ValidationFailed) as excinfo:
        ProvisionedTenantFactory(slug=slug)

    assert excinfo.value.errors["slug"]
    assert Tenant.objects.count() == tenants_before


@pytest.mark.parametrize("slug", RESERVED)
def test_tenant_provision_rejects_reserved_slug(db, slug):
    with pytest.raises(ValidationFailed) as excinfo:
        ProvisionedTenantFactory(slug=slug)

    assert excinfo.value.errors["slug"] == [f"“{slug}” is reserved. Please choose another address."]
    assert not Tenant.objects.filter(slug=slug).exists()


@pytest.mark.parametrize("spelling", ["alpha", "ALPHA", "  Alpha "])
def test_tenant_provision_rejects_duplicate_slug_in_any_spelling(tenant_a, spelling):
    with pytest.raises(ValidationFailed) as excinfo:
        ProvisionedTenantFactory(slug=spelling, owner_email="someone@else.test")

    assert excinfo.value.errors["slug"] == ["The address “alpha” is already taken."]
    assert Tenant.objects.filter(slug="alpha").count() == 1


def test_tenant_provision_rejects_slug_whose_hostname_is_already_routed(tenant_a):
    Domain.objects.create(domain="alias-host.localhost", tenant=tenant_a.tenant, is_primary=False)

    with pytest.raises(ValidationFailed) as excinfo:
        ProvisionedTenantFactory(slug="alias-host")

    assert excinfo.value.errors["slug"]
    assert not Tenant.objects.filter(slug="alias-host").exists()


@pytest.mark.parametrize("slug", ["abc", "a" * 40, "9lives", "my-co", "a1-b2-c3"])
def test_slug_problems_accepts_well_formed_slugs(slug):
    assert slug_problems(slug) == []


def test_tenant_provision_accepts_longest_slug(db):
    slug = "x" * 40

    provisioned = ProvisionedTenantFactory(slug=slug)

    assert provisioned.domain.domain == f"{slug}.localhost"
    assert schema_exists(f"t_{slug}")


def test_tenant_provision_maps_hyphens_to_underscores_in_schema_name(db):
    provisioned = ProvisionedTenantFactory(slug="my-co")

    assert provisioned.tenant.schema_name == "t_my_co"
    assert schema_exists("t_my_co")


def test_tenant_provision_rejects_unknown_plan(db):
    with pytest.raises(ValidationFailed) as excinfo:
        ProvisionedTenantFactory(slug="planless", plan_code="platinum")

    assert excinfo.value.errors["plan"] == ["Unknown plan “platinum”."]
    assert _nothing_left_of("planless", "t_planless")


def test_tenant_provision_requires_a_company_name(db):
    with pytest.raises(ValidationFailed) as excinfo:
        ProvisionedTenantFactory(slug="nameless", name="   ")

    assert "name" in excinfo.value.errors
    assert _nothing_left_of("nameless", "t_nameless")


def test_tenant_provision_rejects_an_overlong_company_name(db):
    with pytest.raises(ValidationFailed) as excinfo:
        ProvisionedTenantFactory(slug="wordy", name="W" * 121)

    assert "name" in excinfo.value.errors
    assert _nothing_left_of("wordy", "t_wordy")
    assert ProvisionedTenantFactory(slug="wordy", name="W" * 120).tenant.name == "W" * 120


OVERLONG_EMAIL = "o" * 64 + "@" + ".".join(["h" * 60] * 4) + ".test"  # valid syntax, 313 characters


@pytest.mark.parametrize("email", ["not-an-email", "", OVERLONG_EMAIL], ids=["malformed", "empty", "overlong"])
def test_tenant_provision_rejects_bad_owner_email_and_creates_nothing(db, email):
    with pytest.raises(ValidationFailed) as excinfo:
        ProvisionedTenantFactory(slug="mailless", owner_email=email)

    assert excinfo.value.errors["email"] == ["Enter a valid email address."]
    assert _nothing_left_of("mailless", "t_mailless")


@pytest.mark.parametrize("password", ["password", "87654321"], ids=["common", "numeric"])
def test_tenant_provision_failing_midway_leaves_nothing_behind(db, password):
    # The owner's password is checked when the owner is created, after the tenant row, the
    # schema and the domain: all of them must be gone.
    with pytest.raises(ValidationFailed) as excinfo:
        ProvisionedTenantFactory(slug="halfway", owner_password=password)

    assert "password" in excinfo.value.errors
    assert _nothing_left_of("halfway", "t_halfway")
    assert not _schema_in_information_schema("t_halfway")
    # ... and nothing blocks a corrected retry.
    assert ProvisionedTenantFactory(slug="halfway").tenant.slug == "halfway"


# --- Status state machine -------------------------------------------------------------------

STATUSES = [status.value for status in TenantStatus]
# The specification, written out rather than imported from the code under test.
ALLOWED = {
    ("trialing", "active"),
    ("trialing", "past_due"),
    ("trialing", "suspended"),
    ("trialing", "cancelled"),
    ("active", "past_due"),
    ("active", "suspended"),
    ("active", "cancelled"),
    ("past_due", "active"),
    ("past_due", "suspended"),
    ("past_due", "cancelled"),
    ("suspended", "active"),
    ("suspended", "cancelled"),
    ("cancelled", "active"),
}
ILLEGAL = sorted({(a, b) for a in STATUSES for b in STATUSES} - ALLOWED)


def _tenant_with_status(tenant_fixture, status: str) -> Tenant:
    """A fresh instance of a session tenant, put into `status` (rolled back after the test)."""
    Tenant.objects.filter(pk=tenant_fixture.tenant.pk).update(status=status)
    return Tenant.objects.get(pk=tenant_fixture.tenant.pk)


@pytest.mark.parametrize(("from_status", "to_status"), sorted(ALLOWED), ids=lambda s: s)
def test_tenant_transition_allowed_move_changes_status_and_is_audited(tenant_a, from_status, to_status):
    tenant = _tenant_with_status(tenant_a, from_status)

    result = tenant_transition(tenant=tenant, to_status=to_status, actor=SYSTEM, reason="spec")

    assert result.status == to_status
    assert Tenant.objects.get(pk=tenant.pk).status == to_status
    [event] = _public_events(action="tenant.status_changed", slug="alpha")
    assert event.data == {"from": from_status, "to": to_status, "reason": "spec"}
    assert event.target_id == str(tenant.pk)


@pytest.mark.parametrize(("from_status", "to_status"), ILLEGAL, ids=lambda s: s)
def test_tenant_transition_illegal_move_is_refused(tenant_a, from_status, to_status):
    tenant = _tenant_with_status(tenant_a, from_status)

    with pytest.raises(InvalidTransition) as excinfo:
        tenant_transition(tenant=tenant, to_status=to_status, actor=SYSTEM)

    assert excinfo.value.code == "invalid_transition"
    assert Tenant.objects.get(pk=tenant.pk).status == from_status
    assert _public_events(action="tenant.status_changed", slug="alpha") == []


def test_tenant_transition_cancelled_to_suspended_is_refused_with_clear_message(tenant_a):
    tenant = _tenant_with_status(tenant_a, TenantStatus.CANCELLED)

    with pytest.raises(InvalidTransition, match=r"A cancelled tenant cannot become suspended\."):
        tenant_suspend(tenant=tenant, actor=SYSTEM)


def test_tenant_transition_active_back_to_trialing_is_refused(tenant_a):
    tenant = _tenant_with_status(tenant_a, TenantStatus.ACTIVE)

    with pytest.raises(InvalidTransition):
        tenant_transition(tenant=tenant, to_status=TenantStatus.TRIALING, actor=SYSTEM)


def test_tenant_transition_to_unknown_status_is_refused(tenant_a):
    tenant = _tenant_with_status(tenant_a, TenantStatus.ACTIVE)

    with pytest.raises(InvalidTransition):
        tenant_transition(tenant=tenant, to_status="frozen", actor=SYSTEM)
    assert Tenant.objects.get(pk=tenant.pk).status == TenantStatus.ACTIVE


def test_tenant_lifecycle_helpers_record_every_change_with_the_actor(tenant_a):
    staff = User(pk=7, email="ops@agentry.test")
    tenant = _tenant_with_status(tenant_a, TenantStatus.ACTIVE)

    tenant_suspend(tenant=tenant, actor=Actor.for_staff(staff), reason="unpaid")
    tenant_reactivate(tenant=tenant, actor=Actor.for_staff(staff))
    tenant_cancel(tenant=tenant, actor=Actor.for_staff(staff))
    tenant_reactivate(tenant=tenant, actor=Actor.for_staff(staff))

    events = _public_events(action="tenant.status_changed", slug="alpha")
    assert [(e.data["from"], e.data["to"]) for e in events] == [
        ("active", "suspended"),
        ("suspended", "active"),
        ("active", "cancelled"),
        ("cancelled", "active"),
    ]
    assert events[0].data["reason"] == "unpaid"
    assert {(e.actor_type, e.actor_id, e.actor_label) for e in events} == {(ActorType.STAFF, "7", "ops@agentry.test")}
    assert Tenant.objects.get(pk=tenant.pk).status == TenantStatus.ACTIVE


def test_tenant_transition_refused_while_deletion_is_pending(db):
    tenant = ProvisionedTenantFactory(status=TenantStatus.ACTIVE).tenant
    tenant_request_deletion(tenant=tenant, confirm_slug=tenant.slug, actor=SYSTEM)

    with pytest.raises(InvalidTransition):
        tenant_suspend(tenant=tenant, actor=SYSTEM)
    assert Tenant.objects.get(pk=tenant.pk).status == TenantStatus.ACTIVE


# --- Deletion, restore, purge ---------------------------------------------------------------


def test_tenant_request_deletion_requires_the_slug_typed_back(db):
    tenant = ProvisionedTenantFactory(slug="keepme").tenant

    for wrong in ("", "KEEPME", "keepme ", "other"):
        with pytest.raises(ValidationFailed) as excinfo:
            tenant_request_deletion(tenant=tenant, confirm_slug=wrong, actor=SYSTEM)
        assert excinfo.value.errors["confirm_slug"] == ["Type “keepme” to confirm."]

    stored = Tenant.objects.get(pk=tenant.pk)
    assert stored.deletion_requested_at is None
    assert stored.purge_after is None
    assert _public_events(action="tenant.deletion_requested", slug="keepme") == []


def test_tenant_request_deletion_schedules_purge_after_the_default_grace_period(db):
    tenant = ProvisionedTenantFactory(slug="leaving").tenant

    with override_settings(TENANT_DELETION_GRACE_DAYS=10), time_machine.travel(FROZEN_NOW, tick=False):
        tenant_request_deletion(tenant=tenant, confirm_slug="leaving", actor=SYSTEM)

    stored = Tenant.objects.get(pk=tenant.pk)
    assert stored.deletion_requested_at == FROZEN_NOW
    assert stored.purge_after == FROZEN_NOW + timedelta(days=10)
    assert stored.is_deleted
    assert tenant not in tenant_list_live()
    [event] = _public_events(action="tenant.deletion_requested", slug="leaving")
    assert event.data == {"purge_after": (FROZEN_NOW + timedelta(days=10)).isoformat()}
    assert schema_exists(tenant.schema_name)  # data kept during the grace period


def test_tenant_request_deletion_accepts_an_explicit_grace_period(db):
    tenant = ProvisionedTenantFactory().tenant

    with time_machine.travel(FROZEN_NOW, tick=False):
        tenant_request_deletion(tenant=tenant, confirm_slug=tenant.slug, actor=SYSTEM, grace_days=3)

    assert Tenant.objects.get(pk=tenant.pk).purge_after == FROZEN_NOW + timedelta(days=3)


def test_tenant_request_deletion_rejects_negative_grace_period(db):
    tenant = ProvisionedTenantFactory().tenant

    with pytest.raises(ValidationFailed) as excinfo:
        tenant_request_deletion(tenant=tenant, confirm_slug=tenant.slug, actor=SYSTEM, grace_days=-1)

    assert "grace_days" in excinfo.value.errors
    assert not Tenant.objects.get(pk=tenant.pk).is_deleted


def test_tenant_request_deletion_twice_is_a_conflict(db):
    tenant = ProvisionedTenantFactory().tenant
    tenant_request_deletion(tenant=tenant, confirm_slug=tenant.slug, actor=SYSTEM)

    with pytest.raises(Conflict):
        tenant_request_deletion(tenant=Tenant.objects.get(pk=tenant.pk), confirm_slug=tenant.slug, actor=SYSTEM)


def test_tenant_request_deletion_takes_the_host_offline_on_the_next_request(db):
    provisioned = ProvisionedTenantFactory(slug="goner")
    client = client_for("goner.localhost")
    assert client.get("/accounts/login/").status_code == 200  # route now cached

    tenant_request_deletion(tenant=provisioned.tenant, confirm_slug="goner", actor=SYSTEM)

    response = client.get("/accounts/login/")
    assert response.status_code == 404
    assert b"No workspace here" in response.content


def test_tenant_restore_brings_a_deleted_tenant_back_online(db):
    provisioned = ProvisionedTenantFactory(slug="comeback")
    client = client_for("comeback.localhost")
    tenant_request_deletion(tenant=provisioned.tenant, confirm_slug="comeback", actor=SYSTEM)
    assert client.get("/accounts/login/").status_code == 404

    tenant_restore(tenant=Tenant.objects.get(pk=provisioned.tenant.pk), actor=SYSTEM)

    stored = Tenant.objects.get(pk=provisioned.tenant.pk)
    assert stored.deletion_requested_at is None
    assert stored.purge_after is None
    assert client.get("/accounts/login/").status_code == 200
    assert len(_public_events(action="tenant.restored", slug="comeback")) == 1


def test_tenant_restore_of_a_live_tenant_is_a_conflict(db):
    tenant = ProvisionedTenantFactory().tenant

    with pytest.raises(Conflict):
        tenant_restore(tenant=tenant, actor=SYSTEM)


def test_tenant_purge_refused_before_the_grace_period_ends(db):
    tenant = ProvisionedTenantFactory(slug="patience").tenant
    with time_machine.travel(FROZEN_NOW, tick=False):
        tenant_request_deletion(tenant=tenant, confirm_slug="patience", actor=SYSTEM, grace_days=30)

    almost_due = FROZEN_NOW + timedelta(days=30) - timedelta(minutes=1)
    with time_machine.travel(almost_due, tick=False), pytest.raises(Conflict):
        tenant_purge(tenant=Tenant.objects.get(pk=tenant.pk), actor=SYSTEM)

    assert Tenant.objects.filter(pk=tenant.pk).exists()
    assert schema_exists("t_patience")


def test_tenant_purge_refused_for_a_tenant_not_scheduled_for_deletion(db):
    tenant = ProvisionedTenantFactory(slug="alive").tenant

    with pytest.raises(Conflict):
        tenant_purge(tenant=tenant, actor=SYSTEM)

    assert schema_exists("t_alive")


def test_tenant_purge_after_grace_drops_schema_and_frees_the_slug(db):
    tenant = ProvisionedTenantFactory(slug="purged").tenant
    with time_machine.travel(FROZEN_NOW, tick=False):
        tenant_request_deletion(tenant=tenant, confirm_slug="purged", actor=SYSTEM, grace_days=30)

    _as_if_committed()

    with time_machine.travel(FROZEN_NOW + timedelta(days=30, minutes=1), tick=False):
        tenant_purge(tenant=Tenant.objects.get(pk=tenant.pk), actor=SYSTEM)

    assert not schema_exists("t_purged")
    assert not _schema_in_information_schema("t_purged")
    assert not Tenant.objects.filter(slug="purged").exists()
    assert not Domain.objects.filter(domain="purged.localhost").exists()
    [event] = _public_events(action="tenant.purged", slug="purged")
    assert event.data == {"schema": "t_purged"}
    # The audit trail in public outlives the tenant.
    assert _public_events(action="tenant.created", slug="purged")
    assert client_for("purged.localhost").get("/").status_code == 404
    tenant_validate_new_slug("purged")  # free again
    assert ProvisionedTenantFactory(slug="purged").tenant.schema_name == "t_purged"


def test_tenants_purge_due_purges_only_tenants_past_their_grace_period(db):
    due = ProvisionedTenantFactory(slug="due-now").tenant
    waiting = ProvisionedTenantFactory(slug="not-yet").tenant
    live = ProvisionedTenantFactory(slug="still-live").tenant
    with time_machine.travel(FROZEN_NOW, tick=False):
        tenant_request_deletion(tenant=due, confirm_slug="due-now", actor=SYSTEM, grace_days=1)
        tenant_request_deletion(tenant=waiting, confirm_slug="not-yet", actor=SYSTEM, grace_days=30)

    _as_if_committed()

    with time_machine.travel(FROZEN_NOW + timedelta(days=2), tick=False):
        purged = tenants_purge_due()

    assert purged == ["due-now"]
    assert not schema_exists(due.schema_name)
    assert schema_exists(waiting.schema_name)
    assert schema_exists(live.schema_name)
    assert set(Tenant.objects.filter(slug__in=["due-now", "not-yet", "still-live"]).values_list("slug", flat=True)) == {
        "not-yet",
        "still-live",
    }
    [event] = _public_events(action="tenant.purged", slug="due-now")
    assert event.actor_label == "deletion-scheduler"


def test_tenants_purge_due_with_nothing_due_does_nothing(tenant_a, tenant_b):
    assert tenants_purge_due() == []
    assert schema_exists(tenant_a.schema)
    assert schema_exists(tenant_b.schema)


def test_tenant_provision_concurrent_duplicate_slug_is_a_validation_error(db, monkeypatch):
    """Two signups racing for one slug both pass the check; the loser gets a clear error, not a 500."""
    ProvisionedTenantFactory(slug="racer")
    monkeypatch.setattr("tenants.services.tenant_validate_new_slug", lambda slug: None)
    with pytest.raises(ValidationFailed) as caught:
        ProvisionedTenantFactory(slug="racer", owner_email="two@racer.test")
    assert caught.value.errors == {"slug": ["The address “racer” is already taken."]}
    assert Tenant.objects.filter(slug="racer").count() == 1


def test_tenant_provision_works_while_connection_is_on_a_tenant_schema(tenant_a):
    """A previous request (or test client) may leave the connection on a tenant's schema."""
    with schema_context(tenant_a.schema):
        provisioned = ProvisionedTenantFactory(slug="from-tenant-ctx")
        assert connection.schema_name == tenant_a.schema  # restored afterwards
    assert Tenant.objects.filter(slug="from-tenant-ctx").exists()
    assert schema_exists(provisioned.tenant.schema_name)


# --- Details owned by billing ------------------------------------------------------------------


def test_tenant_update_details_refuses_plan_and_trial_end_when_subscribed(tenant_b):

    tenant = Tenant.objects.get(pk=tenant_b.tenant.pk)
    tenant.plan = Plan.objects.get(code="enterprise")
    tenant.trial_ends_at = timezone.now() + timedelta(days=20)

    with pytest.raises(ValidationFailed) as excinfo:
        tenant_update_details(tenant=tenant, changed_fields=["plan", "trial_ends_at"], actor=Actor.system("tests"))

    assert "Extend trial" in excinfo.value.detail
    assert set(excinfo.value.errors) == {"plan", "trial_ends_at"}
    assert Tenant.objects.get(pk=tenant.pk).plan.code == "starter"


def test_tenant_update_details_allows_plan_when_no_subscription(tenant_b):

    Subscription.objects.filter(tenant_id=tenant_b.tenant.pk).delete()
    tenant = Tenant.objects.get(pk=tenant_b.tenant.pk)
    tenant.plan = Plan.objects.get(code="enterprise")

    tenant_update_details(tenant=tenant, changed_fields=["plan"], actor=Actor.system("tests"))

    assert Tenant.objects.get(pk=tenant.pk).plan.code == "enterprise"


def test_tenant_billing_fields_update_refuses_other_fields(tenant_b):

    tenant = Tenant.objects.get(pk=tenant_b.tenant.pk)
    tenant.name = "Renamed"

    with pytest.raises(ValidationFailed):
        tenant_billing_fields_update(tenant=tenant, changed_fields=["name"], actor=Actor.system("tests"))
