"""Portal pages: Leads (list, filters, status, CSV export) for members and above (EDIT_CONTENT), and
Privacy (conversation retention, erasing a visitor's data) for owners and admins (MANAGE_SETTINGS)."""

from __future__ import annotations

import csv
from collections.abc import Iterator

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.permissions import Permission, role_has
from audit.services import Actor
from config.errors import ApplicationError
from conversations.retention import conversation_retention_set, visitor_data_erase
from leads.forms import ErasureForm, LeadFilterForm, LeadStatusForm, RetentionForm
from leads.models import Lead
from leads.selectors import lead_get, lead_list
from leads.services import LeadChanges, lead_update
from portal.access import permission_required
from portal.errors import form_add_service_error, message_service_error
from tenants.context import TenantHttpRequest

LEADS_PER_PAGE = 50
CSV_COLUMNS = ("id", "created_at", "name", "email", "phone", "company", "intent", "status", "channel", "agent", "notes")


@require_GET
@permission_required(Permission.EDIT_CONTENT)
def leads_page(request: TenantHttpRequest) -> HttpResponse:
    form = LeadFilterForm(request.GET or None)
    leads = lead_list(**form.selector_filters())
    context = {
        "form": form,
        "page": Paginator(leads, LEADS_PER_PAGE).get_page(request.GET.get("page")),
        "status_form": LeadStatusForm(),
        "is_filtered": any(form.selector_filters().values()),
    }
    return render(request, "leads/leads.html", context)


@require_POST
@permission_required(Permission.EDIT_CONTENT)
def lead_status_change(request: TenantHttpRequest, lead_id: str) -> HttpResponse:
    lead = lead_get(lead_id=lead_id)
    if lead is None:
        raise Http404
    form = LeadStatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a status.")
    else:
        try:
            changes: LeadChanges = {"status": form.cleaned_data["status"]}
            lead = lead_update(lead=lead, actor=Actor.for_user(request.user), changes=changes)
        except ApplicationError as error:
            message_service_error(request, error)
        else:
            messages.success(request, f"The lead is now “{lead.get_status_display()}”.")
    back = request.POST.get("next", "")
    safe = url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure())
    return redirect(back if back and safe else "portal:leads")


def _csv_cell(value: object) -> str:
    """Spreadsheets run cells starting with = + - @ as formulas: visitors typed these, so neutralise them."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_rows(leads: Iterator[Lead]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    for lead in leads:
        yield writer.writerow(
            [
                _csv_cell(value)
                for value in (
                    lead.pk,
                    lead.created_at.isoformat(),
                    lead.name,
                    lead.email,
                    lead.phone,
                    lead.company,
                    lead.intent,
                    lead.status,
                    lead.channel,
                    lead.agent_id or "",
                    lead.notes,
                )
            ]
        )


@require_GET
@login_required
def leads_export(request: TenantHttpRequest) -> HttpResponseBase:
    """The leads the page's filters select, streamed as CSV (constant memory for any number).
    (The permission is checked here: `permission_required` is typed for ordinary responses.)"""
    if not role_has(request.user.role, Permission.EDIT_CONTENT):
        return render(request, "errors/forbidden.html", status=403)
    leads = lead_list(**LeadFilterForm(request.GET or None).selector_filters()).iterator(chunk_size=500)
    response = StreamingHttpResponse(_csv_rows(leads), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="leads-{request.tenant.slug}.csv"'
    return response


@require_http_methods(["GET", "POST"])
@permission_required(Permission.MANAGE_SETTINGS)
def privacy_page(request: TenantHttpRequest) -> HttpResponse:
    tenant = request.tenant
    retention_form = RetentionForm(
        request.POST if request.POST.get("form") == "retention" else None,
        initial={"conversation_retention_days": tenant.conversation_retention_days},
    )
    erasure_form = ErasureForm(request.POST if request.POST.get("form") == "erasure" else None)
    status = 200
    if retention_form.is_bound and retention_form.is_valid():
        try:
            days = retention_form.cleaned_data["conversation_retention_days"]
            conversation_retention_set(tenant=tenant, days=days, actor=Actor.for_user(request.user))
        except ApplicationError as error:
            form_add_service_error(retention_form, error)
            status = error.status
        else:
            messages.success(request, "Conversation retention saved.")
            return redirect("portal:privacy")
    elif erasure_form.is_bound and erasure_form.is_valid():
        try:
            counts = visitor_data_erase(**erasure_form.cleaned_data, actor=Actor.for_user(request.user))
        except ApplicationError as error:
            form_add_service_error(erasure_form, error)
            status = error.status
        else:
            messages.success(
                request,
                f"Erased {counts.conversations} conversation(s), {counts.messages} message(s) "
                f"and {counts.leads} lead(s).",
            )
            return redirect("portal:privacy")
    if retention_form.errors or erasure_form.errors:
        status = max(status, 400)
    context = {"retention_form": retention_form, "erasure_form": erasure_form}
    return render(request, "leads/privacy.html", context, status=status)
