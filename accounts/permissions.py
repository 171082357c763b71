"""What each role may do. The single source for portal checks and the docs' permission table."""

from __future__ import annotations

from enum import StrEnum

from accounts.models import Role


class Permission(StrEnum):
    VIEW_PORTAL = "view_portal"
    EDIT_CONTENT = "edit_content"  # agents, knowledge, conversations
    MANAGE_TEAM = "manage_team"
    MANAGE_SETTINGS = "manage_settings"  # branding, API keys, webhooks
    MANAGE_BILLING = "manage_billing"
    MANAGE_OWNERS = "manage_owners"  # grant/revoke the owner role, delete the workspace


ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    Role.OWNER: frozenset(Permission),
    Role.ADMIN: frozenset(
        {
            Permission.VIEW_PORTAL,
            Permission.EDIT_CONTENT,
            Permission.MANAGE_TEAM,
            Permission.MANAGE_SETTINGS,
            Permission.MANAGE_BILLING,
        }
    ),
    Role.MEMBER: frozenset({Permission.VIEW_PORTAL, Permission.EDIT_CONTENT}),
    Role.VIEWER: frozenset({Permission.VIEW_PORTAL}),
}


def role_has(role: str, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS.get(role, frozenset())
