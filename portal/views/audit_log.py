"""The workspace's audit trail, filterable and paginated. Owners and admins (MANAGE_SETTINGS)."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render

from accounts.permissions import Permission
from audit.models import ActorType, AuditEvent
from audit.selectors import audit_action_list, audit_event_list
from portal.access import permission_required
from portal.forms import AuditLogFilterForm
from tenants.context import TenantHttpRequest

EVENTS_PER_PAGE = 50


@dataclass(frozen=True)
class AuditRow:
    event: AuditEvent
    # What to put in the actor filter to see only this actor's events: the key id for API
    # keys (names need not be unique), the email (or label) for people and the system.
    actor_filter: str


def _actor_filter(event: AuditEvent) -> str:
    if event.actor_type == ActorType.API_KEY:
        return event.actor_id or event.actor_label
    return event.actor_label or event.actor_id


@permission_required(Permission.MANAGE_SETTINGS)
def audit_log(request: TenantHttpRequest) -> HttpResponse:
    form = AuditLogFilterForm(request.GET or None, actions=audit_action_list())
    if form.is_bound and not form.is_valid():
        events = audit_event_list().none()
    else:
        events = audit_event_list(**form.selector_filters()) if form.is_bound else audit_event_list()
    page = Paginator(events, EVENTS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "rows": [AuditRow(event=event, actor_filter=_actor_filter(event)) for event in page.object_list],
        "is_filtered": form.is_bound and any(request.GET.get(name) for name in form.fields),
    }
    return render(request, "portal/audit_log.html", context, status=400 if form.errors else 200)
