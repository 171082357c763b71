"""Writing to the audit trail. Secrets never go into `data`: callers pass ids and labels."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import models
from django_tenants.utils import get_public_schema_name, schema_context

from api.request_id import current_client_ip, current_request_id
from audit.models import ActorType, AuditEvent

if TYPE_CHECKING:
    from tenants.models import Tenant


@dataclass(frozen=True)
class Actor:
    """Who did something; build with the helpers below rather than by hand."""

    type: str
    id: str = ""
    label: str = ""

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        return cls(type=ActorType.SYSTEM, label=label)

    @classmethod
    def for_user(cls, user: Any) -> Actor:
        return cls(type=ActorType.USER, id=str(user.pk), label=user.email)

    @classmethod
    def for_staff(cls, user: Any) -> Actor:
        return cls(type=ActorType.STAFF, id=str(user.pk), label=user.email)

    def as_creator(self) -> dict[str, str]:
        """The `created_by_type/_id/_label` fields of a row this actor creates."""
        return {"created_by_type": self.type, "created_by_id": self.id, "created_by_label": self.label}


def audit_record(
    *,
    action: str,
    actor: Actor,
    target: models.Model | None = None,
    tenant_slug: str = "",
    data: dict[str, Any] | None = None,
    ip_address: str | None = None,
) -> AuditEvent:
    """Append one event to the audit trail of the schema the connection is on."""
    return AuditEvent.objects.create(
        action=action,
        actor_type=actor.type,
        actor_id=actor.id,
        actor_label=actor.label,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_label=str(target)[:254] if target is not None else "",
        tenant_slug=tenant_slug,
        data=data or {},
        ip_address=ip_address or current_client_ip(),
        request_id=current_request_id() if current_request_id() != "-" else "",
    )


def audit_record_platform_and_tenant(
    *,
    tenant: Tenant,
    action: str,
    actor: Actor,
    target: models.Model | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """Record a staff-side change to one tenant twice: in public with `tenant_slug` (it outlives
    the tenant) and in the tenant's own trail, where its people can see it. `target` defaults to
    the tenant."""
    target = target if target is not None else tenant
    with schema_context(get_public_schema_name()):
        audit_record(action=action, actor=actor, target=target, tenant_slug=tenant.slug, data=data)
    with schema_context(tenant.schema_name):
        audit_record(action=action, actor=actor, target=target, data=data)
