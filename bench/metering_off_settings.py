"""Benchmark 8's baseline server: the app exactly as shipped, with usage metering switched off."""

from config.settings.local import *  # noqa: F403  (a settings module: all of the app's, then one override)

USAGE_METERING_ENABLED = False
