"""Reads of leads, in the current tenant's schema."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from leads.models import Lead


def _clean(value: str | None) -> str | None:
    # From URLs and query strings; PostgreSQL refuses NUL in text and no id has one.
    return value.replace("\x00", "") if value else value


def lead_list(
    *,
    status: str | None = None,
    agent_id: str | None = None,
    channel: str | None = None,
    intent: str | None = None,
    search: str | None = None,
) -> QuerySet[Lead]:
    """Newest first. `search` matches name, email, phone or company (case-insensitive)."""
    leads = Lead.objects.select_related("agent")
    if status:
        leads = leads.filter(status=status)
    if agent_id:
        leads = leads.filter(agent_id=_clean(agent_id))
    if channel:
        leads = leads.filter(channel=channel)
    if intent:
        leads = leads.filter(intent=intent)
    search = (_clean(search) or "").strip()
    if search:
        leads = leads.filter(
            Q(name__icontains=search)
            | Q(email__icontains=search)
            | Q(phone__icontains=search)
            | Q(company__icontains=search)
        )
    return leads


def lead_get(*, lead_id: str) -> Lead | None:
    if "\x00" in lead_id:
        return None
    return Lead.objects.select_related("agent").filter(pk=lead_id).first()
