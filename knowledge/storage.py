"""Private, tenant-scoped storage of uploaded knowledge files.

Files live under `KNOWLEDGE_FILES_ROOT/<schema>/<knowledge base>/<document>/<random>.<ext>`,
outside MEDIA_ROOT and without a URL: they are only ever read by the indexing task and by the
portal/API views of the tenant that owns them. Every open, delete or size check refuses a name
outside the schema the connection is on, so even a forged row cannot reach another tenant's file.
"""

from __future__ import annotations

import os
import posixpath
import secrets
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.storage import FileSystemStorage
from django.utils.deconstruct import deconstructible

from tenants.context import current_schema, is_public_schema

if TYPE_CHECKING:
    from knowledge.models import Document


def _schema_of(name: str) -> str:
    """The first folder of a normalized relative name ("" for anything that climbs or is absolute)."""
    normalized = posixpath.normpath(name.replace("\\", "/"))
    parts = PurePosixPath(normalized).parts
    if not parts or normalized.startswith(("/", "..")) or ".." in parts:
        return ""
    return parts[0]


@deconstructible
class TenantPrivateFileStorage(FileSystemStorage):
    """FileSystemStorage whose names start with the tenant's schema and that has no public URL."""

    def __init__(self, location: str | None = None) -> None:
        super().__init__(location=location, base_url=None)
        self._root = location

    # Plain properties, not Django's cached ones: tests point KNOWLEDGE_FILES_ROOT elsewhere.
    @property  # type: ignore[override]
    def base_location(self) -> Any:
        return self._value_or_setting(self._root, settings.KNOWLEDGE_FILES_ROOT)

    @property  # type: ignore[override]
    def location(self) -> str:
        return os.path.abspath(self.base_location)

    def _check_schema(self, name: str) -> None:
        if is_public_schema() or _schema_of(name) != current_schema():
            raise SuspiciousFileOperation("knowledge file outside the current tenant's storage")

    def path(self, name: str) -> str:
        self._check_schema(name)
        return super().path(name)

    def url(self, name: str | None) -> str:
        raise NotImplementedError("knowledge files have no public URL")


knowledge_file_storage = TenantPrivateFileStorage()


def knowledge_upload_path(instance: Document, filename: str) -> str:
    """`<schema>/<kb>/<document>/<random>.<ext>`: the client's file name is kept on the row only."""
    suffix = PurePosixPath(filename).suffix.lower()[:10]
    return f"{current_schema()}/{instance.knowledge_base_id}/{instance.id}/{secrets.token_hex(8)}{suffix}"
