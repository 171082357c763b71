"""Usage alerts (tenant schema): the workspace's thresholds, and one claim row per alert sent.

No row carries a tenant: the schema is the boundary (STYLE §4).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone

MAX_THRESHOLDS = 5
# The period of limits that are not monthly (agents, team members, storage): the gauge's "now".
CURRENT_PERIOD = "current"


class UsageAlertSettings(models.Model):
    """The thresholds (percent of a limit) this workspace is alerted at. At most one row (id 1);
    until someone saves the settings page there is none and the defaults apply (selectors)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    thresholds = ArrayField(models.PositiveSmallIntegerField(), size=MAX_THRESHOLDS)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        verbose_name_plural = "usage alert settings"
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="alerts_settings_single_row")]

    def __str__(self) -> str:
        return ", ".join(f"{threshold}%" for threshold in self.thresholds)


class UsageAlert(models.Model):
    """One threshold of one meter crossed in one period: the claim that makes its email,
    notification and webhook happen exactly once.

    Claimed with INSERT … ON CONFLICT DO NOTHING on the partial unique constraint below, in the
    transaction that records the notification and the webhook event and queues the email on
    commit. `rearmed_at`: a gauge (period "current") went back below the threshold, so crossing
    it again alerts again; the row stays as history.
    """

    meter = models.CharField(max_length=64)
    period = models.CharField(max_length=16)
    threshold = models.PositiveSmallIntegerField()
    used = models.BigIntegerField()
    allowed = models.BigIntegerField()  # the limit when the threshold was crossed
    crossed_at = models.DateTimeField(default=timezone.now)
    email_sent_at = models.DateTimeField(null=True, blank=True)
    rearmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-crossed_at", "-id")
        constraints = [
            models.UniqueConstraint(
                fields=["meter", "period", "threshold"],
                condition=models.Q(rearmed_at__isnull=True),
                name="alerts_one_open_alert_per_threshold",
            )
        ]
        indexes = [
            models.Index(
                fields=["crossed_at"], condition=models.Q(email_sent_at__isnull=True), name="alerts_email_unsent"
            )
        ]

    def __str__(self) -> str:
        return f"{self.meter} {self.period} {self.threshold}%"

    @property
    def is_limit_reached(self) -> bool:
        return self.threshold >= 100
