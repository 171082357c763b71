"""Outgoing webhooks (docs/webhooks.md)."""

from config.env import env

# Allow http:// endpoint URLs (local development only; production requires https).
WEBHOOKS_ALLOW_HTTP = env.bool("WEBHOOKS_ALLOW_HTTP", default=False)
# Allow endpoints on loopback, private, link-local and other non-public addresses
# (local development and tests only: it turns off the SSRF protection).
WEBHOOKS_ALLOW_PRIVATE_TARGETS = env.bool("WEBHOOKS_ALLOW_PRIVATE_TARGETS", default=False)
# Seconds to wait before each attempt: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h.
WEBHOOK_RETRY_SCHEDULE_SECONDS = env.list(
    "WEBHOOK_RETRY_SCHEDULE_SECONDS",
    cast=int,
    default=[0, 5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400],
)
# Seconds to connect to a receiver, and for the whole request once connected.
WEBHOOK_CONNECT_TIMEOUT_SECONDS = env.float("WEBHOOK_CONNECT_TIMEOUT_SECONDS", default=5.0)
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)
# Seconds the previous secret keeps signing after a rotation (default one day; at most 7 days).
WEBHOOK_SECRET_ROTATION_OVERLAP_SECONDS = env.int("WEBHOOK_SECRET_ROTATION_OVERLAP_SECONDS", default=86400)
# An endpoint whose every attempt has failed for this many days is disabled (owners/admins emailed).
WEBHOOK_DISABLE_AFTER_DAYS = env.float("WEBHOOK_DISABLE_AFTER_DAYS", default=5.0)
# The sweep re-queues pending attempts overdue by this many seconds (lost tasks, long retries).
WEBHOOK_SWEEP_GRACE_SECONDS = env.int("WEBHOOK_SWEEP_GRACE_SECONDS", default=60)
# Most deliveries one sweep run queues per tenant.
WEBHOOK_SWEEP_BATCH = env.int("WEBHOOK_SWEEP_BATCH", default=1000)
# Deliveries per attempt task: an event's deliveries to all its endpoints go in one task (up to this many).
WEBHOOK_DELIVERY_BATCH = env.int("WEBHOOK_DELIVERY_BATCH", default=25)
# Threads per worker process that POST a batch's deliveries concurrently (each with its own timeouts).
WEBHOOK_SEND_CONCURRENCY = env.int("WEBHOOK_SEND_CONCURRENCY", default=16)
# Days an event whose deliveries have all ended (and its delivery and attempt log) is kept; pruned daily.
WEBHOOK_EVENT_RETENTION_DAYS = env.int("WEBHOOK_EVENT_RETENTION_DAYS", default=30)
# Behind a backlog, an attempt task also takes up to this many other due deliveries of its tenant
# (oldest first), so the worker catches up in batches; 0 turns that off.
WEBHOOK_DELIVERY_CATCH_UP = env.int("WEBHOOK_DELIVERY_CATCH_UP", default=100)
