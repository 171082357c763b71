"""GET /widget.js on a workspace's host: the embeddable chat widget, in the workspace's name.

Public and cacheable (no cookies, no key: the page's `data-key` is the publishable key). The
ETag is the script's version plus the workspace's appearance, so browsers revalidate cheaply and
a new release or a branding change reaches websites within WIDGET_SCRIPT_MAX_AGE.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from django.conf import settings
from django.http import HttpResponse, HttpResponseNotModified
from django.template.loader import render_to_string
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_GET

from billing.entitlements import entitlement_has_feature
from billing.models import Feature
from tenants.context import TenantHttpRequest

WIDGET_TEMPLATE = "widget/widget.js"
# The script's version: a hash of its source, so it changes with every release that changes it.
WIDGET_VERSION = hashlib.sha256((Path(__file__).parent / "templates" / WIDGET_TEMPLATE).read_bytes()).hexdigest()[:12]
DEFAULT_COLOR = "#2563eb"


def widget_defaults(request: TenantHttpRequest) -> dict[str, object]:
    """What the page's data-attributes do not set. The branding app has no colours or logo yet, so
    the workspace's name is the title and the platform colour is the colour (data-color overrides)."""
    tenant = request.tenant
    return {
        "title": tenant.name,
        "color": DEFAULT_COLOR,
        "logo_url": "",
        "greeting": f"Hi! How can {tenant.name} help you today?",
        "show_branding": not entitlement_has_feature(tenant=tenant, feature=Feature.REMOVE_BRANDING),
    }


def _json_for_script(data: dict[str, object]) -> str:
    # Inside a <script>-loaded file nothing can close a tag, but keep "<" out anyway (defence in depth).
    return json.dumps(data).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


@require_GET
def widget_script(request: TenantHttpRequest) -> HttpResponse:
    defaults_json = _json_for_script(widget_defaults(request))
    etag = f'"{WIDGET_VERSION}-{hashlib.sha256(defaults_json.encode()).hexdigest()[:12]}"'
    if request.headers.get("If-None-Match") == etag:
        response: HttpResponse = HttpResponseNotModified()
    else:
        body = render_to_string(WIDGET_TEMPLATE, {"version": WIDGET_VERSION, "defaults_json": defaults_json})
        response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    response["ETag"] = etag
    response["X-Widget-Version"] = WIDGET_VERSION
    # Any website may load the script itself; what it can do is decided by the key and its origins.
    response["Access-Control-Allow-Origin"] = "*"
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    patch_cache_control(response, public=True, max_age=settings.WIDGET_SCRIPT_MAX_AGE)
    return response
