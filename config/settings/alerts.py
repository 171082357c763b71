"""Usage alerts and in-portal notifications (docs/alerts.md)."""

from config.env import env

# Percentages of a limit a workspace is alerted at until an owner or admin changes them on the
# "Usage alerts" page: 1 to 5 distinct integers from 1 to 100 (100 is "limit reached").
USAGE_ALERT_DEFAULT_THRESHOLDS = env.list("USAGE_ALERT_DEFAULT_THRESHOLDS", cast=int, default=[50, 80, 100])
# Alert emails not sent this many minutes after the alert (a lost task, the broker down at the
# time) are queued again by the hourly sweep.
USAGE_ALERT_EMAIL_SWEEP_AFTER_MINUTES = env.int("USAGE_ALERT_EMAIL_SWEEP_AFTER_MINUTES", default=15)
