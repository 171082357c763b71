"""Usage metering and quotas (docs/usage.md)."""

from config.env import env
from config.settings.database import CACHES

# Meter every tenant API call and enforce the monthly quotas. Off only to measure the
# benchmark's baseline: nothing is recorded and no quota is enforced.
USAGE_METERING_ENABLED = env.bool("USAGE_METERING_ENABLED", default=True)
# Redis holding the event streams, dedupe keys and live counters. Run it with appendonly
# persistence: events not yet rolled up live only there. Defaults to the cache's Redis.
USAGE_REDIS_URL = env("USAGE_REDIS_URL", default=CACHES["default"]["LOCATION"])
# Seconds an idempotency id is remembered: a repeat within this window counts once.
USAGE_DEDUPE_SECONDS = env.int("USAGE_DEDUPE_SECONDS", default=86400)
# Stream entries folded into the aggregates per transaction of the rollup.
USAGE_ROLLUP_BATCH_SIZE = env.int("USAGE_ROLLUP_BATCH_SIZE", default=10000)
