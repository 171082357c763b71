"""Web origins a publishable key may be used from: `https://host[:port]`, exactly as browsers send
them in the `Origin` header (scheme and host lower-case, no path, no default port).

Plain `http://` is accepted only for localhost, and only where WIDGET_ALLOW_LOCALHOST_ORIGINS is
on (development and tests): a page on a developer's machine, never a production website.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from django.conf import settings

from config.errors import ValidationFailed

MAX_ORIGINS = 20
_HOST = re.compile(r"^(?=.{1,253}$)(?!-)[a-z0-9-]{1,63}(?<!-)(?:\.(?!-)[a-z0-9-]{1,63}(?<!-))*$")
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1"})
_DEFAULT_PORTS = {"https": 443, "http": 80}


def origin_normalize(origin: str) -> str | None:
    """The origin as a browser would send it, or None if it is not an allowed kind of origin."""
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or parts.password:
        return None
    if not _HOST.match(host) and host != "127.0.0.1":
        return None
    if scheme == "http":
        if host not in _LOCAL_HOSTS or not settings.WIDGET_ALLOW_LOCALHOST_ORIGINS:
            return None
    elif scheme != "https" or host in _LOCAL_HOSTS:
        return None
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}:{port}"
    return f"{scheme}://{host}"


def origins_checked(origins: list[str]) -> list[str]:
    """Normalised and deduplicated; raises ValidationFailed naming every origin refused."""
    checked, problems = [], []
    for origin in origins:
        normalized = origin_normalize(origin)
        if normalized is None:
            problems.append(
                f"“{origin}” is not an origin like https://www.example.com or https://shop.example.com:8443."
            )
        elif normalized not in checked:
            checked.append(normalized)
    if not checked and not problems:
        problems.append("Give at least one website origin, like https://www.example.com.")
    if len(checked) > MAX_ORIGINS:
        problems.append(f"At most {MAX_ORIGINS} origins per key.")
    if problems:
        raise ValidationFailed(problems[0], errors={"allowed_origins": problems})
    return checked
