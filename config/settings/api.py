"""Django REST framework and the OpenAPI schema."""

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "config.errors.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Agentry API",
    "DESCRIPTION": "Multi-tenant AI agents platform. Errors are RFC 9457 problem+json with a stable `code`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Redis used by the API rate limiter (GCRA script); defaults to the cache's Redis.
from config.env import env  # noqa: E402
from config.settings.database import CACHES  # noqa: E402

RATE_LIMIT_REDIS_URL = env("RATE_LIMIT_REDIS_URL", default=CACHES["default"]["LOCATION"])
# Limits for signed-in portal users calling the API (keys use their plan's limits).
SESSION_RATE_LIMIT_PER_MINUTE = env.int("SESSION_RATE_LIMIT_PER_MINUTE", default=120)
SESSION_RATE_LIMIT_BURST = env.int("SESSION_RATE_LIMIT_BURST", default=240)
# Plans without request limits (missing key) fall back to these.
DEFAULT_RATE_LIMIT_PER_MINUTE = 60
DEFAULT_RATE_LIMIT_BURST = 120
IDEMPOTENCY_KEY_TTL_HOURS = 24
SIGNATURE_TOLERANCE_SECONDS = 300
