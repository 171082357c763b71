"""In-portal notifications (tenant schema): one row per recipient, read or not.

A message meant for several people (say, every owner and admin) is fanned out into one row each
when it is created, so each person reads and dismisses it on their own and the unread count is a
single indexed query.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class NotificationLevel(models.TextChoices):
    INFO = "info", "Info"
    SUCCESS = "success", "Success"
    WARNING = "warning", "Warning"
    ERROR = "error", "Error"


class Notification(models.Model):
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    level = models.CharField(max_length=16, choices=NotificationLevel.choices, default=NotificationLevel.INFO)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    # A path on the workspace's own host ("/billing/"), never an absolute URL (see services).
    link = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [
            models.Index(fields=["recipient", "-created_at", "-id"], name="notifications_by_recipient"),
            models.Index(fields=["recipient"], condition=models.Q(read_at__isnull=True), name="notifications_unread"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_read(self) -> bool:
        return self.read_at is not None
