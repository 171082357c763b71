"""Test settings: real PostgreSQL and Redis, but fast hashing, in-memory mail, separate Redis DBs."""

from config.env import env
from config.settings.base import *
from config.settings.base import CACHES

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Separate Redis databases so a running `make run` and the test suite never share keys.
CACHES["default"]["LOCATION"] = env("TEST_CACHE_URL", default="redis://127.0.0.1:6379/14")
CACHES["routing"]["LOCATION"] = CACHES["default"]["LOCATION"]
RATE_LIMIT_REDIS_URL = CACHES["default"]["LOCATION"]
USAGE_REDIS_URL = CACHES["default"]["LOCATION"]
CELERY_BROKER_URL = env("TEST_CELERY_BROKER_URL", default="redis://127.0.0.1:6379/15")
CELERY_RESULT_BACKEND = CELERY_BROKER_URL
ACCOUNT_RATE_LIMITS = False  # type: ignore[assignment]  # allauth: False disables every limit
TENANT_ROUTING_CACHE_SECONDS = 300
# Serve static files from the app folders (no collectstatic in tests; browser tests need CSS/JS).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# The widget browser tests embed it in a page served from http://localhost:<port>.
WIDGET_ALLOW_LOCALHOST_ORIGINS = True
