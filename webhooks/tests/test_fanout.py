"""Fan-out in batches: one attempt task per event POSTs to all its endpoints concurrently,
records every attempt, and retries only the endpoints that failed.

Like test_deliveries.py, the attempt service is called directly (what the task does).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from django_tenants.utils import schema_context
from pytest_httpserver import HTTPServer
from standardwebhooks.webhooks import Webhook
from werkzeug import Request, Response

from webhooks.deliveries import webhook_deliveries_attempt
from webhooks.events import webhook_event_publish
from webhooks.models import DeliveryStatus, EventType, WebhookDelivery
from webhooks.tests.factories import endpoint_give

pytestmark = pytest.mark.usefixtures("local_receivers")


@pytest.fixture
def threaded_server() -> Iterator[HTTPServer]:
    server = HTTPServer(threaded=True)
    server.start()
    try:
        yield server
    finally:
        server.clear()
        server.stop()


def _delivery_ids(tenant_fixture) -> list[str]:  # type: ignore[no-untyped-def]
    with schema_context(tenant_fixture.schema):
        return list(WebhookDelivery.objects.order_by("id").values_list("id", flat=True))


def _attempt_all(tenant_fixture, ids: list[str]):  # type: ignore[no-untyped-def]
    with schema_context(tenant_fixture.schema):
        return webhook_deliveries_attempt(tenant=tenant_fixture.tenant, delivery_ids=ids)


def test_an_events_endpoints_are_posted_concurrently(tenant_a, threaded_server: HTTPServer):
    # Each receiver answers only once all three requests are in flight together: sent one after
    # another, the first would wait in vain and answer 500.
    together = threading.Barrier(3, timeout=5)

    def handler(request: Request) -> Response:
        try:
            together.wait()
        except threading.BrokenBarrierError:
            return Response("alone", status=500)
        return Response("ok")

    for n in range(3):
        threaded_server.expect_request(f"/hook/{n}").respond_with_handler(handler)
    secrets = [endpoint_give(tenant_a.tenant, url=threaded_server.url_for(f"/hook/{n}")).secret for n in range(3)]
    event = webhook_event_publish(tenant=tenant_a.tenant, event_type=EventType.LEAD_CREATED, data={"n": 1})
    assert event is not None

    attempts = _attempt_all(tenant_a, _delivery_ids(tenant_a))

    assert sorted((a.status_code, a.succeeded) for a in attempts) == [(200, True)] * 3
    with schema_context(tenant_a.schema):
        assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SUCCEEDED}
    # Every endpoint got the event signed with its own secret.
    requests_by_path = {request.path: request for request, _ in threaded_server.log}
    for n, secret in enumerate(secrets):
        request = requests_by_path[f"/hook/{n}"]
        assert Webhook(secret).verify(request.get_data(), dict(request.headers))["id"] == event.pk


def test_only_the_failed_endpoint_is_retried(tenant_a, httpserver: HTTPServer, django_capture_on_commit_callbacks):
    httpserver.expect_request("/healthy").respond_with_data("ok")
    httpserver.expect_oneshot_request("/flaky").respond_with_data("down", status=503)
    httpserver.expect_oneshot_request("/flaky").respond_with_data("ok")
    healthy = endpoint_give(tenant_a.tenant, url=httpserver.url_for("/healthy")).endpoint
    flaky = endpoint_give(tenant_a.tenant, url=httpserver.url_for("/flaky")).endpoint
    webhook_event_publish(tenant=tenant_a.tenant, event_type=EventType.LEAD_CREATED, data={})
    ids = _delivery_ids(tenant_a)
    start = timezone.now()

    with time_machine.travel(start, tick=False), django_capture_on_commit_callbacks(execute=False) as queued:
        first = _attempt_all(tenant_a, ids)
    assert len(queued) == 1  # one retry task, for the failed delivery only
    with schema_context(tenant_a.schema):
        by_endpoint = {d.endpoint_id: d for d in WebhookDelivery.objects.all()}
    assert by_endpoint[healthy.pk].status == DeliveryStatus.SUCCEEDED
    assert (by_endpoint[flaky.pk].status, by_endpoint[flaky.pk].next_attempt_at) == (
        DeliveryStatus.PENDING,
        start + timedelta(seconds=5),
    )

    # The retry task (or the sweep) may name both deliveries: only the due one is attempted.
    with time_machine.travel(start + timedelta(seconds=5), tick=False):
        second = _attempt_all(tenant_a, ids)

    assert sorted((a.url.rsplit("/", 1)[1], a.number, a.status_code) for a in first) == [
        ("flaky", 1, 503),
        ("healthy", 1, 200),
    ]
    assert [(a.url.rsplit("/", 1)[1], a.number, a.status_code) for a in second] == [("flaky", 2, 200)]
    with schema_context(tenant_a.schema):
        assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SUCCEEDED}
        assert WebhookDelivery.objects.get(endpoint=flaky).attempts.count() == 2
    assert [request.path for request, _ in httpserver.log].count("/healthy") == 1
    httpserver.check_assertions()


def test_a_batch_claimed_by_one_worker_is_not_sent_again_by_another(tenant_a, httpserver: HTTPServer):
    httpserver.expect_request("/hook").respond_with_data("ok")
    for _ in range(3):
        endpoint_give(tenant_a.tenant, url=httpserver.url_for("/hook"))
    webhook_event_publish(tenant=tenant_a.tenant, event_type=EventType.LEAD_CREATED, data={})
    ids = _delivery_ids(tenant_a)

    assert len(_attempt_all(tenant_a, ids)) == 3
    assert _attempt_all(tenant_a, ids) == []  # a duplicate task does nothing

    assert len(httpserver.log) == 3


def test_a_disabled_endpoint_in_a_batch_fails_without_an_attempt(tenant_a, httpserver: HTTPServer):
    httpserver.expect_request("/hook").respond_with_data("ok")
    live = endpoint_give(tenant_a.tenant, url=httpserver.url_for("/hook")).endpoint
    gone = endpoint_give(tenant_a.tenant, url=httpserver.url_for("/hook")).endpoint
    webhook_event_publish(tenant=tenant_a.tenant, event_type=EventType.LEAD_CREATED, data={})
    with schema_context(tenant_a.schema):
        type(gone).objects.filter(pk=gone.pk).update(is_enabled=False)

    attempts = _attempt_all(tenant_a, _delivery_ids(tenant_a))

    assert [a.delivery.endpoint_id for a in attempts] == [live.pk]
    with schema_context(tenant_a.schema):
        statuses = dict(WebhookDelivery.objects.values_list("endpoint_id", "status"))
    assert statuses == {live.pk: DeliveryStatus.SUCCEEDED, gone.pk: DeliveryStatus.FAILED}
    assert len(httpserver.log) == 1


def test_a_task_behind_a_backlog_also_takes_other_due_deliveries_once(tenant_a, httpserver: HTTPServer):
    httpserver.expect_request("/hook").respond_with_data("ok")
    endpoint_give(tenant_a.tenant, url=httpserver.url_for("/hook"))
    for n in range(4):
        webhook_event_publish(tenant=tenant_a.tenant, event_type=EventType.LEAD_CREATED, data={"n": n})
    first, *others = _delivery_ids(tenant_a)

    with schema_context(tenant_a.schema):
        caught_up = webhook_deliveries_attempt(tenant=tenant_a.tenant, delivery_ids=[first], also_due=2)
        # The backlog's own tasks then find their deliveries done, or take what is left.
        rest = [webhook_deliveries_attempt(tenant=tenant_a.tenant, delivery_ids=[i], also_due=2) for i in others]

    assert first in {attempt.delivery_id for attempt in caught_up}
    assert len(caught_up) == 3  # its own and two more, oldest first
    assert sorted(len(attempts) for attempts in rest) == [0, 0, 1]
    assert len(httpserver.log) == 4  # every event delivered exactly once
    with schema_context(tenant_a.schema):
        assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SUCCEEDED}
