"""Two safety nets around knowledge files and indexing: documents stuck in `pending`/`indexing`
are queued again by a beat sweep, and purging a tenant removes its uploaded files."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from audit.services import Actor
from config.celery import app as celery_app
from knowledge.indexing import document_index
from knowledge.models import Document, DocumentStatus
from knowledge.services import document_create_from_upload
from knowledge.tasks import documents_stuck_requeue_task
from knowledge.tests.factories import ACTOR, KnowledgeBaseFactory, text_document
from tenants.models import Tenant
from tenants.services import tenant_purge, tenant_request_deletion
from tenants.tests.factories import ProvisionedTenantFactory


def _set(document: Document, *, status: str, minutes_ago: float) -> None:
    Document.objects.filter(pk=document.pk).update(
        status=status, updated_at=timezone.now() - timedelta(minutes=minutes_ago)
    )


def test_stuck_documents_are_queued_again_once_per_wait(tenant_a, tenant_b, settings):
    settings.KNOWLEDGE_STUCK_AFTER_MINUTES = 30
    with schema_context(tenant_a.schema):
        kb = KnowledgeBaseFactory()
        lost_pending, killed_indexing, fresh, ready = (text_document(kb, f"text {n}") for n in range(4))
        _set(lost_pending, status=DocumentStatus.PENDING, minutes_ago=31)
        _set(killed_indexing, status=DocumentStatus.INDEXING, minutes_ago=45)
        _set(fresh, status=DocumentStatus.PENDING, minutes_ago=5)
        _set(ready, status=DocumentStatus.READY, minutes_ago=600)
    with schema_context(tenant_b.schema):
        other = text_document(KnowledgeBaseFactory(), "tenant b's")
        _set(other, status=DocumentStatus.PENDING, minutes_ago=31)
    celery_app.control.purge()  # the uploads above queued their own tasks

    assert documents_stuck_requeue_task() == 3
    # The tasks are really in the broker, one per stuck document.
    assert celery_app.control.purge() == 3
    assert documents_stuck_requeue_task() == 0  # queued again: waits another 30 minutes

    with schema_context(tenant_a.schema):
        statuses = dict(Document.objects.values_list("id", "status"))
        assert statuses[lost_pending.pk] == statuses[killed_indexing.pk] == DocumentStatus.PENDING
        assert statuses[ready.pk] == DocumentStatus.READY
        # What the queued task does, here in-process: the document ends indexed.
        assert document_index(document_id=killed_indexing.pk).status == DocumentStatus.READY  # type: ignore[union-attr]


def test_tenant_purge_removes_the_tenants_knowledge_files(
    tenant_b, knowledge_files, django_capture_on_commit_callbacks
):
    leaving = ProvisionedTenantFactory(slug="leaving", plan_code="professional").tenant
    for schema in (leaving.schema_name, tenant_b.schema):
        with schema_context(schema):
            document_create_from_upload(
                knowledge_base=KnowledgeBaseFactory(),
                upload=SimpleUploadedFile("notes.txt", b"private notes", content_type="text/plain"),
                actor=ACTOR,
            )
    root = Path(knowledge_files)
    assert len(list((root / leaving.schema_name).rglob("*.txt"))) == 1
    tenant_request_deletion(tenant=leaving, confirm_slug="leaving", actor=Actor.system("tests"), grace_days=0)
    Tenant.objects.filter(pk=leaving.pk).update(purge_after=timezone.now() - timedelta(seconds=1))
    with connection.cursor() as cursor:  # rows written in this test's transaction, as if committed
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")

    with django_capture_on_commit_callbacks(execute=True):
        tenant_purge(tenant=Tenant.objects.get(pk=leaving.pk), actor=Actor.system("tests"))

    assert not (root / leaving.schema_name).exists()
    assert len(list((root / tenant_b.schema).rglob("*.txt"))) == 1  # nobody else's
