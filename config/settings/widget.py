"""The embeddable chat widget (widget/, publishable API keys)."""

from config.env import env

# Requests per minute one visitor (client IP + widget session) may send through a publishable key.
WIDGET_RATE_LIMIT_PER_MINUTE = env.int("WIDGET_RATE_LIMIT_PER_MINUTE", default=20)
WIDGET_RATE_LIMIT_BURST = env.int("WIDGET_RATE_LIMIT_BURST", default=5)
# Lets publishable keys allow http://localhost[:port] origins (development and tests only).
WIDGET_ALLOW_LOCALHOST_ORIGINS = env.bool("WIDGET_ALLOW_LOCALHOST_ORIGINS", default=False)
# Seconds browsers and CDNs may cache /widget.js (the URL carries the version, see docs/widget.md).
WIDGET_SCRIPT_MAX_AGE = env.int("WIDGET_SCRIPT_MAX_AGE", default=3600)
