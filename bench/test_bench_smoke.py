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


def test_bench_environment_points_the_rate_limiter_at_the_bench_redis_db_too():
    env = bench_environment({}, {"RATE_LIMIT_REDIS_URL": "redis://127.0.0.1:6379/1"})
    assert env["RATE_LIMIT_REDIS_URL"] == env["CACHE_URL"] == "redis://127.0.0.1:6379/9"


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


WRK_OUTPUT = """Running 2s test @ http://127.0.0.1:40000/api/v1/api-keys?limit=20
  1 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    27.10ms   12.61ms 118.00ms   80.00%
    Req/Sec   305.00     20.00   330.00     70.00%
  Latency Distribution
     50%   26.80ms
     75%   30.00ms
     90%  480.00us
     99%    1.02s
  611 requests in 2.00s, 5.49MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 3
Requests/sec:    305.21
"""


def test_wrk_parse_reads_requests_percentiles_and_failures():
    from bench.http_load import wrk_parse

    parsed = wrk_parse(WRK_OUTPUT.replace("1.02s", "1.02s "))  # wrk pads some values

    assert parsed["requests"] == 611 and parsed["elapsed_s"] == pytest.approx(2.0)
    assert parsed["p50"] == pytest.approx(0.0268) and parsed["p99"] == pytest.approx(1.02)
    assert parsed["non_2xx"] == 3 and parsed["socket_errors"] == 3
    with pytest.raises(ValueError):
        wrk_parse("wrk: unable to connect")


def test_http_load_spreads_loaded_runs_over_new_connections_only():
    from bench.http_load import Variant, request_headers

    variant = Variant("ours", "ours", "/api/v1/me", "acme.localhost", {"X-API-Key": "k"}, "config.settings.local")

    assert request_headers(variant, connections=8)["Connection"] == "close"
    assert request_headers(variant, connections=1) == {"Host": "acme.localhost", "X-API-Key": "k"}


def test_bare_api_stack_drops_tenancy_and_auth_and_keeps_the_rest_in_order():
    from django.conf import settings

    from bench.bare_settings import BARE_MIDDLEWARE, NOT_IN_BARE_STACK

    assert "tenants.middleware.TenantRoutingMiddleware" in NOT_IN_BARE_STACK
    assert not set(BARE_MIDDLEWARE) & NOT_IN_BARE_STACK
    assert [name for name in settings.MIDDLEWARE if name not in NOT_IN_BARE_STACK] == BARE_MIDDLEWARE
