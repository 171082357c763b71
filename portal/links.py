from django.conf import settings
from django.http import HttpRequest


def tenant_url(*, domain: str, path: str = "/", request: HttpRequest | None = None) -> str:
    """Absolute URL on a tenant's host: same scheme and port as `request`, else from settings."""
    if request is not None:
        scheme = request.scheme
        host = request.get_host()
        port = host.rsplit(":", 1)[1] if ":" in host and not host.endswith("]") else ""
    else:
        scheme, port = settings.PLATFORM_URL_SCHEME, settings.PLATFORM_URL_PORT
    return f"{scheme}://{domain}{':' + port if port else ''}{path}"
