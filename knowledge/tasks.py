"""Celery entry points for knowledge bases (thin: the work is in knowledge.indexing)."""

from __future__ import annotations

from config.celery import app
from knowledge.indexing import document_index
from tenants.context import require_tenant


@app.task(acks_late=True, ignore_result=True)
def document_index_task(*, document_id: str) -> None:
    """Index one document in the schema named by the task's `_schema_name` header."""
    require_tenant()
    document_index(document_id=document_id)
