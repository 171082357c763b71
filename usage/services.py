"""Writes of the usage app that people make (the rollup's writes are in usage.rollup)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.cache import caches
from django.db import transaction
from django_tenants.utils import schema_context

from audit.services import Actor, audit_record
from billing.entitlements import entitlement_require_feature
from billing.models import Feature
from usage.models import UsageSettings
from usage.selectors import usage_settings_cache_key

if TYPE_CHECKING:
    from tenants.models import Tenant


def usage_overage_set(*, tenant: Tenant, opt_in: bool, actor: Actor) -> UsageSettings:
    """Opt the workspace in to (or out of) overage: past a monthly limit, keep serving and bill
    the overage instead of answering 429 `quota_exceeded`.

    Opting in needs the plan's overage billing (raises `FeatureNotInPlan`); opting out is always
    allowed. Audited; takes effect on the next request.
    """
    if opt_in:
        entitlement_require_feature(tenant=tenant, feature=Feature.OVERAGE_BILLING)
    with schema_context(tenant.schema_name), transaction.atomic():
        settings_row, _ = UsageSettings.objects.select_for_update().get_or_create(pk=1)
        if settings_row.overage_opt_in != opt_in:
            settings_row.overage_opt_in = opt_in
            settings_row.updated_by_label = actor.label
            settings_row.save()
            audit_record(action="usage.overage_opted_in" if opt_in else "usage.overage_opted_out", actor=actor)
    key = usage_settings_cache_key(tenant=tenant)
    caches["routing"].delete(key)
    transaction.on_commit(lambda: caches["routing"].delete(key))  # after a concurrent re-cache
    return settings_row
