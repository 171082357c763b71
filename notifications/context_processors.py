"""The notification bell in the portal header."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import cached_property

from accounts.models import User
from notifications.selectors import UNREAD_COUNT_CAP, notification_unread_count
from tenants.context import is_public_schema


class UnreadNotifications:
    """Counted on first use only, once per request: pages that do not show the bell pay nothing."""

    cap = UNREAD_COUNT_CAP

    def __init__(self, user: User) -> None:
        self._user = user

    @cached_property
    def count(self) -> int:
        return notification_unread_count(user=self._user)

    @cached_property
    def is_capped(self) -> bool:
        return self.count > self.cap


def notifications(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or is_public_schema():
        return {}
    return {"unread_notifications": UnreadNotifications(user)}
