"""Every write to notifications: create (for one person or for a workspace's managers), mark read.

Notifications are written in the caller's transaction: a rolled-back change leaves none behind,
and a caller that creates them once per committed event notifies exactly once.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.utils import timezone

from accounts.models import Role, User
from notifications.models import Notification, NotificationLevel
from tenants.context import NoTenantActive, is_public_schema

TITLE_MAX_LENGTH = 200
BODY_MAX_LENGTH = 2000
MANAGER_ROLES = (Role.OWNER, Role.ADMIN)


def _link_checked(link: str) -> str:
    # Links are rendered as hrefs and followed by a redirect: only paths on this host, so a
    # notification can never send someone to another site (or run `javascript:`).
    if link and (not link.startswith("/") or link.startswith("//") or "\\" in link or len(link) > 500):
        raise ValueError(f"a notification link must be a path on this host, got {link!r}")
    return link


def notification_create(
    *,
    recipients: Iterable[User],
    title: str,
    body: str = "",
    link: str = "",
    level: str = NotificationLevel.INFO,
) -> list[Notification]:
    """One unread notification per recipient, in the caller's transaction; returns them.

    Raises ValueError for an empty or over-long title, an unknown level or a link that is not a
    path on this host (programming errors: callers build these, people do not), and
    NoTenantActive on the public schema.
    """
    if is_public_schema():
        raise NoTenantActive()
    title = title.strip()
    if not title or len(title) > TITLE_MAX_LENGTH:
        raise ValueError(f"a notification title must be 1–{TITLE_MAX_LENGTH} characters")
    if level not in NotificationLevel.values:
        raise ValueError(f"unknown notification level {level!r}")
    link = _link_checked(link)
    now = timezone.now()
    rows = [
        Notification(
            recipient=recipient,
            level=level,
            title=title,
            body=body.strip()[:BODY_MAX_LENGTH],
            link=link,
            created_at=now,
        )
        for recipient in recipients
    ]
    return Notification.objects.bulk_create(rows)


def notification_create_for_managers(
    *, title: str, body: str = "", link: str = "", level: str = NotificationLevel.INFO
) -> list[Notification]:
    """`notification_create` for every active owner and admin of the current workspace."""
    managers = User.objects.filter(is_active=True, role__in=MANAGER_ROLES)
    return notification_create(recipients=managers, title=title, body=body, link=link, level=level)


def notification_mark_read(*, notification: Notification) -> Notification:
    """Mark one notification read (already read: unchanged, it keeps its first read time)."""
    if notification.read_at is None:
        now = timezone.now()
        if Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=now):
            notification.read_at = now
        else:  # read meanwhile (another tab): keep the time it was first read
            notification.refresh_from_db(fields=["read_at"])
    return notification


def notification_mark_all_read(*, user: User) -> int:
    """Mark every unread notification of `user` read; returns how many there were."""
    return Notification.objects.filter(recipient=user, read_at__isnull=True).update(read_at=timezone.now())
