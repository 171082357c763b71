from django.db.models import QuerySet

from tenants.models import Tenant


def tenant_list_live() -> QuerySet[Tenant]:
    """Tenants that are not scheduled for deletion (the template schema is never a tenant row)."""
    return Tenant.objects.filter(deletion_requested_at__isnull=True).select_related("plan")


def tenant_get(*, slug: str | None = None, schema_name: str | None = None) -> Tenant | None:
    filters = {"slug": slug} if slug is not None else {"schema_name": schema_name}
    return Tenant.objects.select_related("plan").filter(**filters).first()
