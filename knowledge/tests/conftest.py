from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def knowledge_files(settings, tmp_path):  # type: ignore[no-untyped-def]
    """Uploaded knowledge files go to a per-test folder."""
    settings.KNOWLEDGE_FILES_ROOT = tmp_path / "knowledge"
    return settings.KNOWLEDGE_FILES_ROOT
