"""Fixtures shared by the billing tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest
import time_machine

from billing import tasks


@pytest.fixture
def run_beat(monkeypatch, django_capture_on_commit_callbacks) -> Callable[[datetime], list[int]]:  # type: ignore[no-untyped-def]
    """Run the hourly beat task at a moment, its per-tenant fan-out inline (as a worker would), and
    what the steps queue for after commit (emails, events) as it would run once they committed."""
    monkeypatch.setattr(
        tasks.billing_subscription_advance_task, "delay", lambda **kw: tasks.billing_subscription_advance_task(**kw)
    )

    def run(at: datetime) -> list[int]:
        with time_machine.travel(at, tick=False), django_capture_on_commit_callbacks(execute=True):
            return tasks.billing_lifecycle_due_task()

    return run
