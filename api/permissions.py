from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from api.principal import ApiPrincipal
from config.errors import AuthenticationError, ScopeMissing


class RequireScopes(BasePermission):
    """Fails closed: the view's scopes for this method (`TenantApi.scopes_for`) must all be held."""

    def has_permission(self, request: Request, view: Any) -> bool:
        principal = request.user
        if not isinstance(principal, ApiPrincipal):
            raise AuthenticationError(
                "Send an API key (`Authorization: Bearer agk_live_…`) or sign in to the portal.",
                code="not_authenticated",
            )
        scopes_for = getattr(view, "scopes_for", None)
        required = scopes_for(request.method) if scopes_for else tuple(getattr(view, "required_scopes", ()))
        if not principal.has_scopes(required):
            missing = sorted(set(required) - principal.scopes)
            raise ScopeMissing(
                f"This endpoint needs the scope(s): {', '.join(missing)}.",
                extra={"required_scopes": list(required), "missing_scopes": missing},
            )
        return True
