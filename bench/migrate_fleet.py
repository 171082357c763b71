"""Benchmark 2: a no-op `migrate_schemas --tenant` over many schemas, standard vs multiprocessing executor.

Each command runs as its own `manage.py` process with the bench environment, exactly as an
operator would run it after a deploy; the parent's connections are closed first.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connections

from bench.fleet import fleet_ensure
from bench.report import fmt_ratio, fmt_seconds, ratio, table
from tenants.models import Tenant

ROOT = Path(__file__).resolve().parent.parent


def manage_timed(*args: str) -> float:
    """Wall seconds of `manage.py <args>` in a fresh process; raises if it fails."""
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed ({completed.returncode}):\n{completed.stderr[-2000:]}")
    return elapsed


def run(*, tenant_count: int = 200) -> tuple[dict[str, Any], str]:
    fleet_seconds = fleet_ensure(tenant_count)
    schemas = Tenant.objects.count()
    one_schema = Tenant.objects.order_by("pk").values_list("schema_name", flat=True).first()
    connections.close_all()
    processes = settings.TENANT_MULTIPROCESSING_MAX_PROCESSES

    rows: dict[str, dict[str, Any]] = {}
    for key, label, args in (
        (
            "one_schema",
            "one schema (process start-up + 1 schema)",
            ["migrate_schemas", "--tenant", f"--schema={one_schema}", "-v0"],
        ),
        ("standard", "standard executor (one schema after another)", ["migrate_schemas", "--tenant", "-v0"]),
        (
            "multiprocessing",
            f"--executor=multiprocessing ({processes} processes)",
            ["migrate_schemas", "--tenant", "--executor=multiprocessing", "-v0"],
        ),
    ):
        seconds = manage_timed(*args)
        per_schema = (seconds / schemas) if key != "one_schema" else None
        rows[key] = {"label": label, "seconds": seconds, "per_schema_s": per_schema}
    rows["multiprocessing"]["speedup_vs_standard"] = ratio(
        rows["standard"]["seconds"], rows["multiprocessing"]["seconds"]
    )
    result = {
        "schemas": schemas,
        "fleet_top_up_s": fleet_seconds,
        "processes": processes,
        "cpu_count": os.cpu_count(),
        "rows": rows,
    }
    text = table(
        f"2. No-op `migrate_schemas --tenant` over {schemas} tenant schemas (each a fresh manage.py process)",
        ["command", "wall", "per schema", "speed-up vs standard"],
        [
            [
                row["label"],
                fmt_seconds(row["seconds"]),
                fmt_seconds(row["per_schema_s"]),
                fmt_ratio(row.get("speedup_vs_standard")),
            ]
            for row in rows.values()
        ],
        notes=[
            f"{os.cpu_count()} CPUs; TENANT_MULTIPROCESSING_MAX_PROCESSES={processes}; "
            f"growing the fleet to {schemas} tenants took {fmt_seconds(fleet_seconds)}"
        ],
    )
    return result, text
