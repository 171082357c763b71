"""Publishable keys made the real way, and clients that call the API as a widget on a website."""

from __future__ import annotations

from typing import Any

from django.test import Client
from django_tenants.utils import schema_context

from agents.models import Agent, AgentTool
from agents.tests.factories import AgentFactory
from apikeys.scopes import ALL_SCOPES
from apikeys.services import IssuedApiKey, api_key_create_publishable
from audit.services import Actor

SITE = "https://www.alpha-shop.example"


def widget_agent(tenant: Any) -> Agent:
    with schema_context(tenant.schema_name):
        return AgentFactory.create(status="active", tools=[AgentTool.LEAD_CAPTURE])


def publishable_key(tenant: Any, *, agent_id: str, origins: list[str] | None = None) -> IssuedApiKey:
    return api_key_create_publishable(
        tenant=tenant,
        name="Website widget",
        agent_id=agent_id,
        allowed_origins=origins or [SITE],
        actor=Actor.system("tests"),
        granter_scopes=ALL_SCOPES,
    )


def widget_client(host: str, secret: str, *, origin: str | None = SITE, ip: str = "203.0.113.7") -> Client:
    extra: dict[str, Any] = {"HTTP_AUTHORIZATION": f"Bearer {secret}", "REMOTE_ADDR": ip}
    if origin is not None:
        extra["HTTP_ORIGIN"] = origin
    return Client(HTTP_HOST=host, **extra)
