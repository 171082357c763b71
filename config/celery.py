"""Celery app. Tasks sent inside a tenant's schema run in that schema (tenant-schemas-celery)."""

import os

from tenant_schemas_celery.app import CeleryApp as TenantAwareCeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = TenantAwareCeleryApp("agentry")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
