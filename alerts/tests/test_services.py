"""Usage alerts: thresholds, what crossing one produces (email, notifications, webhook event),
exactly once per period, re-arming gauges, and two tenants that never see each other's alerts.

Tests here run inside pytest-django's transaction: `django_capture_on_commit_callbacks` plays
the commit, and `eager_tasks` runs the email task in this process. Concurrency and the real
worker are in test_concurrency.py and test_tasks.py.
"""

from __future__ import annotations

from datetime import timedelta
from smtplib import SMTPServerDisconnected
from typing import Any

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.core.mail.backends.locmem import EmailBackend
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import Role, User
from alerts.checks import usage_alert_default_thresholds_check
from alerts.models import CURRENT_PERIOD, UsageAlert
from alerts.selectors import usage_alert_thresholds
from alerts.services import (
    usage_alert_email_send,
    usage_alert_emails_sweep,
    usage_alert_thresholds_set,
    usage_thresholds_evaluate,
)
from audit.models import AuditEvent
from audit.services import Actor
from config.errors import ValidationFailed
from conftest import TenantFixture, make_member
from notifications.models import Notification
from webhooks.models import WebhookEvent

ACTOR = Actor.system("tests")
pytestmark = pytest.mark.usefixtures("eager_tasks")


def _evaluate(
    tenant: TenantFixture,
    *,
    meter: str = "api_calls",
    used: int,
    limit: int | None,
    period: str = "2026-11",
    capture: Any,
) -> list[int]:
    with capture(execute=True):
        return usage_thresholds_evaluate(tenant=tenant.tenant, meter=meter, used=used, limit=limit, period=period)


def _events(tenant: TenantFixture) -> list[tuple[str, dict]]:
    """The tenant's usage webhook events, oldest first (other capabilities publish events too)."""
    with schema_context(tenant.schema):
        usage_events = WebhookEvent.objects.filter(type__startswith="usage.").order_by("created_at", "id")
        return [(event.type, event.data) for event in usage_events]


def test_usage_alert_thresholds_default_to_50_80_100(tenant_a: TenantFixture) -> None:
    with schema_context(tenant_a.schema):
        assert usage_alert_thresholds() == [50, 80, 100]


def test_usage_alert_thresholds_set_sorts_saves_and_audits(tenant_a: TenantFixture) -> None:
    with schema_context(tenant_a.schema):
        assert usage_alert_thresholds_set(thresholds=[90, 25], actor=ACTOR) == [25, 90]
        assert usage_alert_thresholds() == [25, 90]
        event = AuditEvent.objects.get(action="usage_alerts.thresholds_changed")
        assert event.data == {"before": [50, 80, 100], "after": [25, 90]}


@pytest.mark.parametrize(
    ("thresholds", "problem"),
    [
        ([], "between 1 and 5"),
        ([10, 20, 30, 40, 50, 60], "between 1 and 5"),
        ([0, 50], "from 1 to 100"),
        ([50, 101], "from 1 to 100"),
        ([50, True], "from 1 to 100"),
        ([80, 80], "only once"),
    ],
)
def test_usage_alert_thresholds_set_refuses_invalid_lists(
    tenant_a: TenantFixture, thresholds: list, problem: str
) -> None:
    with schema_context(tenant_a.schema):
        with pytest.raises(ValidationFailed) as raised:
            usage_alert_thresholds_set(thresholds=thresholds, actor=ACTOR)
        assert problem in " ".join(raised.value.errors["thresholds"])
        assert usage_alert_thresholds() == [50, 80, 100]


def test_usage_thresholds_evaluate_alerts_each_crossed_threshold_once(
    tenant_a: TenantFixture, django_capture_on_commit_callbacks: Any
) -> None:
    admin = make_member(tenant_a, email="admin@alpha.test", role=Role.ADMIN)
    make_member(tenant_a, email="member@alpha.test", role=Role.MEMBER)

    assert _evaluate(tenant_a, used=49_999, limit=100_000, capture=django_capture_on_commit_callbacks) == []
    assert _evaluate(tenant_a, used=80_000, limit=100_000, capture=django_capture_on_commit_callbacks) == [50, 80]
    assert _evaluate(tenant_a, used=90_000, limit=100_000, capture=django_capture_on_commit_callbacks) == []

    assert len(mail.outbox) == 2
    for message, threshold in zip(mail.outbox, (50, 80), strict=True):
        assert sorted(message.to) == sorted([tenant_a.owner_email, admin.email])
        assert message.subject == f"[Alpha Ltd] {threshold}% of your API calls limit used"
        assert "Alpha Ltd has used 80,000 of its 100,000 API calls for November 2026." in message.body
        assert isinstance(message, EmailMultiAlternatives)
        html, mimetype = message.alternatives[0]
        assert isinstance(html, str)
        assert mimetype == "text/html" and "Alpha Ltd" in html and f"http://{tenant_a.host}:8000/billing/" in html
    with schema_context(tenant_a.schema):
        assert sorted(n.recipient.email for n in Notification.objects.filter(title__startswith="80%")) == sorted(
            [tenant_a.owner_email, admin.email]
        )
        assert Notification.objects.count() == 4
        assert sorted(UsageAlert.objects.filter(email_sent_at__isnull=False).values_list("threshold", flat=True)) == [
            50,
            80,
        ]
    assert _events(tenant_a) == [
        (
            "usage.threshold_reached",
            {"meter": "api_calls", "threshold": t, "used": 80_000, "limit": 100_000, "period": "2026-11"},
        )
        for t in (50, 80)
    ]


def test_usage_thresholds_evaluate_reports_the_limit_reached_at_100_percent(
    tenant_a: TenantFixture, django_capture_on_commit_callbacks: Any
) -> None:
    _evaluate(tenant_a, used=85, limit=100, capture=django_capture_on_commit_callbacks)
    assert _evaluate(tenant_a, used=130, limit=100, capture=django_capture_on_commit_callbacks) == [100]
    assert _events(tenant_a)[-1] == (
        "usage.limit_reached",
        {"meter": "api_calls", "threshold": 100, "used": 130, "limit": 100, "period": "2026-11"},
    )
    assert mail.outbox[-1].subject == "[Alpha Ltd] Limit reached: API calls"
    with schema_context(tenant_a.schema):
        assert Notification.objects.filter(title="Limit reached: API calls", level="error").count() == 1


def test_usage_thresholds_evaluate_uses_exact_integer_percentages(
    tenant_a: TenantFixture, django_capture_on_commit_callbacks: Any
) -> None:
    # 2 of 3 is 66.7 %: past 50, short of 80. 4 of 5 is exactly 80 %.
    assert _evaluate(tenant_a, meter="chat_messages", used=2, limit=3, capture=django_capture_on_commit_callbacks) == [
        50
    ]
    assert _evaluate(tenant_a, meter="tokens", used=4, limit=5, capture=django_capture_on_commit_callbacks) == [50, 80]


@pytest.mark.parametrize("limit", [None, 0])
def test_usage_thresholds_evaluate_ignores_unlimited_and_absent_limits(
    tenant_a: TenantFixture, django_capture_on_commit_callbacks: Any, limit: int | None
) -> None:
    assert _evaluate(tenant_a, used=10**9, limit=limit, capture=django_capture_on_commit_callbacks) == []
    with schema_context(tenant_a.schema):
        assert not UsageAlert.objects.exists() and not Notification.objects.exists()
    assert mail.outbox == [] and _events(tenant_a) == []


@pytest.mark.parametrize(
    ("meter", "used", "period"),
    [
        ("API calls", 1, "2026-11"),
        ("", 1, "2026-11"),
        ("api_calls", -1, "2026-11"),
        ("api_calls", 1, "2026-13"),
        ("api_calls", 1, "november"),
        ("api_calls", 1, "2026-11' OR 1=1"),
    ],
)
def test_usage_thresholds_evaluate_refuses_malformed_arguments(
    tenant_a: TenantFixture, meter: str, used: int, period: str
) -> None:
    with pytest.raises(ValueError):
        usage_thresholds_evaluate(tenant=tenant_a.tenant, meter=meter, used=used, limit=10, period=period)


def test_usage_thresholds_evaluate_alerts_again_in_a_new_period_but_not_after_an_upgrade(
    tenant_a: TenantFixture, django_capture_on_commit_callbacks: Any
) -> None:
    capture = django_capture_on_commit_callbacks
    assert _evaluate(tenant_a, used=60, limit=100, period="2026-11", capture=capture) == [50]
    # A bigger limit mid-month: once per period and threshold, so 50 % of it is not announced again.
    assert _evaluate(tenant_a, used=600, limit=1000, period="2026-11", capture=capture) == []
    assert _evaluate(tenant_a, used=60, limit=100, period="2026-12", capture=capture) == [50]
    assert len(mail.outbox) == 2


def test_usage_thresholds_evaluate_rearms_a_gauge_that_drops_below_a_threshold(
    tenant_a: TenantFixture, django_capture_on_commit_callbacks: Any
) -> None:
    capture = django_capture_on_commit_callbacks

    def agents(used: int) -> list[int]:
        return _evaluate(tenant_a, meter="agents", used=used, limit=5, period=CURRENT_PERIOD, capture=capture)

    assert agents(4) == [50, 80]
    assert agents(4) == []
    assert agents(3) == []  # 60 %: 80 re-armed, 50 still crossed
    assert agents(4) == [80]
    assert agents(5) == [100]
    assert mail.outbox[-1].subject == "[Alpha Ltd] Limit reached: agents"
    assert "Alpha Ltd is using 5 of the 5 agents its plan allows." in mail.outbox[-1].body
    with schema_context(tenant_a.schema):
        assert UsageAlert.objects.filter(threshold=80).count() == 2  # history kept
        assert UsageAlert.objects.filter(threshold=80, rearmed_at__isnull=True).count() == 1


def test_usage_thresholds_evaluate_follows_each_tenants_own_thresholds(
    tenant_a: TenantFixture, tenant_b: TenantFixture, django_capture_on_commit_callbacks: Any
) -> None:
    with schema_context(tenant_a.schema):
        usage_alert_thresholds_set(thresholds=[30, 90], actor=ACTOR)
    capture = django_capture_on_commit_callbacks
    assert _evaluate(tenant_a, used=85, limit=100, capture=capture) == [30]
    assert _evaluate(tenant_b, used=85, limit=100, capture=capture) == [50, 80]
    assert [m.subject for m in mail.outbox] == [
        "[Alpha Ltd] 30% of your API calls limit used",
        "[Beta Ltd] 50% of your API calls limit used",
        "[Beta Ltd] 80% of your API calls limit used",
    ]
    assert mail.outbox[0].to == [tenant_a.owner_email]
    assert all(m.to == [tenant_b.owner_email] for m in mail.outbox[1:])


def test_usage_thresholds_evaluate_keeps_each_tenants_alerts_to_itself(
    tenant_a: TenantFixture, tenant_b: TenantFixture, django_capture_on_commit_callbacks: Any
) -> None:
    capture = django_capture_on_commit_callbacks
    assert _evaluate(tenant_a, used=100, limit=100, capture=capture) == [50, 80, 100]
    with schema_context(tenant_b.schema):
        assert not UsageAlert.objects.exists()
        assert not Notification.objects.exists()
    assert _events(tenant_b) == []
    # The same meter, period and threshold is a separate claim in the other tenant's schema.
    assert _evaluate(tenant_b, used=100, limit=100, capture=capture) == [50, 80, 100]
    # Beta's plan has no webhooks: its alerts email and notify, but publish no event.
    assert _events(tenant_b) == []
    assert len(_events(tenant_a)) == 3


def test_usage_thresholds_evaluate_rolled_back_with_its_caller_claims_nothing(
    tenant_a: TenantFixture, django_capture_on_commit_callbacks: Any
) -> None:
    with (
        pytest.raises(RuntimeError),
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        transaction.atomic(),
    ):
        crossed = usage_thresholds_evaluate(
            tenant=tenant_a.tenant, meter="api_calls", used=90, limit=100, period="2026-11"
        )
        assert crossed == [50, 80]
        raise RuntimeError("the caller's rollup failed after evaluating")
    assert callbacks == []
    assert mail.outbox == [] and _events(tenant_a) == []
    with schema_context(tenant_a.schema):
        assert not UsageAlert.objects.exists() and not Notification.objects.exists()
    # The caller's retry claims them for real.
    assert _evaluate(tenant_a, used=90, limit=100, capture=django_capture_on_commit_callbacks) == [50, 80]
    assert len(mail.outbox) == 2


def test_usage_alert_email_send_is_idempotent(tenant_a: TenantFixture, django_capture_on_commit_callbacks: Any) -> None:
    _evaluate(tenant_a, used=50, limit=100, capture=django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 1
    with schema_context(tenant_a.schema):
        alert = UsageAlert.objects.get()
        assert usage_alert_email_send(alert_id=alert.pk) is False  # a redelivered task
        assert usage_alert_email_send(alert_id=alert.pk + 1000) is False  # unknown id
    assert len(mail.outbox) == 1


class OutageOnceBackend(EmailBackend):
    """The SMTP server drops the first connection, then accepts mail (into locmem's outbox)."""

    failures_left = 0

    def send_messages(self, messages: Any) -> int:
        if OutageOnceBackend.failures_left:
            OutageOnceBackend.failures_left -= 1
            raise SMTPServerDisconnected("Connection unexpectedly closed")
        return super().send_messages(messages)


def test_usage_alert_email_send_after_an_smtp_failure_sends_on_retry(tenant_a: TenantFixture, settings: Any) -> None:
    settings.EMAIL_BACKEND = f"{__name__}.OutageOnceBackend"
    OutageOnceBackend.failures_left = 1
    with schema_context(tenant_a.schema):
        alert = UsageAlert.objects.create(meter="api_calls", period="2026-11", threshold=80, used=80, allowed=100)
        with pytest.raises(SMTPServerDisconnected):
            usage_alert_email_send(alert_id=alert.pk)
        alert.refresh_from_db()
        assert alert.email_sent_at is None
        assert usage_alert_email_send(alert_id=alert.pk) is True
        assert usage_alert_email_send(alert_id=alert.pk) is False
    assert len(mail.outbox) == 1


def test_usage_alert_emails_sweep_sends_what_was_never_queued(tenant_a: TenantFixture, tenant_b: TenantFixture) -> None:
    with schema_context(tenant_a.schema):
        crossed_at = timezone.now() - timedelta(hours=2)
        lost = UsageAlert.objects.create(
            meter="api_calls", period="2026-11", threshold=80, used=80, allowed=100, crossed_at=crossed_at
        )
        UsageAlert.objects.create(meter="api_calls", period="2026-11", threshold=50, used=80, allowed=100)  # fresh
    assert usage_alert_emails_sweep() == 1
    assert [m.subject for m in mail.outbox] == ["[Alpha Ltd] 80% of your API calls limit used"]
    with schema_context(tenant_a.schema):
        lost.refresh_from_db()
        assert lost.email_sent_at is not None
    assert usage_alert_emails_sweep() == 0


def test_usage_alert_email_skips_people_who_left(
    tenant_a: TenantFixture, django_capture_on_commit_callbacks: Any
) -> None:
    admin = make_member(tenant_a, email="admin@alpha.test", role=Role.ADMIN)
    with schema_context(tenant_a.schema):
        User.objects.filter(pk=admin.pk).update(is_active=False)
    _evaluate(tenant_a, used=50, limit=100, capture=django_capture_on_commit_callbacks)
    assert mail.outbox[0].to == [tenant_a.owner_email]


@pytest.mark.parametrize("defaults", [[], [50, 50], [0, 80], [50, 80, 101], [10, 20, 30, 40, 50, 60]])
def test_usage_alert_default_thresholds_check_refuses_invalid_settings(settings: Any, defaults: list[int]) -> None:
    settings.USAGE_ALERT_DEFAULT_THRESHOLDS = defaults
    assert [error.id for error in usage_alert_default_thresholds_check()] == ["alerts.E001"]
    settings.USAGE_ALERT_DEFAULT_THRESHOLDS = [50, 80, 100]
    assert usage_alert_default_thresholds_check() == []
