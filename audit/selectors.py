from django.db.models import QuerySet

from audit.models import AuditEvent


def audit_event_list(*, tenant_slug: str | None = None, action_prefix: str = "") -> QuerySet[AuditEvent]:
    """Events of the current schema, newest first; in public, optionally those of one tenant."""
    events = AuditEvent.objects.all()
    if tenant_slug is not None:
        events = events.filter(tenant_slug=tenant_slug)
    if action_prefix:
        events = events.filter(action__startswith=action_prefix)
    return events
