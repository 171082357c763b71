"""django-allauth adapter: tenant-aware emails, and no open signup on tenant portals.

People join a tenant only through an invitation (accounts.views.invitation_accept); new
companies sign up on the public host.
"""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest

from tenants.context import connection_tenant


class TenantAccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        tenant = connection_tenant()
        context.setdefault("workspace_name", getattr(tenant, "name", "Agentry"))
        super().send_mail(template_prefix, email, context)

    def format_email_subject(self, subject: str) -> str:
        tenant = connection_tenant()
        name = getattr(tenant, "name", None)
        return f"[{name}] {subject}" if name else subject
