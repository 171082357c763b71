"""The client's IP address, trusting X-Forwarded-For only as far as our own proxies.

With TRUSTED_PROXY_COUNT = n, the address n hops from the right of X-Forwarded-For is the
client (each of our proxies appends the address it received from). With 0, the header is
ignored entirely: a client can put anything in it.
"""

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    remote = request.META.get("REMOTE_ADDR", "")
    hops = settings.TRUSTED_PROXY_COUNT
    if hops <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if len(forwarded) < hops:
        return remote
    return forwarded[-hops]
