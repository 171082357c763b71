"""The staff side: Django admin on the public host, with a platform overview on its index page."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.template.response import TemplateResponse

from billing.revenue import revenue_summary
from tenants.selectors import tenant_overview


class AgentryAdminSite(admin.AdminSite):
    site_header = "Agentry staff"
    site_title = "Agentry staff"
    index_title = "Platform overview"
    index_template = "admin/agentry_index.html"

    def index(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> TemplateResponse:
        context = dict(extra_context or {})
        if request.user.has_perm("tenants.view_tenant"):
            context["overview"] = tenant_overview()
            context["revenue"] = revenue_summary()
        return super().index(request, context)
