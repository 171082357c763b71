"""Publishing, signing, attempts, retries, replay and auto-disable against a real local receiver.

Tests run inside pytest-django's transaction, so on-commit enqueues are captured and the attempt
service is called directly (what the Celery task does); test_worker.py runs a real worker.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import schema_context
from pytest_httpserver import HTTPServer
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from werkzeug import Response

from accounts.models import Role
from billing.tests.factories import override_give
from conftest import make_member
from webhooks.deliveries import retry_schedule, webhook_delivery_attempt
from webhooks.events import webhook_event_publish
from webhooks.models import DeliveryStatus, EventType, WebhookDelivery, WebhookEndpoint, WebhookEvent
from webhooks.services import webhook_endpoint_rotate_secret, webhook_endpoint_send_test, webhook_event_replay
from webhooks.tests.factories import TESTS, endpoint_give

pytestmark = pytest.mark.usefixtures("local_receivers")


def _deliveries(tenant_fixture) -> list[WebhookDelivery]:  # type: ignore[no-untyped-def]
    with schema_context(tenant_fixture.schema):
        return list(WebhookDelivery.objects.select_related("endpoint", "event").order_by("created_at", "id"))


def _attempt(tenant_fixture, delivery: WebhookDelivery):  # type: ignore[no-untyped-def]
    with schema_context(tenant_fixture.schema):
        return webhook_delivery_attempt(tenant=tenant_fixture.tenant, delivery_id=delivery.pk)


def _refresh(tenant_fixture, delivery: WebhookDelivery) -> WebhookDelivery:  # type: ignore[no-untyped-def]
    with schema_context(tenant_fixture.schema):
        return WebhookDelivery.objects.select_related("endpoint").get(pk=delivery.pk)


def test_publish_queues_one_delivery_per_subscribed_enabled_endpoint_on_commit(
    tenant_a, httpserver: HTTPServer, django_capture_on_commit_callbacks
):
    url = httpserver.url_for("/hook")
    subscribed = endpoint_give(tenant_a.tenant, url=url, event_types=[EventType.LEAD_CREATED]).endpoint
    endpoint_give(tenant_a.tenant, url=url, event_types=[EventType.AGENT_CREATED])  # other type
    endpoint_give(tenant_a.tenant, url=url, event_types=[EventType.LEAD_CREATED], is_enabled=False)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        event = webhook_event_publish(tenant=tenant_a.tenant, event_type=EventType.LEAD_CREATED, data={"x": 1})

    assert event is not None
    assert [(d.endpoint_id, d.event_id, d.status) for d in _deliveries(tenant_a)] == [
        (subscribed.pk, event.pk, DeliveryStatus.PENDING)
    ]
    assert len(callbacks) == 1  # queued only once the transaction commits
    assert httpserver.log == []  # and nothing was sent while publishing


def test_publish_inside_a_rolled_back_transaction_leaves_nothing(tenant_a, django_capture_on_commit_callbacks):
    endpoint_give(tenant_a.tenant, event_types=[EventType.LEAD_CREATED])

    with (
        django_capture_on_commit_callbacks(execute=False) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        webhook_event_publish(tenant=tenant_a.tenant, event_type=EventType.LEAD_CREATED, data={})
        raise RuntimeError("the caller fails after publishing")

    assert callbacks == []
    assert _deliveries(tenant_a) == []


def test_publish_refuses_unknown_types_and_non_json_data(tenant_a):
    with pytest.raises(ValueError, match="unknown webhook event type"):
        webhook_event_publish(tenant=tenant_a.tenant, event_type="lead.exploded", data={})
    with pytest.raises(ValueError, match="unknown webhook event type"):
        webhook_event_publish(tenant=tenant_a.tenant, event_type=EventType.TEST_PING, data={})
    with pytest.raises(ValueError, match="JSON"):
        webhook_event_publish(tenant=tenant_a.tenant, event_type=EventType.LEAD_CREATED, data={"x": object()})


def test_publish_records_nothing_when_the_plan_lacks_webhooks(tenant_b):
    # Beta is on Starter, which has no webhooks: nobody could receive the event.
    assert webhook_event_publish(tenant=tenant_b.tenant, event_type=EventType.LEAD_CREATED, data={}) is None
    with schema_context(tenant_b.schema):
        assert not WebhookEvent.objects.exists()

    override_give(tenant_b.tenant, features=["webhooks"])
    assert webhook_event_publish(tenant=tenant_b.tenant, event_type=EventType.LEAD_CREATED, data={}) is not None


def test_delivery_is_signed_per_standard_webhooks_and_carries_the_payload(tenant_a, httpserver: HTTPServer):
    httpserver.expect_oneshot_request("/hook", method="POST").respond_with_data("thanks", status=200)
    issued = endpoint_give(tenant_a.tenant, url=httpserver.url_for("/hook"))
    event = webhook_event_publish(
        tenant=tenant_a.tenant,
        event_type=EventType.LEAD_CREATED,
        data={"lead": {"id": "lead_7", "email": "jane@example.com"}, "at": timezone.now()},
    )
    assert event is not None
    (delivery,) = _deliveries(tenant_a)

    attempt = _attempt(tenant_a, delivery)

    (request, _), *_ = httpserver.log
    body = request.get_data()
    verified = Webhook(issued.secret).verify(body, dict(request.headers))
    assert verified == {
        "id": event.pk,
        "type": "lead.created",
        "timestamp": event.created_at.isoformat().replace("+00:00", "Z"),
        "tenant_id": "alpha",
        "data": {"lead": {"id": "lead_7", "email": "jane@example.com"}, "at": event.data["at"]},
    }
    assert request.headers["webhook-id"] == event.pk
    assert request.headers["Content-Type"] == "application/json"
    with pytest.raises(WebhookVerificationError):
        Webhook(issued.secret).verify(body.replace(b"lead_7", b"lead_8"), dict(request.headers))
    assert (attempt.status_code, attempt.succeeded, attempt.response_excerpt) == (200, True, "thanks")
    assert attempt.latency_ms is not None
    assert _refresh(tenant_a, delivery).status == DeliveryStatus.SUCCEEDED


def test_retries_follow_the_schedule_until_the_receiver_recovers(
    tenant_a, httpserver: HTTPServer, django_capture_on_commit_callbacks
):
    assert retry_schedule() == (0, 5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)
    httpserver.expect_ordered_request("/hook").respond_with_data("down", status=503)
    httpserver.expect_ordered_request("/hook").respond_with_handler(lambda r: Response("slow", status=500))
    httpserver.expect_ordered_request("/hook").respond_with_data("ok", status=204)
    endpoint_give(tenant_a.tenant, url=httpserver.url_for("/hook"))
    webhook_event_publish(tenant=tenant_a.tenant, event_type=EventType.LEAD_CREATED, data={})
    (delivery,) = _deliveries(tenant_a)
    start = timezone.now()

    with time_machine.travel(start, tick=False):
        with django_capture_on_commit_callbacks(execute=False) as queued:
            first = _attempt(tenant_a, delivery)
        assert len(queued) == 1  # the 5 s retry goes to the broker with a countdown
        assert _attempt(tenant_a, delivery) is None  # not due yet: a duplicate task does nothing
    assert _refresh(tenant_a, delivery).next_attempt_at == start + timedelta(seconds=5)

    with time_machine.travel(start + timedelta(seconds=5), tick=False):
        second = _attempt(tenant_a, delivery)
    assert _refresh(tenant_a, delivery).next_attempt_at == start + timedelta(seconds=5 + 300)

    with time_machine.travel(start + timedelta(seconds=305), tick=False):
        third = _attempt(tenant_a, delivery)

    assert [(a.number, a.status_code, a.succeeded) for a in (first, second, third)] == [
        (1, 503, False),
        (2, 500, False),
        (3, 204, True),
    ]
    assert first.response_excerpt == "down"
    finished = _refresh(tenant_a, delivery)
    assert (finished.status, finished.attempt_count, finished.next_attempt_at) == (DeliveryStatus.SUCCEEDED, 3, None)
    assert finished.endpoint.failing_since is None  # the success ended the failure run
    httpserver.check_assertions()


def test_delivery_fails_when_the_schedule_is_used_up(tenant_a, httpserver: HTTPServer, settings):
    settings.WEBHOOK_RETRY_SCHEDULE_SECONDS = [0, 5]
    httpserver.expect_request("/hook").respond_with_data("nope", status=500)
    endpoint_give(tenant_a.tenant, url=httpserver.url_for("/hook"))
    webhook_event_publish(tenant=tenant_a.tenant, event_type=EventType.LEAD_CREATED, data={})
    (delivery,) = _deliveries(tenant_a)

    _attempt(tenant_a, delivery)
    with time_machine.travel(timezone.now() + timedelta(seconds=6)):
        _attempt(tenant_a, delivery)
        assert _attempt(tenant_a, delivery) is None

    finished = _refresh(tenant_a, delivery)
    assert (finished.status, finished.attempt_count, finished.next_attempt_at) == (DeliveryStatus.FAILED, 2, None)
    assert len(httpserver.log) == 2


def test_timeouts_and_refused_connections_are_failed_attempts(tenant_a, httpserver: HTTPServer, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.3

    def slow(request):  # type: ignore[no-untyped-def]
        time.sleep(1)
        return Response("late")

    httpserver.expect_request("/slow").respond_with_handler(slow)
    endpoint_give(tenant_a.tenant, url=httpserver.url_for("/slow"))
    endpoint_give(tenant_a.tenant, url="http://127.0.0.1:9/closed")  # discard port: nothing listens
    webhook_event_publish(tenant=tenant_a.tenant, event_type=EventType.LEAD_CREATED, data={})

    attempts = {d.endpoint.url: _attempt(tenant_a, d) for d in _deliveries(tenant_a)}

    timed_out = attempts[httpserver.url_for("/slow")]
    assert (timed_out.status_code, timed_out.error, timed_out.succeeded) == (None, "timed out", False)
    refused = attempts["http://127.0.0.1:9/closed"]
    assert refused.status_code is None and refused.error.startswith("connection failed")
    _wait_until(lambda: len(httpserver.log) == 1)  # the slow handler finishes before the next test


def _wait_until(condition, seconds: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def test_redirects_are_not_followed(tenant_a, httpserver: HTTPServer):
    httpserver.expect_request("/hook").respond_with_data(
        "", status=302, headers={"Location": httpserver.url_for("/elsewhere")}
    )
    httpserver.expect_request("/elsewhere").respond_with_data("should never be called")
    endpoint_give(tenant_a.tenant, url=httpserver.url_for("/hook"))
    webhook_event_publish(tenant=tenant_a.tenant, event_type=EventType.LEAD_CREATED, data={})
    (delivery,) = _deliveries(tenant_a)

    attempt = _attempt(tenant_a, delivery)

    assert [request.path for request, _ in httpserver.log] == ["/hook"]
    assert (attempt.status_code, attempt.succeeded) == (302, False)
    assert "not followed" in attempt.error
    assert _refresh(tenant_a, delivery).status == DeliveryStatus.PENDING  # retried later like any failure


def test_replay_sends_the_same_event_again_with_the_same_id(tenant_a, httpserver: HTTPServer):
    httpserver.expect_ordered_request("/hook").respond_with_data("broken", status=500)
    httpserver.expect_ordered_request("/hook").respond_with_data("ok")
    issued = endpoint_give(tenant_a.tenant, url=httpserver.url_for("/hook"))
    event = webhook_event_publish(tenant=tenant_a.tenant, event_type=EventType.LEAD_CREATED, data={"n": 1})
    assert event is not None
    (original,) = _deliveries(tenant_a)
    _attempt(tenant_a, original)

    with schema_context(tenant_a.schema):
        replay = webhook_event_replay(tenant=tenant_a.tenant, endpoint=issued.endpoint, event=event, actor=TESTS)
    _attempt(tenant_a, replay)

    (first, _), (second, _) = httpserver.log
    assert first.get_data() == second.get_data()
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == event.pk
    Webhook(issued.secret).verify(second.get_data(), dict(second.headers))
    assert (_refresh(tenant_a, replay).status, replay.trigger) == (DeliveryStatus.SUCCEEDED, "replay")


def test_send_test_pings_only_that_endpoint_once(tenant_a, httpserver: HTTPServer):
    httpserver.expect_request("/hook").respond_with_data("nope", status=500)
    issued = endpoint_give(tenant_a.tenant, url=httpserver.url_for("/hook"))
    endpoint_give(tenant_a.tenant, url=httpserver.url_for("/other"))

    with schema_context(tenant_a.schema):
        delivery = webhook_endpoint_send_test(tenant=tenant_a.tenant, endpoint=issued.endpoint, actor=TESTS)
    _attempt(tenant_a, delivery)

    (request, _), *rest = httpserver.log
    assert rest == []
    assert json.loads(request.get_data())["type"] == "test.ping"
    assert _refresh(tenant_a, delivery).status == DeliveryStatus.FAILED  # a test is not retried


def test_rotation_sends_both_signatures_during_the_overlap(tenant_a, httpserver: HTTPServer):
    httpserver.expect_request("/hook").respond_with_data("ok")
    old = endpoint_give(tenant_a.tenant, url=httpserver.url_for("/hook"))
    new = webhook_endpoint_rotate_secret(
        tenant=tenant_a.tenant, endpoint=old.endpoint, actor=TESTS, overlap_seconds=3600
    )
    assert new.secret != old.secret

    webhook_event_publish(tenant=tenant_a.tenant, event_type=EventType.LEAD_CREATED, data={})
    (during,) = _deliveries(tenant_a)
    _attempt(tenant_a, during)
    with time_machine.travel(timezone.now() + timedelta(seconds=3601)):
        webhook_event_publish(tenant=tenant_a.tenant, event_type=EventType.AGENT_CREATED, data={})
        after = next(d for d in _deliveries(tenant_a) if d.pk != during.pk)
        _attempt(tenant_a, after)
        (first, _), (second, _) = httpserver.log
        assert len(second.headers["webhook-signature"].split(" ")) == 1
        Webhook(new.secret).verify(second.get_data(), dict(second.headers))
        with pytest.raises(WebhookVerificationError):
            Webhook(old.secret).verify(second.get_data(), dict(second.headers))

    assert len(first.headers["webhook-signature"].split(" ")) == 2
    for secret in (new.secret, old.secret):  # a receiver on either secret accepts it
        Webhook(secret).verify(first.get_data(), dict(first.headers))


def test_endpoint_failing_for_days_is_disabled_once_with_an_email_to_owners_and_admins(
    tenant_a, httpserver: HTTPServer, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_DISABLE_AFTER_DAYS = 2
    make_member(tenant_a, email="admin@alpha.test", role=Role.ADMIN)
    make_member(tenant_a, email="member@alpha.test", role=Role.MEMBER)
    httpserver.expect_request("/hook").respond_with_data("down", status=503)
    endpoint = endpoint_give(tenant_a.tenant, url=httpserver.url_for("/hook")).endpoint
    start = timezone.now()

    def publish_and_attempt(at):  # type: ignore[no-untyped-def]
        with time_machine.travel(at, tick=False):
            event = webhook_event_publish(tenant=tenant_a.tenant, event_type=EventType.LEAD_CREATED, data={})
            (delivery,) = [d for d in _deliveries(tenant_a) if d.event_id == event.pk]
            with django_capture_on_commit_callbacks(execute=True):
                _attempt(tenant_a, delivery)
            return delivery

    publish_and_attempt(start)
    publish_and_attempt(start + timedelta(days=1))
    with schema_context(tenant_a.schema):
        assert WebhookEndpoint.objects.get(pk=endpoint.pk).is_enabled
    last = publish_and_attempt(start + timedelta(days=2, seconds=1))

    with schema_context(tenant_a.schema):
        disabled = WebhookEndpoint.objects.get(pk=endpoint.pk)
        still_pending = WebhookDelivery.objects.filter(endpoint=endpoint, status=DeliveryStatus.PENDING).count()
    assert not disabled.is_enabled
    assert disabled.failing_since == start
    assert "Disabled automatically" in disabled.disabled_reason
    assert still_pending == 0  # the retries of earlier deliveries stop too
    assert _refresh(tenant_a, last).status == DeliveryStatus.FAILED
    (message,) = mail.outbox
    assert sorted(message.to) == ["admin@alpha.test", "owner@alpha.test"]
    assert httpserver.url_for("/hook") in message.body
    # A disabled endpoint gets no new deliveries.
    assert webhook_event_publish(tenant=tenant_a.tenant, event_type=EventType.LEAD_CREATED, data={}) is not None
    with schema_context(tenant_a.schema):
        assert not WebhookDelivery.objects.filter(endpoint=endpoint, status=DeliveryStatus.PENDING).exists()


def test_a_success_ends_the_failure_run(tenant_a, httpserver: HTTPServer):
    httpserver.expect_ordered_request("/hook").respond_with_data("down", status=503)
    httpserver.expect_ordered_request("/hook").respond_with_data("ok")
    endpoint = endpoint_give(tenant_a.tenant, url=httpserver.url_for("/hook")).endpoint
    for _ in range(2):
        webhook_event_publish(tenant=tenant_a.tenant, event_type=EventType.LEAD_CREATED, data={})
    first, second = _deliveries(tenant_a)

    _attempt(tenant_a, first)
    with schema_context(tenant_a.schema):
        assert WebhookEndpoint.objects.get(pk=endpoint.pk).failing_since is not None
    _attempt(tenant_a, second)
    with schema_context(tenant_a.schema):
        assert WebhookEndpoint.objects.get(pk=endpoint.pk).failing_since is None
