"""Every write to API keys: create, rotate, revoke. All audited in the tenant's own trail."""

from __future__ import annotations

import ipaddress
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from apikeys.cache import key_cache_forget
from apikeys.models import ApiKey, KeyKind
from apikeys.origins import origins_checked
from apikeys.scopes import Scope, scopes_unknown
from apikeys.secrets import api_key_display, api_key_generate, api_key_hash
from audit.services import Actor, audit_record
from config.crypto import encrypt_text
from config.errors import Conflict, PermissionDeniedError, ValidationFailed
from tenants.models import Tenant

MAX_ROTATION_OVERLAP = timedelta(days=7)
MAX_KEYS_PER_TENANT = 200


@dataclass(frozen=True)
class IssuedApiKey:
    key: ApiKey
    secret: str  # the full key, shown exactly once
    signing_secret: str | None = None  # shown once too, when request signing is enabled


def _cidrs_checked(cidrs: list[str]) -> list[str]:
    checked, problems = [], []
    for cidr in cidrs:
        try:
            checked.append(str(ipaddress.ip_network(cidr.strip(), strict=False)))
        except ValueError:
            problems.append(f"“{cidr}” is not an IPv4 or IPv6 address or CIDR range.")
    if problems:
        raise ValidationFailed(problems[0], errors={"allowed_cidrs": problems})
    return checked


def _scopes_checked(scopes: list[str], *, granter_scopes: frozenset[str]) -> list[str]:
    if not scopes:
        raise ValidationFailed("Choose at least one scope.", errors={"scopes": ["Choose at least one scope."]})
    unknown = scopes_unknown(scopes)
    if unknown:
        raise ValidationFailed(f"Unknown scopes: {', '.join(unknown)}.", errors={"scopes": [f"Unknown: {unknown}"]})
    beyond = sorted(set(scopes) - granter_scopes)
    if beyond:
        raise PermissionDeniedError(
            f"A key cannot be given scopes its creator does not have: {', '.join(beyond)}.",
            extra={"scopes_not_held": beyond},
        )
    return sorted(set(scopes))


def _audit_in_tenant(tenant: Tenant, **kwargs: object) -> None:
    with schema_context(tenant.schema_name):
        audit_record(**kwargs)  # type: ignore[arg-type]


def api_key_create(
    *,
    tenant: Tenant,
    name: str,
    scopes: list[str],
    actor: Actor,
    granter_scopes: frozenset[str],
    expires_at: datetime | None = None,
    allowed_cidrs: list[str] | None = None,
    signing_required: bool = False,
    rate_limit_per_minute: int | None = None,
    rate_limit_burst: int | None = None,
) -> IssuedApiKey:
    """Issue a key. Its scopes must be a subset of `granter_scopes` (the creator's own).

    Raises ValidationFailed (bad name/scopes/CIDRs/expiry) or PermissionDeniedError (escalation).
    """
    name = name.strip()
    if not name or len(name) > 100:
        raise ValidationFailed("Give the key a name (1–100 characters).", errors={"name": ["1–100 characters."]})
    checked_scopes = _scopes_checked(scopes, granter_scopes=granter_scopes)
    cidrs = _cidrs_checked(allowed_cidrs or [])
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationFailed("The expiry must be in the future.", errors={"expires_at": ["Must be in the future."]})
    if ApiKey.objects.filter(tenant=tenant, revoked_at__isnull=True).count() >= MAX_KEYS_PER_TENANT:
        raise Conflict(f"A workspace can have at most {MAX_KEYS_PER_TENANT} active keys. Revoke unused ones first.")
    secret = api_key_generate()
    signing_secret = "whsk_" + secrets.token_urlsafe(32) if signing_required else None
    prefix, last4 = api_key_display(secret)
    with transaction.atomic():
        key = ApiKey.objects.create(
            tenant=tenant,
            name=name,
            secret_hash=api_key_hash(secret),
            prefix=prefix,
            last4=last4,
            scopes=checked_scopes,
            allowed_cidrs=cidrs,
            signing_required=signing_required,
            signing_secret_encrypted=encrypt_text(signing_secret) if signing_secret else "",
            rate_limit_per_minute=rate_limit_per_minute,
            rate_limit_burst=rate_limit_burst,
            **actor.as_creator(),
            expires_at=expires_at,
        )
        _audit_in_tenant(
            tenant,
            action="api_key.created",
            actor=actor,
            target=key,
            data={
                "scopes": checked_scopes,
                "expires_at": expires_at.isoformat() if expires_at else None,
                "allowed_cidrs": cidrs,
                "signing_required": signing_required,
            },
        )
    return IssuedApiKey(key=key, secret=secret, signing_secret=signing_secret)


def _agent_checked(tenant: Tenant, agent_id: str) -> str:
    from agents.selectors import agent_get

    with schema_context(tenant.schema_name):
        agent = agent_get(agent_id=agent_id)
    if agent is None or agent.is_archived:
        raise ValidationFailed("There is no such agent.", errors={"agent": ["There is no such agent."]})
    return agent.pk


def api_key_create_publishable(
    *,
    tenant: Tenant,
    name: str,
    agent_id: str,
    allowed_origins: list[str],
    actor: Actor,
    granter_scopes: frozenset[str],
) -> IssuedApiKey:
    """Issue a `pk_live_…` key for the website widget: scope `chat` only, usable only with
    `agent_id` and only from `allowed_origins` (checked on every request, see widget.access).

    It is meant to be seen by anyone (it sits in a web page), so it grants nothing else. Raises
    ValidationFailed (name, agent, origins) or PermissionDeniedError (creator without `chat`).
    """
    name = name.strip()
    if not name or len(name) > 100:
        raise ValidationFailed("Give the key a name (1–100 characters).", errors={"name": ["1–100 characters."]})
    scopes = _scopes_checked([Scope.CHAT], granter_scopes=granter_scopes)
    agent_id = _agent_checked(tenant, agent_id)
    origins = origins_checked(allowed_origins)
    if ApiKey.objects.filter(tenant=tenant, revoked_at__isnull=True).count() >= MAX_KEYS_PER_TENANT:
        raise Conflict(f"A workspace can have at most {MAX_KEYS_PER_TENANT} active keys. Revoke unused ones first.")
    secret = api_key_generate(publishable=True)
    prefix, last4 = api_key_display(secret)
    with transaction.atomic():
        key = ApiKey.objects.create(
            tenant=tenant,
            name=name,
            kind=KeyKind.PUBLISHABLE,
            secret_hash=api_key_hash(secret),
            prefix=prefix,
            last4=last4,
            scopes=scopes,
            agent_id=agent_id,
            allowed_origins=origins,
            **actor.as_creator(),
        )
        _audit_in_tenant(
            tenant,
            action="api_key.created",
            actor=actor,
            target=key,
            data={"kind": KeyKind.PUBLISHABLE, "scopes": scopes, "agent_id": agent_id, "allowed_origins": origins},
        )
    return IssuedApiKey(key=key, secret=secret)


def api_key_rotate(
    *, key: ApiKey, actor: Actor, overlap_seconds: int = 0, granter_scopes: frozenset[str] | None = None
) -> IssuedApiKey:
    """Give the key a new secret. The old one keeps working for `overlap_seconds` (≤ 7 days).

    The new secret goes to the caller, so a caller holding `granter_scopes` may only rotate keys
    whose scopes it holds too (else rotating a stronger key would be creating one). None: the
    caller holds every scope (portal owners and admins). Raises PermissionDeniedError, Conflict.
    """
    if not key.is_active:
        raise Conflict("Only an active key can be rotated.")
    if granter_scopes is not None and not set(key.scopes) <= granter_scopes:
        beyond = sorted(set(key.scopes) - granter_scopes)
        raise PermissionDeniedError(
            f"Rotating would hand you a key with scopes you do not have: {', '.join(beyond)}.",
            extra={"scopes_not_held": beyond},
        )
    overlap = timedelta(seconds=overlap_seconds)
    if overlap < timedelta(0) or overlap > MAX_ROTATION_OVERLAP:
        raise ValidationFailed(
            "The overlap must be between 0 seconds and 7 days.", errors={"overlap_seconds": ["Between 0 and 604800."]}
        )
    secret = api_key_generate(publishable=key.is_publishable)
    old_hashes = [key.secret_hash, key.previous_secret_hash]
    with transaction.atomic():
        key = ApiKey.objects.select_for_update().get(pk=key.pk)
        key.previous_secret_hash = key.secret_hash if overlap else None
        key.previous_valid_until = timezone.now() + overlap if overlap else None
        key.secret_hash = api_key_hash(secret)
        key.prefix, key.last4 = api_key_display(secret)
        key.save(update_fields=["previous_secret_hash", "previous_valid_until", "secret_hash", "prefix", "last4"])
        _audit_in_tenant(
            key.tenant, action="api_key.rotated", actor=actor, target=key, data={"overlap_seconds": overlap_seconds}
        )
    transaction.on_commit(lambda: key_cache_forget(old_hashes))
    return IssuedApiKey(key=key, secret=secret)


def api_key_revoke(*, key: ApiKey, actor: Actor) -> ApiKey:
    """Revoke at once: the cache entries of both secrets are dropped for every worker."""
    if key.revoked_at is not None:
        raise Conflict("This key is already revoked.")
    with transaction.atomic():
        key = ApiKey.objects.select_for_update().get(pk=key.pk)
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        _audit_in_tenant(key.tenant, action="api_key.revoked", actor=actor, target=key)
    hashes = [key.secret_hash, key.previous_secret_hash]
    key_cache_forget(hashes)
    transaction.on_commit(lambda: key_cache_forget(hashes))
    return key


def api_key_touch(*, key_id: str) -> None:
    """Record use. Called at most once per key per LAST_USED_RESOLUTION (gated in Redis)."""
    ApiKey.objects.filter(pk=key_id).update(last_used_at=timezone.now())
