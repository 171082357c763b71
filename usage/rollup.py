"""The rollup: fold a tenant's pending usage events into its PostgreSQL aggregates, exactly once.

Design (docs/usage.md, "The rollup"):

- Events sit in the tenant's Redis stream in id order. `RollupCursor` (one row in the tenant's
  schema) holds the id of the last entry folded in.
- A batch is one PostgreSQL transaction: lock the cursor row (SELECT … FOR UPDATE, so two
  rollups of a tenant take turns), XRANGE the entries strictly after the cursor, upsert the
  aggregates, move the cursor to the batch's last id, commit.
- Only after the commit are those entries trimmed from the stream (XTRIM MINID).

A crash before the commit rolls the aggregates and the cursor back together: the entries are
still in the stream and the next run folds them. A crash after the commit but before the trim
leaves entries the cursor already covers: the next run reads strictly after the cursor, so
they are skipped, and trimmed. Nothing is lost and nothing is counted twice.

Outbox events (recorded while Redis was down) are merged under the same cursor lock: each is
claimed in Redis under its idempotency id (so an event that reached Redis too counts once),
added to the aggregates and deleted, in one transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.apps import apps
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone
from django_tenants.utils import schema_context

from billing.entitlements import entitlements_for
from config.errors import ApplicationError
from metering.services import outbox_pending_clear, outbox_pending_mark
from usage import store
from usage.aggregates import Touched, aggregates_add
from usage.events import UsageEvent
from usage.meters import COUNTERS, METER_LIMITS, Meter, UsagePeriod, is_gauge
from usage.models import OverageReport, RollupCursor, UsageOutboxEvent
from usage.quotas import overage_active
from usage.selectors import usage_gauges_current, usage_live_counters, usage_period_total

if TYPE_CHECKING:
    from tenants.models import Tenant

logger = logging.getLogger(__name__)

GAUGE_ALERT_PERIOD = "current"  # alerts.services' period for limits that are levels, not monthly


@dataclass
class RollupResult:
    events: int = 0  # folded into the aggregates (stream entries and merged outbox events)
    outbox_duplicates: int = 0  # outbox events dropped because their id was already counted
    batches: int = 0

    def add(self, touched: Touched) -> None:
        self.events += touched.events
        self.batches += 1


def _cursor_locked() -> RollupCursor:
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {RollupCursor._meta.db_table} (id, stream_id, events_total) "  # noqa: S608 (a model's table)
            "VALUES (1, '0-0', 0) ON CONFLICT (id) DO NOTHING"
        )
    return RollupCursor.objects.select_for_update().get(pk=1)


def _stream_batch(tenant: Tenant, batch_size: int) -> tuple[int, Touched]:
    schema = tenant.schema_name
    with transaction.atomic():
        cursor = _cursor_locked()
        entries = store.stream_read(schema=schema, after=cursor.stream_id, count=batch_size)
        if entries:
            touched = aggregates_add(UsageEvent.from_stream_fields(fields) for _, fields in entries)
            cursor.stream_id = entries[-1][0]
            cursor.events_total += len(entries)
            cursor.rolled_up_at = timezone.now()
            cursor.save(update_fields=["stream_id", "events_total", "rolled_up_at"])
            _overage_accrue(tenant, touched)
        else:
            touched = Touched()
        through = cursor.stream_id
        # Acknowledge only what is committed. Correctness never depends on the trim: the next
        # batch reads strictly after the cursor anyway.
        if through != "0-0":
            transaction.on_commit(lambda: store.stream_trim(schema=schema, through=through), robust=True)
    return len(entries), touched


def _outbox_batch(tenant: Tenant, batch_size: int, result: RollupResult) -> tuple[int, Touched]:
    schema = tenant.schema_name
    with transaction.atomic():
        _cursor_locked()
        rows = list(UsageOutboxEvent.objects.select_for_update(skip_locked=True).order_by("id")[:batch_size])
        if not rows:
            return 0, Touched()
        pipe = store.usage_redis(bulk=True).pipeline(transaction=False)
        claim = store.scripts(bulk=True).claim
        for row in rows:
            counter = (
                store.gauge_key(schema, row.meter)
                if is_gauge(row.meter)
                else store.counter_key(schema, row.meter, UsagePeriod.of(row.occurred_at).key)
            )
            claim(
                keys=[store.seen_key(schema, row.idempotency_id), counter],
                args=[settings.USAGE_DEDUPE_SECONDS, row.quantity, store.COUNTER_TTL_SECONDS, int(is_gauge(row.meter))],
                client=pipe,
            )
        claimed = pipe.execute()
        fresh = [UsageEvent.from_outbox_row(row) for row, counts in zip(rows, claimed, strict=True) if counts]
        result.outbox_duplicates += len(rows) - len(fresh)
        touched = aggregates_add(fresh)
        UsageOutboxEvent.objects.filter(pk__in=[row.pk for row in rows]).delete()
        _overage_accrue(tenant, touched)
    return len(rows), touched


def _overage_accrue(tenant: Tenant, touched: Touched) -> None:
    """Inside the batch's transaction: record overage the batch produced, for the billing backend."""
    if not touched.events or not overage_active(tenant=tenant):
        return
    limits = entitlements_for(tenant=tenant).limits
    for period_key, meters in touched.periods.items():
        period = UsagePeriod.parse(period_key)
        for meter in sorted(meters & set(COUNTERS)):
            limit = limits[METER_LIMITS[meter]]
            if limit is None:
                continue
            overage = usage_period_total(tenant=tenant, meter=meter, period=period) - limit
            reported = OverageReport.objects.filter(meter=meter, period=period_key).aggregate(m=Max("through"))["m"]
            if overage > (reported or 0):
                OverageReport.objects.create(
                    meter=meter, period=period_key, through=overage, quantity=overage - (reported or 0)
                )


def usage_overage_send(*, tenant: Tenant) -> int:
    """Hand unsent overage reports to the billing backend; returns how many were accepted.

    At least once, with a stable identifier per report (the backend drops a repeat). A report
    the backend refuses stays unsent and is retried by the next rollup.
    """
    from billing.backends import billing_backend

    sent = 0
    with schema_context(tenant.schema_name):
        while True:
            with transaction.atomic():
                report = (
                    OverageReport.objects.select_for_update(skip_locked=True)
                    .filter(reported_at__isnull=True)
                    .order_by("id")
                    .first()
                )
                if report is None:
                    return sent
                report.attempts += 1
                try:
                    billing_backend().report_metered_usage(
                        tenant=tenant,
                        meter=report.meter,
                        quantity=report.quantity,
                        identifier=f"{tenant.schema_name}:{report.meter}:{report.period}:{report.through}",
                        timestamp=report.created_at,
                    )
                except ApplicationError as error:
                    logger.error("overage report %s of %s refused: %s", report.pk, tenant.schema_name, error.detail)
                    report.save(update_fields=["attempts"])
                    return sent
                report.reported_at = timezone.now()
                report.save(update_fields=["attempts", "reported_at"])
                sent += 1


def _counters_reconcile(tenant: Tenant) -> dict[str, int]:
    """Raise each live counter of this month to at least what PostgreSQL has (heals a Redis
    that lost its data); returns the usage figures used for alerts."""
    period = UsagePeriod.of(timezone.now())
    rolled_up = {meter: usage_period_total(tenant=tenant, meter=meter, period=period) for meter in COUNTERS}
    live = usage_live_counters(tenant=tenant, period=period)
    pipe = store.usage_redis(bulk=True).pipeline(transaction=False)
    for meter, floor in rolled_up.items():
        ttl = store.COUNTER_TTL_SECONDS
        store.scripts(bulk=True).raise_floor(
            keys=[store.counter_key(tenant.schema_name, meter, period.key)], args=[floor, ttl], client=pipe
        )
    pipe.execute()
    return {meter: max(floor, live[meter] or 0) for meter, floor in rolled_up.items()}


def _thresholds_evaluate(tenant: Tenant, used: dict[str, int]) -> None:
    """Let the alerts app compare each limited meter with its thresholds (exactly-once is its job)."""
    if not apps.is_installed("alerts"):
        return
    from alerts.services import usage_thresholds_evaluate

    limits = entitlements_for(tenant=tenant).limits
    month = UsagePeriod.of(timezone.now()).key
    levels = {**used, **usage_gauges_current(tenant=tenant)}
    for meter in Meter.values:
        limit = limits[METER_LIMITS[meter]]
        if limit is not None:
            # Gauges have no month: their alerts re-arm when the level falls back ("current").
            period = GAUGE_ALERT_PERIOD if is_gauge(meter) else month
            usage_thresholds_evaluate(tenant=tenant, meter=meter, used=levels[meter], limit=limit, period=period)


def usage_rollup(*, tenant: Tenant, batch_size: int | None = None) -> RollupResult:
    """Fold every pending event of `tenant` into its aggregates (see the module docstring), then
    send overage to billing, heal the live counters and evaluate alert thresholds.

    Safe to run twice, concurrently, or after a crash at any point. Raises `redis.RedisError`
    when the stream cannot be read (the task retries); outbox events then wait for Redis,
    because only Redis can tell whether an event was already counted.
    """
    batch_size = batch_size or settings.USAGE_ROLLUP_BATCH_SIZE
    result = RollupResult()
    with schema_context(tenant.schema_name):
        while True:
            folded, touched = _stream_batch(tenant, batch_size)
            if not folded:
                break
            result.add(touched)
        while True:
            merged, touched = _outbox_batch(tenant, batch_size, result)
            if not merged:
                break
            result.add(touched)
        _outbox_marker_refresh(tenant)
        usage_overage_send(tenant=tenant)
        if result.events:
            _thresholds_evaluate(tenant, _counters_reconcile(tenant))
    return result


def _outbox_marker_refresh(tenant: Tenant) -> None:
    # Clear first, then look: a row written meanwhile is either seen here or marks again itself.
    outbox_pending_clear(tenant=tenant)
    if UsageOutboxEvent.objects.exists():
        outbox_pending_mark(tenant=tenant)
