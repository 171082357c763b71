"""Celery on Redis; tasks run in the schema that was active when they were sent."""

from config.env import env

CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="redis://127.0.0.1:6379/0")
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default="redis://127.0.0.1:6379/0")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ALWAYS_EAGER = False
CELERY_BEAT_SCHEDULE = {
    "tenants-purge-deleted": {
        "task": "tenants.tasks.tenants_purge_due_deletions_task",
        "schedule": 3600.0,
    },
    "billing-lifecycle": {
        "task": "billing.tasks.billing_lifecycle_due_task",
        "schedule": 3600.0,
    },
    "stripe-webhook-events-sweep": {
        "task": "stripe_billing.tasks.stripe_webhook_events_sweep_task",
        "schedule": 300.0,
    },
    "usage-rollup": {
        "task": "usage.tasks.usage_rollup_dispatch_task",
        "schedule": 30.0,
    },
    "webhooks-sweep": {
        "task": "webhooks.tasks.webhook_deliveries_sweep_task",
        "schedule": 60.0,
    },
    "webhooks-events-prune": {
        "task": "webhooks.tasks.webhook_events_prune_task",
        "schedule": 86400.0,
    },
    "knowledge-requeue-stuck": {
        "task": "knowledge.tasks.documents_stuck_requeue_task",
        "schedule": 300.0,
    },
    "usage-alert-emails-sweep": {
        "task": "alerts.tasks.usage_alert_emails_sweep_task",
        "schedule": 3600.0,
    },
    "agent-tasks-requeue": {
        "task": "agents.tasks.agent_tasks_requeue_task",
        "schedule": 300.0,
    },
    "conversations-complete-inactive": {
        "task": "conversations.tasks.conversations_complete_inactive_dispatch_task",
        "schedule": 60.0,
    },
    "conversations-retention": {
        "task": "conversations.retention.conversation_retention_dispatch_task",
        "schedule": 86400.0,
    },
}
# Task modules not named `tasks` (autodiscovery finds only those).
CELERY_IMPORTS = ("conversations.retention",)
