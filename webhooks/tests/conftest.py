from __future__ import annotations

import pytest


@pytest.fixture
def local_receivers(settings):  # type: ignore[no-untyped-def]
    """Let endpoints point at pytest-httpserver on http://localhost (SSRF policy off, as in development)."""
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    settings.WEBHOOKS_ALLOW_HTTP = True
    return settings
