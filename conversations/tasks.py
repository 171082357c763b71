"""Celery entry points of conversations (thin: the work is in conversations.services)."""

from __future__ import annotations

from config.celery import app
from conversations.services import conversations_complete_inactive
from tenants.selectors import tenant_list_live


@app.task(acks_late=True, ignore_result=True)
def conversations_complete_inactive_task() -> int:
    """Complete the inactive conversations of the schema named by the `_schema_name` header."""
    return conversations_complete_inactive()


@app.task(acks_late=True, ignore_result=True)
def conversations_complete_inactive_dispatch_task() -> list[str]:
    """Every minute (beat): one `conversations_complete_inactive_task` per live tenant."""
    schemas = list(tenant_list_live().values_list("schema_name", flat=True))
    for schema in schemas:
        conversations_complete_inactive_task.apply_async(headers={"_schema_name": schema})
    return schemas
