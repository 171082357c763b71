from datetime import datetime

from django.db.models import Q, QuerySet

from audit.models import AuditEvent


def audit_event_list(
    *,
    tenant_slug: str | None = None,
    action: str = "",
    actor: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[AuditEvent]:
    """Events of the current schema, newest first. `action` ending in "." matches a prefix."""
    events = AuditEvent.objects.all()
    if tenant_slug is not None:
        events = events.filter(tenant_slug=tenant_slug)
    if action:
        events = events.filter(action__startswith=action) if action.endswith(".") else events.filter(action=action)
    if actor:
        events = events.filter(Q(actor_id=actor) | Q(actor_label__iexact=actor))
    if since:
        events = events.filter(occurred_at__gte=since)
    if until:
        events = events.filter(occurred_at__lte=until)
    return events


def audit_action_list() -> list[str]:
    """The distinct actions recorded in the current schema, sorted (for filter menus)."""
    return list(AuditEvent.objects.order_by("action").values_list("action", flat=True).distinct())
