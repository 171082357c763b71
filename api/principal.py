"""Who is calling the API: an API key or a signed-in portal user, with the scopes they hold."""

from __future__ import annotations

from dataclasses import dataclass, field

from accounts.models import User
from apikeys.cache import KeyRecord
from apikeys.scopes import ROLE_SCOPES
from audit.models import ActorType
from audit.services import Actor
from tenants.context import current_schema


@dataclass(frozen=True)
class ApiPrincipal:
    kind: str  # "api_key" | "user"
    id: str
    label: str
    scopes: frozenset[str]
    key: KeyRecord | None = None
    user: User | None = field(default=None, compare=False)
    # DRF and Django treat whatever authenticates as a user object.
    is_authenticated: bool = True
    is_anonymous: bool = False

    @property
    def actor(self) -> Actor:
        return Actor(type=ActorType.API_KEY if self.kind == "api_key" else ActorType.USER, id=self.id, label=self.label)

    @property
    def rate_limit_subject(self) -> str:
        # User ids are per schema (user 1 exists in every tenant): qualify them with the schema.
        # Key ids are platform-wide unique, but qualifying them too keeps one rule for both.
        return f"{current_schema()}:{self.kind}:{self.id}"

    @property
    def is_publishable(self) -> bool:
        """A website widget's key: chat with one agent, from its allowed origins (widget.access)."""
        return self.key is not None and self.key.is_publishable

    def has_scopes(self, required: tuple[str, ...] | frozenset[str]) -> bool:
        return set(required) <= self.scopes

    @classmethod
    def for_key(cls, record: KeyRecord) -> ApiPrincipal:
        return cls(kind="api_key", id=record.id, label=record.name, scopes=frozenset(record.scopes), key=record)

    @classmethod
    def for_user(cls, user: User) -> ApiPrincipal:
        return cls(
            kind="user", id=str(user.pk), label=user.email, scopes=ROLE_SCOPES.get(user.role, frozenset()), user=user
        )
