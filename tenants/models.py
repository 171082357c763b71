"""Public-schema models: the tenant (a customer company) and the hostnames that route to it."""

from __future__ import annotations

from django.db import connection, models
from django.db.migrations.executor import MigrationExecutor
from django_tenants.models import DomainMixin, TenantMixin
from django_tenants.utils import get_tenant_base_schema, schema_context

from tenants.cloning import TemplateClone
from tenants.context import set_schema_to_public


class TenantStatus(models.TextChoices):
    TRIALING = "trialing", "Trialing"
    ACTIVE = "active", "Active"
    PAST_DUE = "past_due", "Past due"
    SUSPENDED = "suspended", "Suspended"
    CANCELLED = "cancelled", "Cancelled"


class Tenant(TenantMixin):
    slug = models.SlugField(max_length=40, unique=True)
    name = models.CharField("display name", max_length=120)
    status = models.CharField(max_length=16, choices=TenantStatus.choices, default=TenantStatus.TRIALING, db_index=True)
    plan = models.ForeignKey("billing.Plan", on_delete=models.PROTECT, related_name="tenants")
    trial_ends_at = models.DateTimeField(null=True, blank=True)
    locale = models.CharField(max_length=10, default="en")
    timezone = models.CharField(max_length=64, default="UTC")
    currency = models.CharField(max_length=3, default="USD")
    industry = models.CharField(max_length=64, blank=True)
    billing_email = models.EmailField(blank=True)
    # Staff overrides of the plan's API request limits (null: the plan decides).
    api_rate_limit_per_minute = models.PositiveIntegerField(null=True, blank=True)
    api_rate_limit_burst = models.PositiveIntegerField(null=True, blank=True)
    # Conversations whose last message is older than this are purged daily (conversations.retention);
    # null keeps them until a visitor's data is erased.
    conversation_retention_days = models.PositiveIntegerField(null=True, blank=True)
    # Deletion is two-step: requested (portal/API gone at once, data kept for the grace
    # period), then purged (schema dropped) by the hourly task or an operator.
    deletion_requested_at = models.DateTimeField(null=True, blank=True)
    purge_after = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Schemas are created explicitly by `tenant_provision`, never as a side effect of save().
    auto_create_schema = False
    auto_drop_schema = False
    # Copy the template's rows too: it holds only migration records and content types, so
    # the clone starts fully migrated and creation never replays migrations.
    clone_mode = "DATA"

    class Meta:
        ordering = ("name",)

    def __str__(self) -> str:
        return f"{self.name} ({self.slug})"

    @property
    def is_deleted(self) -> bool:
        return self.deletion_requested_at is not None

    @property
    def email(self) -> str:
        """dj-stripe's subscriber contract: the address Stripe customers are created with."""
        return self.billing_email

    def create_schema(self, check_if_exists: bool = False, sync_schema: bool = True, verbosity: int = 1) -> bool:
        """Clone the migrated template schema; migrate only if the template lagged behind.

        django-tenants' own clone path always runs `migrate_schemas --fake`, which loads and
        renders the full migration state (~0.4 s). Cloning with data copies the template's
        `django_migrations` rows, so a cheap plan check is enough to prove the clone is current.
        """
        base_schema = get_tenant_base_schema()
        TemplateClone().clone_schema(base_schema, self.schema_name, self.clone_mode)
        with schema_context(self.schema_name):
            executor = MigrationExecutor(connection)
            pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if pending:
            from django.core.management import call_command

            call_command("migrate_schemas", tenant=True, schema_name=self.schema_name, interactive=False, verbosity=0)
        set_schema_to_public()
        return True


class Domain(DomainMixin):
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.domain
