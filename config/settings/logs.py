"""Logging: one line per event, every line names the tenant schema it ran under."""

from config.env import env

LOG_LEVEL = env("LOG_LEVEL", default="INFO")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "tenant_context": {"()": "django_tenants.log.TenantContextFilter"},
        "request_id": {"()": "api.request_id.RequestIdLogFilter"},
    },
    "formatters": {
        "tenant": {
            "format": (
                "%(asctime)s %(levelname)s [%(schema_name)s:%(domain_url)s] [%(request_id)s] %(name)s: %(message)s"
            ),
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["tenant_context", "request_id"],
            "formatter": "tenant",
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
    },
}
