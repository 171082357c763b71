"""The bench's guard rails: it only ever writes to stores of its own, and its statistics are right.

No timings are asserted here; timings are what `make bench` prints.
"""

from pathlib import Path

import pytest

from bench.environment import (
    UnsafeBenchTarget,
    bench_database_url,
    bench_environment,
    bench_redis_url,
    dotenv_values,
)
from bench.provisioning import interleaved
from bench.report import percentile, table


def test_bench_database_url_keeps_server_role_and_options():
    url = bench_database_url("postgres://agentry:s3cret@db.internal:5433/agentry?sslmode=require")
    assert url == "postgres://agentry:s3cret@db.internal:5433/agentry_bench?sslmode=require"


@pytest.mark.parametrize("name", ["agentry", "test_agentry_bench", "scratch"])
def test_bench_database_url_refuses_dev_test_and_unnamed_databases(name):
    with pytest.raises(UnsafeBenchTarget):
        bench_database_url("postgres://postgres@127.0.0.1:5432/agentry", name=name)


def test_bench_environment_prefers_process_environment_over_dotenv():
    env = bench_environment(
        {"DATABASE_URL": "postgres://ops@10.0.0.5:5432/agentry"},
        {"DATABASE_URL": "postgres://agentry:agentry@127.0.0.1:5432/agentry", "CACHE_URL": "redis://cache:6379/1"},
    )
    assert env["DATABASE_URL"] == "postgres://ops@10.0.0.5:5432/agentry_bench"
    assert env["CACHE_URL"] == "redis://cache:6379/9"
    assert env["CELERY_BROKER_URL"] == env["CACHE_URL"]
    assert env["DJANGO_DEBUG"] == "false"


def test_bench_environment_falls_back_to_dotenv_then_defaults():
    env = bench_environment({}, {"DATABASE_URL": "postgres://agentry:agentry@127.0.0.1:5432/agentry"})
    assert env["DATABASE_URL"] == "postgres://agentry:agentry@127.0.0.1:5432/agentry_bench"
    assert bench_environment({}, {})["DATABASE_URL"] == "postgres://postgres@127.0.0.1:5432/agentry_bench"


@pytest.mark.parametrize(
    "override", ["postgres://postgres@127.0.0.1:5432/agentry", "postgres://postgres@127.0.0.1:5432/test_agentry"]
)
def test_bench_environment_refuses_an_override_pointing_at_dev_or_tests(override):
    with pytest.raises(UnsafeBenchTarget):
        bench_environment({"BENCH_DATABASE_URL": override}, {})


@pytest.mark.parametrize("db", [0, 1, 14, 15])
def test_bench_redis_url_refuses_the_dbs_dev_and_tests_use(db):
    with pytest.raises(UnsafeBenchTarget):
        bench_redis_url("redis://127.0.0.1:6379/1", db=db)


def test_dotenv_values_skips_comments_and_strips_quotes(tmp_path: Path):
    dotenv = tmp_path / ".env"
    dotenv.write_text("# local\nDATABASE_URL='postgres://a@h/agentry'\n\nexport CACHE_URL=\"redis://h:6379/1\"\n")
    assert dotenv_values(dotenv) == {"DATABASE_URL": "postgres://a@h/agentry", "CACHE_URL": "redis://h:6379/1"}
    assert dotenv_values(tmp_path / "missing") == {}


def test_percentile_interpolates_between_ranks():
    samples = [0.4, 0.1, 0.3, 0.2, 1.0]
    assert percentile(samples, 0) == 0.1
    assert percentile(samples, 50) == 0.3
    assert percentile(samples, 100) == 1.0
    assert percentile(samples, 95) == pytest.approx(0.88)


def test_interleaved_spreads_the_small_rows_over_the_run():
    jobs = interleaved({"migrate": 3, "template_clone": 50})
    positions = [i for i, (key, _) in enumerate(jobs) if key == "migrate"]
    assert len(jobs) == 53
    assert positions[0] > 5 and positions[-1] < 47 and positions[1] - positions[0] > 10


def test_table_aligns_columns_under_their_headers():
    text = table("T", ["row", "value"], [["a", "1 ms"], ["longer", "10 ms"]])
    header, rule, first, second = text.splitlines()[3:7]
    assert len(rule) == len(header)
    assert first.endswith(" 1 ms") and second.endswith("10 ms") and len(first) == len(second)
