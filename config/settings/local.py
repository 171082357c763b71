"""Local development (`make run`). DEBUG stays off unless DJANGO_DEBUG=true."""

from config.settings.base import *

# `make run`: a test page on http://localhost:<port> may embed the widget.
WIDGET_ALLOW_LOCALHOST_ORIGINS = True
