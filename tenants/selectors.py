from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Count, QuerySet
from django.utils import timezone

from tenants.models import Tenant, TenantStatus


def tenant_list_live() -> QuerySet[Tenant]:
    """Tenants that are not scheduled for deletion (the template schema is never a tenant row)."""
    return Tenant.objects.filter(deletion_requested_at__isnull=True).select_related("plan")


def tenant_get(*, slug: str | None = None, schema_name: str | None = None) -> Tenant | None:
    filters = {"slug": slug} if slug is not None else {"schema_name": schema_name}
    return Tenant.objects.select_related("plan").filter(**filters).first()


@dataclass(frozen=True)
class TenantOverview:
    total: int
    by_status: dict[str, int]
    by_plan: dict[str, int]
    scheduled_for_deletion: int
    trials_ending_soon: list[Tenant]
    newest: list[Tenant]


def tenant_overview(*, trial_horizon_days: int = 3) -> TenantOverview:
    """Counts for the staff dashboard (live tenants only), plus trials about to end and newest signups."""
    live = tenant_list_live()
    now = timezone.now()
    status_labels = dict(TenantStatus.choices)
    by_status = {status_labels[row["status"]]: row["n"] for row in live.values("status").annotate(n=Count("id"))}
    by_plan = {row["plan__name"]: row["n"] for row in live.values("plan__name").annotate(n=Count("id"))}
    ending = live.filter(status=TenantStatus.TRIALING, trial_ends_at__lte=now + timedelta(days=trial_horizon_days))
    return TenantOverview(
        total=live.count(),
        by_status=by_status,
        by_plan=by_plan,
        scheduled_for_deletion=Tenant.objects.filter(deletion_requested_at__isnull=False).count(),
        trials_ending_soon=list(ending.order_by("trial_ends_at")[:10]),
        newest=list(live.order_by("-created_at")[:10]),
    )
