"""API keys made the real way (through `api_key_create`), and clients that present them."""

from __future__ import annotations

from typing import Any

import factory
from django.test import Client

from apikeys.scopes import ALL_SCOPES
from apikeys.services import IssuedApiKey, api_key_create
from audit.services import Actor


class IssuedApiKeyFactory(factory.Factory):
    """A key of `tenant` (a Tenant row); `.secret` is the full key, shown once in real life."""

    class Meta:
        model = IssuedApiKey

    name = factory.Sequence(lambda n: f"Test key {n}")
    scopes = factory.LazyFunction(lambda: sorted(ALL_SCOPES))
    actor = factory.LazyFunction(lambda: Actor.system("tests"))
    granter_scopes = ALL_SCOPES

    @classmethod
    def _create(cls, model_class: type, **kwargs: Any) -> IssuedApiKey:
        return api_key_create(**kwargs)


def api_client(host: str, secret: str | None = None, **extra: Any) -> Client:
    """A client for `host` that sends `Authorization: Bearer <secret>` on every request."""
    if secret is not None:
        extra["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    return Client(HTTP_HOST=host, **extra)
