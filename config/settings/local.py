"""Local development (`make run`). DEBUG stays off unless DJANGO_DEBUG=true."""

from config.settings.base import *
