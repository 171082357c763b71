"""SSRF policy: refused at registration and again at delivery; redirects are never followed."""

from __future__ import annotations

import ipaddress

import pytest
from django_tenants.utils import schema_context
from pytest_httpserver import HTTPServer

from config.errors import WebhookTargetRefused
from webhooks import network
from webhooks.deliveries import webhook_delivery_attempt
from webhooks.events import webhook_event_publish
from webhooks.models import EventType, WebhookDelivery
from webhooks.network import address_is_public, webhook_url_check
from webhooks.tests.factories import endpoint_give

REFUSED_URLS = [
    "https://127.0.0.1/hook",
    "https://localhost/hook",
    "https://10.1.2.3/hook",
    "https://172.16.0.1/hook",
    "https://192.168.1.10/hook",
    "https://100.64.0.1/hook",  # shared (carrier-grade NAT) space
    "https://169.254.169.254/latest/meta-data/",  # AWS/GCP/Azure metadata
    "https://100.100.100.200/",  # Alibaba Cloud metadata
    "https://metadata.google.internal/computeMetadata/v1/",
    "https://0.0.0.0/hook",
    "https://224.0.0.1/hook",
    "https://[::1]/hook",
    "https://[fe80::1]/hook",
    "https://[fd00:ec2::254]/hook",  # AWS IPv6 metadata
    "https://[::ffff:127.0.0.1]/hook",
    "https://[64:ff9b::a9fe:a9fe]/hook",  # NAT64 of 169.254.169.254
    "https://[2002:7f00:1::]/hook",  # 6to4 of 127.0.0.1
    "http://93.184.215.14/hook",  # public, but not https
    "https://user:pass@93.184.215.14/hook",
    "ftp://93.184.215.14/hook",
    "https:///nohost",
]


@pytest.mark.parametrize("url", REFUSED_URLS)
def test_url_check_refuses_non_public_targets(url):
    with pytest.raises(WebhookTargetRefused) as refused:
        webhook_url_check(url)
    assert refused.value.errors["url"]


def test_url_check_accepts_a_public_https_address():
    target = webhook_url_check("https://93.184.215.14:8443/hooks/in?source=agentry")
    assert (target.host, target.port, target.path, target.addresses) == (
        "93.184.215.14",
        8443,
        "/hooks/in?source=agentry",
        ("93.184.215.14",),
    )


@pytest.mark.parametrize("address", ["8.8.8.8", "2606:4700:4700::1111", "1.1.1.1"])
def test_public_addresses_are_public(address):
    assert address_is_public(ipaddress.ip_address(address))


def test_a_hostname_resolving_to_loopback_is_refused(monkeypatch):
    monkeypatch.setattr(network, "resolve_host", lambda host, port: ["127.0.0.1"])
    with pytest.raises(WebhookTargetRefused, match=r"resolves to 127\.0\.0\.1"):
        webhook_url_check("https://localtest.me/hook")


def test_a_hostname_with_one_private_answer_among_public_ones_is_refused(monkeypatch):
    monkeypatch.setattr(network, "resolve_host", lambda host, port: ["93.184.215.14", "10.0.0.5"])
    with pytest.raises(WebhookTargetRefused, match=r"10\.0\.0\.5"):
        webhook_url_check("https://mixed.example/hook")


def test_an_unresolvable_host_is_refused(monkeypatch):
    def nxdomain(host, port):  # type: ignore[no-untyped-def]
        raise OSError("Name or service not known")

    monkeypatch.setattr(network, "resolve_host", nxdomain)
    with pytest.raises(WebhookTargetRefused, match="could not be resolved"):
        webhook_url_check("https://nowhere.invalid/hook")


def test_registration_refuses_loopback_through_the_api(tenant_a):
    from apikeys.tests.factories import IssuedApiKeyFactory, api_client

    key = IssuedApiKeyFactory(tenant=tenant_a.tenant, scopes=["webhooks:manage"])
    response = api_client(tenant_a.host, key.secret).post(
        "/api/v1/webhook-endpoints",
        data={"url": "https://localhost:8443/hook", "event_types": ["lead.created"]},
        content_type="application/json",
    )
    assert response.status_code == 400
    problem = response.json()
    assert problem["code"] == "webhook_target_refused"
    assert problem["errors"][0]["field"] == "url"


def test_delivery_checks_again_and_refuses_a_host_that_now_resolves_to_loopback(
    tenant_a, httpserver: HTTPServer, settings, monkeypatch
):
    """DNS rebinding: the name was public at registration and points at 127.0.0.1 at delivery."""
    settings.WEBHOOKS_ALLOW_HTTP = True  # the receiver is plain http; the address rule stays on
    httpserver.expect_request("/hook").respond_with_data("internal data")
    monkeypatch.setattr(network, "resolve_host", lambda host, port: ["93.184.215.14"])
    endpoint_give(tenant_a.tenant, url=f"http://rebind.example:{httpserver.port}/hook")
    webhook_event_publish(tenant=tenant_a.tenant, event_type=EventType.LEAD_CREATED, data={})
    monkeypatch.setattr(network, "resolve_host", lambda host, port: ["127.0.0.1"])

    with schema_context(tenant_a.schema):
        (delivery,) = WebhookDelivery.objects.all()
        attempt = webhook_delivery_attempt(tenant=tenant_a.tenant, delivery_id=delivery.pk)

    assert attempt is not None
    assert (attempt.status_code, attempt.succeeded) == (None, False)
    assert "127.0.0.1" in attempt.error
    assert httpserver.log == []  # nothing was sent


def test_delivery_connects_to_the_validated_address_not_a_fresh_lookup(
    tenant_a, httpserver: HTTPServer, local_receivers, monkeypatch
):
    """The request goes to the address that was checked, with the URL's Host header."""
    httpserver.expect_request("/hook").respond_with_data("ok")
    lookups: list[str] = []

    def resolver(host, port):  # type: ignore[no-untyped-def]
        lookups.append(host)
        return ["127.0.0.1"]

    monkeypatch.setattr(network, "resolve_host", resolver)
    endpoint_give(tenant_a.tenant, url=f"http://receiver.test:{httpserver.port}/hook")
    webhook_event_publish(tenant=tenant_a.tenant, event_type=EventType.LEAD_CREATED, data={})

    with schema_context(tenant_a.schema):
        (delivery,) = WebhookDelivery.objects.all()
        attempt = webhook_delivery_attempt(tenant=tenant_a.tenant, delivery_id=delivery.pk)

    assert attempt is not None and attempt.succeeded
    (request, _), *_ = httpserver.log
    assert request.headers["Host"] == f"receiver.test:{httpserver.port}"
    assert lookups == ["receiver.test", "receiver.test"]  # once at registration, once at delivery
