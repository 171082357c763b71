"""Production: secure cookies, HSTS, HTTPS links, hosts restricted to the platform's domains."""

from config.env import env
from config.settings.base import *

DEBUG = False
SECRET_KEY = env("DJANGO_SECRET_KEY")  # no default: refuse to start without a real key
# Allowed hosts come from the tenant domains: tenants.middleware.TenantRoutingMiddleware runs first
# and answers 404 to any host that is neither the platform's nor a Domain row's, so Django's own
# static list would only get in the way of tenants' custom domains.
ALLOWED_HOSTS = ["*"]
PLATFORM_URL_SCHEME = "https"
PLATFORM_URL_PORT = env("PLATFORM_URL_PORT", default="")

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
X_FRAME_OPTIONS = "DENY"
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
