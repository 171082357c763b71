"""Typed access to "which tenant is this code running for" (django-tenants keeps it on the connection)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, cast

from django.conf import settings
from django.db import connection
from django.http import HttpRequest
from django_tenants.utils import schema_context

from config.errors import ApplicationError

P = ParamSpec("P")
R = TypeVar("R")

if TYPE_CHECKING:
    from accounts.models import User
    from tenants.models import Tenant


class NoTenantActive(ApplicationError):
    code = "no_tenant_active"
    status = 500
    title = "Tenant data was accessed outside a tenant context."


class TenantHttpRequest(HttpRequest):
    """A request routed to a tenant host, with a signed-in user of that tenant (for type hints)."""

    tenant: Tenant
    user: User  # type: ignore[assignment]


def _tenant_connection() -> Any:
    return cast(Any, connection)


def connection_tenant() -> Any:
    """Whatever django-tenants has on the connection: a Tenant, or its public-schema placeholder."""
    return _tenant_connection().tenant


def current_schema() -> str:
    return str(_tenant_connection().schema_name)


def is_public_schema() -> bool:
    return current_schema() == settings.PUBLIC_SCHEMA_NAME


def current_tenant() -> Tenant:
    """The tenant the connection is on; raises `NoTenantActive` on the public schema.

    Code that reads or writes tenant data outside a request calls this (directly or through
    `require_tenant`) so a forgotten `tenant_context()` fails loudly instead of touching public.
    Under `schema_context()` the Tenant row is looked up by schema name (one query).
    """
    if is_public_schema():
        raise NoTenantActive()
    from tenants.models import Tenant

    tenant = connection_tenant()
    if isinstance(tenant, Tenant):
        return tenant
    # `schema_context()` puts a placeholder that knows only the schema name on the connection.
    found = Tenant.objects.select_related("plan").filter(schema_name=current_schema()).first()
    if found is None:  # e.g. the tenant template schema
        raise NoTenantActive()
    return found


require_tenant = current_tenant


def set_schema_to_public() -> None:
    _tenant_connection().set_schema_to_public()


def set_tenant(tenant: Tenant) -> None:
    _tenant_connection().set_tenant(tenant)


def on_public_schema(function: Callable[P, R]) -> Callable[P, R]:
    """Run a platform service on the public schema whatever schema the caller's connection is on
    (a test client or a previous request may have left it on a tenant), then restore it."""

    @wraps(function)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
        with schema_context(settings.PUBLIC_SCHEMA_NAME):
            return function(*args, **kwargs)

    return wrapped
