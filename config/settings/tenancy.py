"""Schema-per-tenant routing (django-tenants): which apps live where, and how tenants are created."""

from config.env import env

# Apps whose tables live only in the public schema (platform-wide data).
SHARED_ONLY_APPS = [
    "django_tenants",
    "tenants",
    "billing",
    "apikeys",
    "metering",
    "djstripe",
    "stripe_billing",
    "config.apps.AgentryAdminConfig",
]

# Apps whose tables exist in every tenant schema *and* in public: users and sessions are
# per schema, so staff (public) and each tenant's customers are separate populations.
SHARED_AND_TENANT_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "accounts",
    "audit",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "portal",
]

TENANT_ONLY_APPS = [
    "api",
    "agents",
    "branding",
    "usage",
    "webhooks",
    "notifications",
    "alerts",
    "knowledge",
    "conversations",
    "leads",
    "widget",
]

THIRD_PARTY_STATELESS_APPS = [
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "django_prometheus",
]

SHARED_APPS = SHARED_ONLY_APPS + SHARED_AND_TENANT_APPS + THIRD_PARTY_STATELESS_APPS
TENANT_APPS = SHARED_AND_TENANT_APPS + TENANT_ONLY_APPS
INSTALLED_APPS = list(dict.fromkeys(SHARED_APPS + TENANT_APPS))

TENANT_MODEL = "tenants.Tenant"
TENANT_DOMAIN_MODEL = "tenants.Domain"
PUBLIC_SCHEMA_NAME = "public"


# New tenants are cloned from this migrated, empty schema instead of replaying migrations.
# It has no Tenant row, so it never appears in tenant loops; `manage.py sync_tenant_template`
# keeps it migrated (run by `make migrate`).
TENANT_BASE_SCHEMA = "tenant_template"
TENANT_CREATION_FAKES_MIGRATIONS = True
# Skip redundant `SET search_path` when consecutive queries target the same tenant.
TENANT_LIMIT_SET_CALLS = True
# `migrate_schemas --executor=multiprocessing` fans tenant migrations out over processes.
TENANT_MULTIPROCESSING_MAX_PROCESSES = env.int("TENANT_MIGRATION_PROCESSES", default=4)
TENANT_MULTIPROCESSING_CHUNKS = 2

# Tenant lifecycle knobs.
DEFAULT_TRIAL_DAYS = env.int("DEFAULT_TRIAL_DAYS", default=14)
TENANT_DELETION_GRACE_DAYS = env.int("TENANT_DELETION_GRACE_DAYS", default=30)
# Seconds a hostname → tenant lookup is cached (explicitly invalidated on every change).
TENANT_ROUTING_CACHE_SECONDS = env.int("TENANT_ROUTING_CACHE_SECONDS", default=300)
