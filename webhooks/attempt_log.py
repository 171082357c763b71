"""The healthy path of recording a batch's attempts: one statement instead of a transaction.

When every POST of a batch succeeded and no endpoint was in a failure run, recording is the
attempt rows plus "succeeded" on their deliveries. Written as one INSERT … and UPDATE in data-
modifying CTEs, it is atomic on its own (one statement) and costs one database round trip,
where BEGIN, INSERT, UPDATE, COMMIT cost four — at one task per event, a large share of a
delivery's time. Anything else goes through the transaction in webhooks.deliveries.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import connection

from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookDeliveryAttempt

_COLUMNS = (
    "delivery_id",
    "number",
    "attempted_at",
    "url",
    "status_code",
    "latency_ms",
    "response_excerpt",
    "error",
    "succeeded",
)


def attempts_record_all_succeeded(*, attempts: list[WebhookDeliveryAttempt], attempted_at: datetime) -> None:
    """Insert `attempts` (unsaved, all successful) and mark their deliveries succeeded, in one
    statement; sets each attempt's primary key."""
    quote = connection.ops.quote_name
    attempt_table = quote(WebhookDeliveryAttempt._meta.db_table)
    delivery_table = quote(WebhookDelivery._meta.db_table)
    row = "(" + ", ".join(["%s"] * len(_COLUMNS)) + ")"
    params: list[Any] = []
    for attempt in attempts:
        params += [getattr(attempt, column) for column in _COLUMNS]
    params += [DeliveryStatus.SUCCEEDED, attempted_at, [attempt.delivery_id for attempt in attempts]]
    sql = (
        f"WITH recorded AS (INSERT INTO {attempt_table} ({', '.join(_COLUMNS)}) "  # noqa: S608 (model tables)
        f"VALUES {', '.join([row] * len(attempts))} RETURNING id), "
        f"ended AS (UPDATE {delivery_table} SET status = %s, next_attempt_at = NULL, last_attempt_at = %s, "
        "lease_expires_at = NULL WHERE id = ANY(%s) RETURNING id) "
        "SELECT id FROM recorded"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        ids = [found for (found,) in cursor.fetchall()]
    for attempt, found in zip(attempts, ids, strict=True):
        attempt.pk = found
