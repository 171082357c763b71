"""API key services: create, rotate, revoke — what is stored, who may do what, and when a secret stops working."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from django.core.cache import caches
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_context

from apikeys.models import ApiKey
from apikeys.scopes import ALL_SCOPES, Scope
from apikeys.secrets import api_key_hash
from apikeys.services import api_key_create, api_key_revoke, api_key_rotate
from apikeys.tests.factories import IssuedApiKeyFactory, api_client
from audit.models import AuditEvent
from audit.services import Actor
from config.errors import Conflict, PermissionDeniedError, ValidationFailed

SYSTEM = Actor.system("tests")


def _create(tenant_fixture, **overrides):  # type: ignore[no-untyped-def]
    kwargs = {
        "tenant": tenant_fixture.tenant,
        "name": "CI deploys",
        "scopes": [Scope.AGENTS_READ],
        "actor": SYSTEM,
        "granter_scopes": ALL_SCOPES,
        **overrides,
    }
    return api_key_create(**kwargs)


def _is_cached(secret: str) -> bool:
    """Whether the key record for `secret` sits in Redis (so a stale cache would let it through)."""
    return caches["routing"].get(f"apikey:{api_key_hash(secret)}") is not None


def _me_status(tenant_fixture, secret: str) -> tuple[int, str | None]:
    response = api_client(tenant_fixture.host, secret).get("/api/v1/me")
    return response.status_code, json.loads(response.content).get("code")


# --- create ---------------------------------------------------------------------------------


def test_api_key_create_stores_the_hash_and_never_the_secret(tenant_a):
    issued = _create(tenant_a)

    key = ApiKey.objects.get(pk=issued.key.pk)
    assert key.secret_hash == api_key_hash(issued.secret)
    for field in ApiKey._meta.concrete_fields:
        value = json.dumps(getattr(key, field.attname), default=str)
        assert issued.secret not in value, field.name
        assert issued.secret[len("agk_live_") :][:20] not in value, field.name  # not even most of it


def test_api_key_create_records_display_parts_scopes_and_creator(tenant_a):
    actor = Actor(type="user", id="7", label="owner@alpha.test")
    issued = _create(tenant_a, scopes=[Scope.USAGE_READ, Scope.AGENTS_READ, Scope.AGENTS_READ], actor=actor)

    key = issued.key
    assert (key.prefix, key.last4) == (issued.secret[:13], issued.secret[-4:])
    assert key.scopes == ["agents:read", "usage:read"]  # deduplicated, sorted
    assert (key.created_by_type, key.created_by_id, key.created_by_label) == ("user", "7", "owner@alpha.test")
    assert key.tenant_id == tenant_a.tenant.pk
    assert key.status == "active"


def test_api_key_create_with_signing_stores_the_signing_secret_encrypted(tenant_a):
    issued = _create(tenant_a, signing_required=True)

    assert issued.signing_secret and issued.signing_secret.startswith("whsk_")
    stored = ApiKey.objects.get(pk=issued.key.pk).signing_secret_encrypted
    assert stored and issued.signing_secret not in stored


def test_api_key_create_refuses_scopes_beyond_the_creators(tenant_a):
    with pytest.raises(PermissionDeniedError) as excinfo:
        _create(tenant_a, scopes=[Scope.KEYS_MANAGE], granter_scopes=frozenset({Scope.AGENTS_READ}))

    assert excinfo.value.extra["scopes_not_held"] == ["keys:manage"]
    assert not ApiKey.objects.filter(tenant=tenant_a.tenant, name="CI deploys").exists()


def test_api_key_create_allows_a_subset_of_the_creators_scopes(tenant_a):
    granter = frozenset({Scope.AGENTS_READ, Scope.KEYS_MANAGE, Scope.USAGE_READ})

    issued = _create(tenant_a, scopes=[Scope.AGENTS_READ, Scope.USAGE_READ], granter_scopes=granter)

    assert issued.key.scopes == ["agents:read", "usage:read"]


@pytest.mark.parametrize("scopes", [["agents:delete"], ["agents:read", "root"], []], ids=["unknown", "mixed", "none"])
def test_api_key_create_refuses_unknown_or_missing_scopes(tenant_a, scopes):
    with pytest.raises(ValidationFailed) as excinfo:
        _create(tenant_a, scopes=scopes)

    assert "scopes" in excinfo.value.errors


def test_api_key_create_accepts_ipv4_and_ipv6_cidrs_normalised(tenant_a):
    issued = _create(tenant_a, allowed_cidrs=["203.0.113.0/24", " 10.1.2.3/8 ", "2001:db8::/32", "198.51.100.7"])

    assert issued.key.allowed_cidrs == ["203.0.113.0/24", "10.0.0.0/8", "2001:db8::/32", "198.51.100.7/32"]


@pytest.mark.parametrize("cidr", ["10.0.0.0/33", "not-an-ip", "2001:db8::/129", "300.1.1.1", ""])
def test_api_key_create_refuses_invalid_cidrs(tenant_a, cidr):
    with pytest.raises(ValidationFailed) as excinfo:
        _create(tenant_a, allowed_cidrs=["192.0.2.0/24", cidr])

    assert "allowed_cidrs" in excinfo.value.errors


def test_api_key_create_refuses_an_expiry_in_the_past(tenant_a):
    with pytest.raises(ValidationFailed) as excinfo:
        _create(tenant_a, expires_at=timezone.now() - timedelta(seconds=1))

    assert "expires_at" in excinfo.value.errors


@pytest.mark.parametrize("name", ["", "   ", "n" * 101])
def test_api_key_create_refuses_a_bad_name(tenant_a, name):
    with pytest.raises(ValidationFailed):
        _create(tenant_a, name=name)


def test_api_key_create_audits_in_the_tenants_own_schema(tenant_a, tenant_b):
    issued = _create(tenant_a, allowed_cidrs=["192.0.2.0/24"])

    with schema_context(tenant_a.schema):
        event = AuditEvent.objects.get(action="api_key.created", target_id=issued.key.pk)
        assert event.data["scopes"] == ["agents:read"]
        assert event.data["allowed_cidrs"] == ["192.0.2.0/24"]
        assert issued.secret not in json.dumps(event.data)
    for other in (tenant_b.schema, get_public_schema_name()):
        with schema_context(other):
            assert not AuditEvent.objects.filter(target_id=issued.key.pk).exists()


# --- rotate ---------------------------------------------------------------------------------


def test_api_key_rotate_with_overlap_keeps_the_old_secret_until_the_overlap_ends(
    tenant_a, django_capture_on_commit_callbacks
):
    issued = IssuedApiKeyFactory(tenant=tenant_a.tenant)
    assert _me_status(tenant_a, issued.secret) == (200, None)
    assert _is_cached(issued.secret)

    with django_capture_on_commit_callbacks(execute=True):
        rotated = api_key_rotate(key=issued.key, actor=SYSTEM, overlap_seconds=3600)

    assert rotated.secret != issued.secret
    assert _me_status(tenant_a, issued.secret) == (200, None)
    assert _me_status(tenant_a, rotated.secret) == (200, None)
    with time_machine.travel(timezone.now() + timedelta(minutes=59)):
        assert _me_status(tenant_a, issued.secret) == (200, None)
    with time_machine.travel(timezone.now() + timedelta(minutes=61)):
        assert _me_status(tenant_a, issued.secret) == (401, "api_key_expired")
        assert _me_status(tenant_a, rotated.secret) == (200, None)


def test_api_key_rotate_without_overlap_kills_the_old_secret_at_once(tenant_a, django_capture_on_commit_callbacks):
    issued = IssuedApiKeyFactory(tenant=tenant_a.tenant)
    assert _me_status(tenant_a, issued.secret) == (200, None)
    assert _is_cached(issued.secret)

    with django_capture_on_commit_callbacks(execute=True):
        rotated = api_key_rotate(key=issued.key, actor=SYSTEM)

    assert _me_status(tenant_a, issued.secret) == (401, "invalid_api_key")
    assert _me_status(tenant_a, rotated.secret) == (200, None)
    key = ApiKey.objects.get(pk=issued.key.pk)
    assert key.previous_secret_hash is None
    assert (key.prefix, key.last4) == (rotated.secret[:13], rotated.secret[-4:])


def test_api_key_rotate_twice_retires_the_first_secret(tenant_a, django_capture_on_commit_callbacks):
    issued = IssuedApiKeyFactory(tenant=tenant_a.tenant)
    with django_capture_on_commit_callbacks(execute=True):
        second = api_key_rotate(key=issued.key, actor=SYSTEM, overlap_seconds=3600)
    assert _me_status(tenant_a, issued.secret) == (200, None)

    with django_capture_on_commit_callbacks(execute=True):
        third = api_key_rotate(key=second.key, actor=SYSTEM, overlap_seconds=3600)

    assert _me_status(tenant_a, issued.secret) == (401, "invalid_api_key")
    assert _me_status(tenant_a, second.secret) == (200, None)
    assert _me_status(tenant_a, third.secret) == (200, None)


@pytest.mark.parametrize("overlap", [-1, 7 * 24 * 3600 + 1])
def test_api_key_rotate_refuses_an_overlap_outside_0_to_7_days(tenant_a, overlap):
    issued = IssuedApiKeyFactory(tenant=tenant_a.tenant)

    with pytest.raises(ValidationFailed):
        api_key_rotate(key=issued.key, actor=SYSTEM, overlap_seconds=overlap)


def test_api_key_rotate_refuses_a_revoked_key(tenant_a):
    issued = IssuedApiKeyFactory(tenant=tenant_a.tenant)
    revoked = api_key_revoke(key=issued.key, actor=SYSTEM)

    with pytest.raises(Conflict):
        api_key_rotate(key=revoked, actor=SYSTEM)


def test_api_key_rotate_refuses_a_key_stronger_than_the_caller(tenant_a):
    strong = IssuedApiKeyFactory(tenant=tenant_a.tenant)

    with pytest.raises(PermissionDeniedError) as excinfo:
        api_key_rotate(key=strong.key, actor=SYSTEM, granter_scopes=frozenset({Scope.KEYS_MANAGE}))

    assert "billing:write" in excinfo.value.extra["scopes_not_held"]
    assert ApiKey.objects.get(pk=strong.key.pk).secret_hash == api_key_hash(strong.secret)


def test_api_key_rotate_audits_in_the_tenants_schema(tenant_a, tenant_b):
    issued = IssuedApiKeyFactory(tenant=tenant_a.tenant)

    api_key_rotate(key=issued.key, actor=SYSTEM, overlap_seconds=60)

    with schema_context(tenant_a.schema):
        event = AuditEvent.objects.get(action="api_key.rotated", target_id=issued.key.pk)
        assert event.data == {"overlap_seconds": 60}
    with schema_context(tenant_b.schema):
        assert not AuditEvent.objects.filter(action="api_key.rotated", target_id=issued.key.pk).exists()


# --- revoke ---------------------------------------------------------------------------------


def test_api_key_revoke_is_effective_at_once_with_a_warm_cache(tenant_a):
    issued = IssuedApiKeyFactory(tenant=tenant_a.tenant)
    assert _me_status(tenant_a, issued.secret) == (200, None)
    assert _is_cached(issued.secret)

    api_key_revoke(key=issued.key, actor=SYSTEM)  # no commit needed: the cache entry goes at once

    assert _me_status(tenant_a, issued.secret) == (401, "api_key_revoked")


def test_api_key_revoke_also_kills_a_previous_secret_still_in_its_overlap(tenant_a, django_capture_on_commit_callbacks):
    issued = IssuedApiKeyFactory(tenant=tenant_a.tenant)
    with django_capture_on_commit_callbacks(execute=True):
        rotated = api_key_rotate(key=issued.key, actor=SYSTEM, overlap_seconds=3600)
    assert _me_status(tenant_a, issued.secret) == (200, None)

    api_key_revoke(key=rotated.key, actor=SYSTEM)

    assert _me_status(tenant_a, issued.secret) == (401, "api_key_revoked")
    assert _me_status(tenant_a, rotated.secret) == (401, "api_key_revoked")


def test_api_key_revoke_twice_is_a_conflict(tenant_a):
    issued = IssuedApiKeyFactory(tenant=tenant_a.tenant)
    revoked = api_key_revoke(key=issued.key, actor=SYSTEM)

    with pytest.raises(Conflict):
        api_key_revoke(key=revoked, actor=SYSTEM)


def test_api_key_revoke_audits_in_the_tenants_schema_only(tenant_a, tenant_b):
    issued = IssuedApiKeyFactory(tenant=tenant_a.tenant)
    actor = Actor(type="user", id="1", label="owner@alpha.test")

    api_key_revoke(key=issued.key, actor=actor)

    with schema_context(tenant_a.schema):
        event = AuditEvent.objects.get(action="api_key.revoked", target_id=issued.key.pk)
        assert (event.actor_type, event.actor_label) == ("user", "owner@alpha.test")
    for other in (tenant_b.schema, get_public_schema_name()):
        with schema_context(other):
            assert not AuditEvent.objects.filter(action="api_key.revoked", target_id=issued.key.pk).exists()
