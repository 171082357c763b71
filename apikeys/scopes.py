"""What an API key (or a portal session calling the API) may do."""

from __future__ import annotations

from enum import StrEnum

from accounts.models import Role


class Scope(StrEnum):
    AGENTS_READ = "agents:read"
    AGENTS_WRITE = "agents:write"
    CHAT = "chat"
    CONVERSATIONS_READ = "conversations:read"
    CONVERSATIONS_WRITE = "conversations:write"
    KNOWLEDGE_WRITE = "knowledge:write"
    USAGE_READ = "usage:read"
    BILLING_READ = "billing:read"
    BILLING_WRITE = "billing:write"
    KEYS_MANAGE = "keys:manage"
    WEBHOOKS_MANAGE = "webhooks:manage"
    AUDIT_READ = "audit:read"
    LEADS_READ = "leads:read"
    LEADS_WRITE = "leads:write"


ALL_SCOPES: frozenset[str] = frozenset(Scope)

SCOPE_DESCRIPTIONS: dict[str, str] = {
    Scope.AGENTS_READ: "Read agents, departments, teams, the org chart and delegated tasks.",
    Scope.AGENTS_WRITE: (
        "Create, change and archive agents, departments and teams; assign and cancel tasks "
        "(approving or rejecting one also needs billing:write)."
    ),
    Scope.CHAT: "Chat with agents.",
    Scope.CONVERSATIONS_READ: "Read conversations and their transcripts.",
    Scope.CONVERSATIONS_WRITE: "Rate conversations and erase a visitor's data.",
    Scope.KNOWLEDGE_WRITE: "Add and change knowledge bases, documents and FAQs.",
    Scope.USAGE_READ: "Read usage and quotas.",
    Scope.BILLING_READ: "Read the subscription, plans and invoices.",
    Scope.BILLING_WRITE: "Change or cancel the subscription.",
    Scope.KEYS_MANAGE: "Create, rotate and revoke API keys (never beyond the caller's own scopes).",
    Scope.WEBHOOKS_MANAGE: "Manage outgoing webhook endpoints.",
    Scope.AUDIT_READ: "Read the audit log.",
    Scope.LEADS_READ: "Read leads (visitors' contact details captured by agents).",
    Scope.LEADS_WRITE: "Change leads' status, notes and details.",
}

# A signed-in portal user calling the API gets the scopes of their role.
ROLE_SCOPES: dict[str, frozenset[str]] = {
    Role.OWNER: ALL_SCOPES,
    Role.ADMIN: ALL_SCOPES,
    Role.MEMBER: frozenset(
        {
            Scope.AGENTS_READ,
            Scope.AGENTS_WRITE,
            Scope.CHAT,
            Scope.KNOWLEDGE_WRITE,
            Scope.USAGE_READ,
            Scope.BILLING_READ,
            Scope.LEADS_READ,
            Scope.LEADS_WRITE,
            Scope.CONVERSATIONS_READ,
            Scope.CONVERSATIONS_WRITE,
        }
    ),
    Role.VIEWER: frozenset({Scope.AGENTS_READ, Scope.USAGE_READ, Scope.BILLING_READ, Scope.CONVERSATIONS_READ}),
}


def scopes_unknown(scopes: list[str] | set[str] | tuple[str, ...]) -> list[str]:
    return sorted(set(scopes) - ALL_SCOPES)
