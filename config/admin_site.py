"""The staff side: Django admin on the public host, with a platform overview on its index page."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.template.response import TemplateResponse

from tenants.selectors import tenant_overview


class AgentryAdminSite(admin.AdminSite):
    site_header = "Agentry staff"
    site_title = "Agentry staff"
    index_title = "Platform overview"
    index_template = "admin/agentry_index.html"

    def index(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> TemplateResponse:
        return super().index(request, {**(extra_context or {}), "overview": tenant_overview()})
