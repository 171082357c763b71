"""django-allauth adapter: tenant-aware emails, and no open signup on tenant portals.

People join a tenant only through an invitation (accounts.views.invitation_accept); new
companies sign up on the public host.
"""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from django.contrib.sites.shortcuts import get_current_site
from django.http import HttpRequest

from tenants.context import connection_tenant


class TenantAccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        """allauth's emails greet from `current_site.name`: make that the workspace, not the hostname."""
        name = getattr(connection_tenant(), "name", "Agentry")
        request = context.get("request") or allauth_context.request  # set while an allauth flow runs
        site = get_current_site(request) if request is not None else None
        if site is not None:
            site.name = name
            context.setdefault("current_site", site)
        context.setdefault("workspace_name", name)
        super().send_mail(template_prefix, email, context)

    def format_email_subject(self, subject: str) -> str:
        tenant = connection_tenant()
        name = getattr(tenant, "name", None)
        return f"[{name}] {subject}" if name else subject
