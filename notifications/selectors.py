"""Reads of notifications. Every selector takes the person whose notifications they are."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import User
from notifications.models import Notification

# The bell shows "99+" past this: counting stops there, so a huge backlog costs the same as 99.
UNREAD_COUNT_CAP = 99


def notification_list(*, user: User, unread_only: bool = False) -> QuerySet[Notification]:
    """The user's notifications, newest first."""
    notifications = Notification.objects.filter(recipient=user)
    return notifications.filter(read_at__isnull=True) if unread_only else notifications


def notification_get(*, user: User, notification_id: int) -> Notification | None:
    """One of the user's own notifications; None for anyone else's (callers answer 404)."""
    return Notification.objects.filter(recipient=user, pk=notification_id).first()


def notification_unread_count(*, user: User) -> int:
    """Unread notifications of `user`, counted up to UNREAD_COUNT_CAP + 1: one query on a partial index."""
    return notification_list(user=user, unread_only=True).order_by()[: UNREAD_COUNT_CAP + 1].count()
