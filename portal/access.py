"""Portal view guards: signed in on this tenant, and holding a permission for the action."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render

from accounts.permissions import Permission, role_has
from tenants.context import TenantHttpRequest


def permission_required(permission: Permission) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @login_required
        @wraps(view)
        def wrapped(request: TenantHttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not role_has(request.user.role, permission):
                return render(request, "errors/forbidden.html", status=403)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
