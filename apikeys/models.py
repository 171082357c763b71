"""API keys (public schema: a key alone identifies its tenant, on any host).

Rows belong to one tenant; read them only through apikeys.selectors, which require the tenant.
"""

from __future__ import annotations

import secrets

from django.db import models
from django.utils import timezone

from apikeys.secrets import _ALPHABET


def _new_key_id() -> str:
    return "key_" + "".join(secrets.choice(_ALPHABET) for _ in range(16))


class KeyKind(models.TextChoices):
    SECRET = "secret", "Secret (server-side)"
    # Safe to embed in a web page: scope `chat` only, one agent, from its allowed origins only.
    PUBLISHABLE = "publishable", "Publishable (website widget)"


class ApiKey(models.Model):
    id = models.CharField(primary_key=True, max_length=24, default=_new_key_id, editable=False)
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    secret_hash = models.CharField(max_length=64, unique=True)
    # Rotation keeps the previous secret valid until `previous_valid_until`.
    previous_secret_hash = models.CharField(max_length=64, null=True, blank=True, unique=True)
    previous_valid_until = models.DateTimeField(null=True, blank=True)
    prefix = models.CharField(max_length=16)
    last4 = models.CharField(max_length=4)
    scopes = models.JSONField(default=list)
    allowed_cidrs = models.JSONField(default=list, blank=True)
    signing_required = models.BooleanField(default=False)
    kind = models.CharField(max_length=16, choices=KeyKind.choices, default=KeyKind.SECRET)
    # Publishable keys only: the agent (`agt_…`, in the tenant's schema) and the web origins
    # (`https://host[:port]`) whose pages may use the key.
    agent_id = models.CharField(max_length=32, blank=True)
    allowed_origins = models.JSONField(default=list, blank=True)
    signing_secret_encrypted = models.TextField(blank=True)
    rate_limit_per_minute = models.PositiveIntegerField(null=True, blank=True)
    rate_limit_burst = models.PositiveIntegerField(null=True, blank=True)
    created_by_type = models.CharField(max_length=16)
    created_by_id = models.CharField(max_length=64, blank=True)
    created_by_label = models.CharField(max_length=254, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "id")
        indexes = [
            models.Index(fields=["tenant", "-created_at"]),
            models.Index(fields=["tenant", "kind"], name="apikeys_key_tenant_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…{self.last4})"

    @property
    def is_publishable(self) -> bool:
        return self.kind == KeyKind.PUBLISHABLE

    @property
    def is_active(self) -> bool:
        now = timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)

    @property
    def status(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= timezone.now():
            return "expired"
        return "active"
