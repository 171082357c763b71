"""Every write to tenants: provisioning, the status state machine, deletion and purge."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import Role, User
from accounts.services import email_normalise, user_create
from audit.services import Actor, audit_record, audit_record_platform_and_tenant
from billing.entitlements import entitlements_forget
from billing.models import BillingCycle, Plan
from billing.selectors import plan_get, subscription_of_tenant
from config.errors import Conflict, InvalidTransition, ValidationFailed
from knowledge.services import knowledge_files_purge
from tenants.context import on_public_schema
from tenants.models import Domain, Tenant, TenantStatus
from tenants.routing import routing_cache_forget
from tenants.slugs import schema_name_for, slug_problems

logger = logging.getLogger(__name__)

ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    TenantStatus.TRIALING: frozenset(
        {TenantStatus.ACTIVE, TenantStatus.PAST_DUE, TenantStatus.SUSPENDED, TenantStatus.CANCELLED}
    ),
    TenantStatus.ACTIVE: frozenset({TenantStatus.PAST_DUE, TenantStatus.SUSPENDED, TenantStatus.CANCELLED}),
    TenantStatus.PAST_DUE: frozenset({TenantStatus.ACTIVE, TenantStatus.SUSPENDED, TenantStatus.CANCELLED}),
    TenantStatus.SUSPENDED: frozenset({TenantStatus.ACTIVE, TenantStatus.CANCELLED}),
    TenantStatus.CANCELLED: frozenset({TenantStatus.ACTIVE}),
}


@dataclass(frozen=True)
class ProvisionedTenant:
    tenant: Tenant
    domain: Domain
    owner: User


def tenant_domain_for(slug: str) -> str:
    return f"{slug}.{settings.PLATFORM_DOMAIN}"


def tenant_validate_new_slug(slug: str) -> None:
    """Raise `ValidationFailed` (field `slug`) unless `slug` is well-formed, unreserved and free."""
    problems = slug_problems(slug)
    if not problems and (
        Tenant.objects.filter(slug=slug).exists() or Domain.objects.filter(domain=tenant_domain_for(slug)).exists()
    ):
        problems = [f"The address “{slug}” is already taken."]
    if problems:
        raise ValidationFailed(problems[0], errors={"slug": problems})


def _new_tenant_name_check(name: str) -> None:
    max_length = Tenant._meta.get_field("name").max_length or 0
    if not name:
        raise ValidationFailed("A company name is required.", errors={"name": ["This field is required."]})
    if len(name) > max_length:
        problem = f"The company name can be at most {max_length} characters long."
        raise ValidationFailed(problem, errors={"name": [problem]})


def _plan_or_error(plan_code: str) -> Plan:
    plan = plan_get(code=plan_code)
    if plan is None:
        raise ValidationFailed(f"Unknown plan “{plan_code}”.", errors={"plan": [f"Unknown plan “{plan_code}”."]})
    return plan


@on_public_schema
def tenant_provision(
    *,
    slug: str,
    name: str,
    owner_email: str,
    owner_password: str | None,
    plan_code: str,
    actor: Actor,
    status: str = TenantStatus.TRIALING,
    owner_name: str = "",
    locale: str = "en",
    industry: str = "",
    owner_email_verified: bool = True,
) -> ProvisionedTenant:
    """Create a tenant with its schema (cloned from the template), primary domain and owner.

    All or nothing: the tenant row, schema, domain and owner are created in one transaction
    (PostgreSQL DDL is transactional), so a failure leaves no half-made tenant behind.
    `owner_email_verified=False` (self-service signup) leaves the owner's address to be confirmed
    by the emailed link; operators provisioning for a known customer keep the default.
    A trialing tenant gets a trial subscription, an active one a paid monthly subscription with
    its first invoice open (`billing.backends`).
    Raises `ValidationFailed` for a bad slug, name, plan or owner email/password.
    """
    slug, name = slug.strip().lower(), name.strip()
    _new_tenant_name_check(name)
    tenant_validate_new_slug(slug)
    plan = _plan_or_error(plan_code)
    owner_email = email_normalise(owner_email)  # before any row: the tenant's billing email is the owner's
    trial_ends_at = timezone.now() + timedelta(days=settings.DEFAULT_TRIAL_DAYS)
    with transaction.atomic():
        try:
            tenant = Tenant.objects.create(
                slug=slug,
                name=name,
                schema_name=schema_name_for(slug),
                plan=plan,
                status=status,
                trial_ends_at=trial_ends_at if status == TenantStatus.TRIALING else None,
                locale=locale,
                industry=industry,
                billing_email=owner_email,
            )
        except (IntegrityError, DjangoValidationError):  # a concurrent signup took the slug since the check
            raise ValidationFailed(
                f"The address “{slug}” is already taken.", errors={"slug": [f"The address “{slug}” is already taken."]}
            ) from None
        tenant.create_schema()
        domain = Domain.objects.create(domain=tenant_domain_for(slug), tenant=tenant, is_primary=True)
        with schema_context(tenant.schema_name):
            owner = user_create(
                email=owner_email,
                password=owner_password or None,
                full_name=owner_name,
                role=Role.OWNER,
                email_verified=owner_email_verified,
            )
            audit_record(action="tenant.created", actor=actor, target=tenant, data={"plan": plan.code})
        audit_record(
            action="tenant.created",
            actor=actor,
            target=tenant,
            tenant_slug=slug,
            data={"plan": plan.code, "status": status},
        )
        _subscription_start(tenant=tenant, status=status, actor=actor)
    routing_cache_forget(hostnames=[domain.domain])
    logger.info("tenant provisioned slug=%s plan=%s", slug, plan.code)
    return ProvisionedTenant(tenant=tenant, domain=domain, owner=owner)


def _subscription_start(*, tenant: Tenant, status: str, actor: Actor) -> None:
    """A trialing tenant gets a trial; an active one a monthly subscription with its first invoice open."""
    from billing.backends import billing_backend  # billing.backends.local calls back into this module

    if status == TenantStatus.TRIALING:
        billing_backend().start_trial(tenant=tenant, actor=actor)
    elif status == TenantStatus.ACTIVE:
        billing_backend().start_paid(tenant=tenant, billing_cycle=BillingCycle.MONTHLY, actor=actor)


@on_public_schema
def tenant_transition(*, tenant: Tenant, to_status: str, actor: Actor, reason: str = "") -> Tenant:
    """Move `tenant` to `to_status` if the state machine allows it; record it in the audit trail.

    Raises `InvalidTransition` for a move the state machine forbids (or on a deleted tenant).
    """
    with transaction.atomic():
        tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
        from_status = tenant.status
        if tenant.is_deleted:
            raise InvalidTransition("This tenant is scheduled for deletion; restore it first.")
        if to_status not in ALLOWED_TRANSITIONS.get(from_status, frozenset()):
            raise InvalidTransition(
                f"A {from_status} tenant cannot become {to_status}.",
                extra={"from_status": from_status, "to_status": to_status},
            )
        tenant.status = to_status
        tenant.save(update_fields=["status", "updated_at"])
        audit_record_platform_and_tenant(
            tenant=tenant,
            action="tenant.status_changed",
            actor=actor,
            data={"from": from_status, "to": to_status, "reason": reason},
        )
    routing_cache_forget(tenant=tenant)
    logger.info("tenant %s status %s -> %s", tenant.slug, from_status, to_status)
    return tenant


# Fields staff may edit directly; status and deletion only move through the lifecycle services.
EDITABLE_FIELDS = frozenset(
    {
        "name",
        "plan",
        "trial_ends_at",
        "locale",
        "timezone",
        "currency",
        "industry",
        "billing_email",
        "api_rate_limit_per_minute",
        "api_rate_limit_burst",
        "conversation_retention_days",
    }
)


# Owned by the subscription once the tenant has one: changed only through billing's services
# (upgrade/downgrade, "Extend trial…"), which call `tenant_billing_fields_update`.
BILLING_OWNED_FIELDS = frozenset({"plan", "trial_ends_at"})


@on_public_schema
def tenant_update_details(*, tenant: Tenant, changed_fields: list[str], actor: Actor) -> Tenant:
    """Save edits already applied to `tenant` (e.g. by the admin form) and audit what changed.

    Raises `ValidationFailed` if a field outside EDITABLE_FIELDS was changed, or if `plan` or
    `trial_ends_at` was changed while the tenant has a subscription (those go through billing).
    """
    forbidden = sorted(set(changed_fields) - EDITABLE_FIELDS)
    if forbidden:
        raise ValidationFailed(f"These fields cannot be edited directly: {', '.join(forbidden)}.")
    billing_owned = sorted(set(changed_fields) & BILLING_OWNED_FIELDS)
    if billing_owned and subscription_of_tenant(tenant=tenant) is not None:
        problem = (
            f"{' and '.join(billing_owned)} follow the tenant's subscription: use the billing actions "
            "(“Extend trial…” on tenants, or a plan change on the subscription) instead."
        )
        raise ValidationFailed(problem, errors={field: [problem] for field in billing_owned})
    return _details_save(tenant=tenant, changed_fields=changed_fields, actor=actor)


@on_public_schema
def tenant_billing_fields_update(*, tenant: Tenant, changed_fields: list[str], actor: Actor) -> Tenant:
    """Save `plan` / `trial_ends_at` already applied to `tenant`: for billing's services only, which keep
    the subscription and the tenant in step. Raises `ValidationFailed` for any other field."""
    forbidden = sorted(set(changed_fields) - BILLING_OWNED_FIELDS)
    if forbidden:
        raise ValidationFailed(f"Billing does not own these fields: {', '.join(forbidden)}.")
    return _details_save(tenant=tenant, changed_fields=changed_fields, actor=actor)


def _details_save(*, tenant: Tenant, changed_fields: list[str], actor: Actor) -> Tenant:
    if not changed_fields:
        return tenant
    before = Tenant.objects.get(pk=tenant.pk)
    with transaction.atomic():
        tenant.save(update_fields=[*changed_fields, "updated_at"])
        changes = {field: [str(getattr(before, field)), str(getattr(tenant, field))] for field in changed_fields}
        audit_record_platform_and_tenant(tenant=tenant, action="tenant.updated", actor=actor, data={"changes": changes})
    routing_cache_forget(tenant=tenant)
    if "plan" in changed_fields:
        entitlements_forget(tenant_ids=[tenant.pk])
    return tenant


def tenant_suspend(*, tenant: Tenant, actor: Actor, reason: str = "") -> Tenant:
    return tenant_transition(tenant=tenant, to_status=TenantStatus.SUSPENDED, actor=actor, reason=reason)


def tenant_reactivate(*, tenant: Tenant, actor: Actor, reason: str = "") -> Tenant:
    return tenant_transition(tenant=tenant, to_status=TenantStatus.ACTIVE, actor=actor, reason=reason)


def tenant_cancel(*, tenant: Tenant, actor: Actor, reason: str = "") -> Tenant:
    return tenant_transition(tenant=tenant, to_status=TenantStatus.CANCELLED, actor=actor, reason=reason)


@on_public_schema
def tenant_request_deletion(
    *, tenant: Tenant, confirm_slug: str, actor: Actor, grace_days: int | None = None
) -> Tenant:
    """Take the tenant offline now and schedule its schema to be dropped after the grace period.

    `confirm_slug` must repeat the tenant's slug: deletion is never one click away.
    """
    if confirm_slug != tenant.slug:
        raise ValidationFailed(
            "Type the tenant's slug to confirm deletion.",
            errors={"confirm_slug": [f"Type “{tenant.slug}” to confirm."]},
        )
    grace = settings.TENANT_DELETION_GRACE_DAYS if grace_days is None else grace_days
    if grace < 0:
        raise ValidationFailed("The grace period cannot be negative.", errors={"grace_days": ["Must be 0 or more."]})
    if tenant.is_deleted:
        raise Conflict("This tenant is already scheduled for deletion.")
    now = timezone.now()
    tenant.deletion_requested_at = now
    tenant.purge_after = now + timedelta(days=grace)
    tenant.save(update_fields=["deletion_requested_at", "purge_after", "updated_at"])
    audit_record(
        action="tenant.deletion_requested",
        actor=actor,
        target=tenant,
        tenant_slug=tenant.slug,
        data={"purge_after": tenant.purge_after.isoformat()},
    )
    routing_cache_forget(tenant=tenant)
    return tenant


@on_public_schema
def tenant_restore(*, tenant: Tenant, actor: Actor) -> Tenant:
    """Undo a deletion request during the grace period."""
    if not tenant.is_deleted:
        raise Conflict("This tenant is not scheduled for deletion.")
    tenant.deletion_requested_at = None
    tenant.purge_after = None
    tenant.save(update_fields=["deletion_requested_at", "purge_after", "updated_at"])
    audit_record(action="tenant.restored", actor=actor, target=tenant, tenant_slug=tenant.slug)
    routing_cache_forget(tenant=tenant)
    return tenant


@on_public_schema
def tenant_purge(*, tenant: Tenant, actor: Actor) -> None:
    """Drop the schema and remove the tenant for good. Only once the grace period is over."""
    if not tenant.is_deleted or tenant.purge_after is None or tenant.purge_after > timezone.now():
        raise Conflict("Only a tenant whose deletion grace period has ended can be purged.")
    slug, schema = tenant.slug, tenant.schema_name
    routing_cache_forget(tenant=tenant)
    with transaction.atomic():
        Domain.objects.filter(tenant=tenant).delete()
        with connection.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        Tenant.objects.filter(pk=tenant.pk).delete()
        audit_record(action="tenant.purged", actor=actor, tenant_slug=slug, data={"schema": schema})
        # Files outside the database go once the drop is committed (a rollback keeps them).
        transaction.on_commit(lambda: knowledge_files_purge(schema_name=schema))
    logger.info("tenant purged slug=%s schema=%s", slug, schema)


@on_public_schema
def tenants_purge_due(*, actor: Actor | None = None) -> list[str]:
    """Purge every tenant whose grace period has ended; returns their slugs."""
    due = Tenant.objects.filter(deletion_requested_at__isnull=False, purge_after__lte=timezone.now())
    purged = []
    for tenant in due:
        tenant_purge(tenant=tenant, actor=actor or Actor.system("deletion-scheduler"))
        purged.append(tenant.slug)
    return purged


def generate_password() -> str:
    return secrets.token_urlsafe(12)
