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
}
