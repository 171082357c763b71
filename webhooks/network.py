"""SSRF-safe delivery: validate where a webhook URL leads, then connect to exactly that address.

A URL is checked at registration and again before every attempt: its host is resolved, every
address must be public (not loopback, private, link-local, shared, multicast, reserved, or a
cloud metadata address, including IPv4 embedded in IPv6), and the request then goes to one of
the validated addresses with the original Host header and TLS server name. The connection is
never made by hostname, so DNS cannot change its answer between the check and the connect
(DNS rebinding). Redirects are never followed: a 3xx is a failed attempt.

`WEBHOOKS_ALLOW_PRIVATE_TARGETS` lifts the address rule for local development and tests only.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

import urllib3
from django.conf import settings

from config.errors import WebhookTargetRefused

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Names that only ever mean a cloud provider's instance metadata service.
_METADATA_HOSTNAMES = frozenset({"metadata.google.internal", "metadata.goog", "metadata", "instance-data"})
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
RESPONSE_EXCERPT_BYTES = 1024


@dataclass(frozen=True)
class WebhookTarget:
    scheme: str
    host: str  # as written in the URL (Host header, TLS server name)
    port: int
    path: str  # path and query
    addresses: tuple[str, ...]  # every address the host resolved to, all validated


@dataclass(frozen=True)
class WebhookResponse:
    status_code: int | None
    latency_ms: int
    excerpt: str
    error: str = ""

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def resolve_host(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (the seam tests replace to simulate DNS answers)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def address_is_public(address: IPAddress) -> bool:
    """Globally routable unicast, and so is any IPv4 address embedded in it."""
    if not address.is_global or address.is_multicast:
        return False
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        return embedded is None or address_is_public(embedded)
    return True


def _allow_private() -> bool:
    return bool(settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS)


def webhook_url_check(url: str) -> WebhookTarget:
    """Parse, resolve and validate `url`; raises `WebhookTargetRefused` saying why not."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise WebhookTargetRefused("The URL is not valid.") from exc
    allowed_schemes = ("https", "http") if settings.WEBHOOKS_ALLOW_HTTP else ("https",)
    if parts.scheme not in allowed_schemes:
        raise WebhookTargetRefused("The URL must start with https://.")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise WebhookTargetRefused("The URL has no host.")
    if parts.username or parts.password:
        raise WebhookTargetRefused("The URL must not contain a user name or password.")
    if host in _METADATA_HOSTNAMES and not _allow_private():
        raise WebhookTargetRefused("Cloud metadata services cannot receive webhooks.")
    try:
        addresses = resolve_host(host, port)
    except (OSError, UnicodeError) as exc:
        raise WebhookTargetRefused(f"The host {host} could not be resolved.") from exc
    if not addresses:
        raise WebhookTargetRefused(f"The host {host} could not be resolved.")
    if not _allow_private():
        for address in addresses:
            if not address_is_public(ipaddress.ip_address(address.split("%")[0])):
                raise WebhookTargetRefused(
                    f"The host {host} resolves to {address}, a private, loopback, link-local or reserved "
                    "address: webhooks can only be sent to public internet addresses."
                )
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return WebhookTarget(scheme=parts.scheme, host=host, port=port, path=path, addresses=tuple(addresses))


@lru_cache(maxsize=256)
def _pool(scheme: str, address: str, port: int, host: str) -> urllib3.HTTPConnectionPool:
    # Keyed by the validated address and the name it was validated for; keep-alive connections
    # are reused across deliveries to the same receiver.
    if scheme == "https":
        return urllib3.HTTPSConnectionPool(
            address, port, server_hostname=host, assert_hostname=host, cert_reqs="CERT_REQUIRED", maxsize=_pool_size()
        )
    return urllib3.HTTPConnectionPool(address, port, maxsize=_pool_size())


def _pool_size() -> int:
    # As many kept-alive connections per receiver as a batch may POST to it at once.
    return max(4, int(settings.WEBHOOK_SEND_CONCURRENCY))


def _host_header(target: WebhookTarget) -> str:
    default_port = 443 if target.scheme == "https" else 80
    host = f"[{target.host}]" if ":" in target.host else target.host
    return host if target.port == default_port else f"{host}:{target.port}"


def webhook_post(*, target: WebhookTarget, headers: dict[str, str], body: bytes) -> WebhookResponse:
    """POST `body` to the first validated address of `target`; never raises for network errors.

    Reads at most `RESPONSE_EXCERPT_BYTES` of the response. Timeouts: WEBHOOK_CONNECT_TIMEOUT_SECONDS
    to connect, WEBHOOK_TIMEOUT_SECONDS for the whole exchange.
    """
    timeout = urllib3.Timeout(
        connect=settings.WEBHOOK_CONNECT_TIMEOUT_SECONDS,
        read=settings.WEBHOOK_TIMEOUT_SECONDS,
        total=settings.WEBHOOK_TIMEOUT_SECONDS,
    )
    started = time.monotonic()
    pool = _pool(target.scheme, target.addresses[0], target.port, target.host)
    all_headers = {**headers, "Host": _host_header(target)}
    try:
        response = pool.urlopen(
            "POST",
            target.path,
            body=body,
            headers=all_headers,
            redirect=False,
            retries=False,
            timeout=timeout,
            preload_content=False,
            assert_same_host=False,
        )
    except urllib3.exceptions.HTTPError as exc:
        latency = int((time.monotonic() - started) * 1000)
        return WebhookResponse(status_code=None, latency_ms=latency, excerpt="", error=_error_text(exc))
    try:
        raw = response.read(RESPONSE_EXCERPT_BYTES + 1)
    except urllib3.exceptions.HTTPError as exc:
        response.release_conn()
        latency = int((time.monotonic() - started) * 1000)
        return WebhookResponse(response.status, latency, "", error=_error_text(exc))
    latency = int((time.monotonic() - started) * 1000)
    if len(raw) > RESPONSE_EXCERPT_BYTES:
        response.close()  # the rest is not read: this connection cannot be reused
    else:
        response.release_conn()
    excerpt = raw[:RESPONSE_EXCERPT_BYTES].decode("utf-8", errors="replace")
    error = ""
    if 300 <= response.status < 400:
        error = f"redirect to {response.headers.get('Location', '?')[:200]} not followed"
    return WebhookResponse(status_code=response.status, latency_ms=latency, excerpt=excerpt, error=error)


def _error_text(exc: Exception) -> str:
    reason = getattr(exc, "reason", None) or exc
    # NewConnectionError subclasses ConnectTimeoutError in urllib3 2: test it first.
    if isinstance(reason, urllib3.exceptions.NewConnectionError):
        return f"connection failed: {str(reason).split(': ', 1)[-1][:200]}"
    if isinstance(reason, urllib3.exceptions.SSLError) or isinstance(exc, urllib3.exceptions.SSLError):
        return f"TLS error: {str(reason)[:200]}"
    if isinstance(reason, urllib3.exceptions.TimeoutError) or isinstance(exc, urllib3.exceptions.TimeoutError):
        return "timed out"
    return f"{type(reason).__name__}: {str(reason)[:200]}"
