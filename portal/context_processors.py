from typing import Any

from django.conf import settings
from django.http import HttpRequest

from accounts.permissions import Permission, role_has
from tenants.context import is_public_schema


def portal(request: HttpRequest) -> dict[str, Any]:
    """The current tenant (None on the public host) and what the signed-in user may do."""
    tenant = getattr(request, "tenant", None)
    is_tenant_host = tenant is not None and not is_public_schema()
    user = getattr(request, "user", None)
    role: str = getattr(user, "role", "") if user is not None and user.is_authenticated else ""
    return {
        "current_tenant": tenant if is_tenant_host else None,
        "platform_domain": settings.PLATFORM_DOMAIN,
        "can": {perm.value: bool(role) and role_has(role, perm) for perm in Permission} if is_tenant_host else {},
    }
