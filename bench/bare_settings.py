"""Settings of the bare baseline in benchmark 5 (`api`): the app's own settings, minus tenancy and auth.

Same database (through the same backend), same Redis, same DRF renderer and exception handler;
what goes is everything the issue's target is about: tenant routing, the suspended-tenant gate
and the session/auth middleware (messages go with sessions, which they need). allauth's
AccountMiddleware stays: allauth refuses to start without it, and on a 200 it only sets an
attribute. Used as a whole
settings module by the bare gunicorn server, and for `BARE_MIDDLEWARE` by the in-process run.
"""

from config.settings.local import *  # noqa: F403  (a settings module: all of the app's, then overrides)
from config.settings.local import MIDDLEWARE as APP_MIDDLEWARE

NOT_IN_BARE_STACK = frozenset(
    {
        "tenants.middleware.TenantRoutingMiddleware",
        "usage.api_calls.ApiCallMeteringMiddleware",
        "api.routing.PublicHostApiRoutingMiddleware",
        "tenants.middleware.TenantStatusMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
    }
)
BARE_MIDDLEWARE = [name for name in APP_MIDDLEWARE if name not in NOT_IN_BARE_STACK]
BARE_URLCONF = "bench.bare_api"

ROOT_URLCONF = BARE_URLCONF
MIDDLEWARE = BARE_MIDDLEWARE
