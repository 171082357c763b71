"""Where the benchmarks run: their own PostgreSQL database and Redis DB, derived from the dev setup.

Pure functions (no Django import) so `run.py` can build the environment before Django starts,
plus the two psycopg calls that create and drop the bench database.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/agentry"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/1"
BENCH_DATABASE_NAME = "agentry_bench"
BENCH_REDIS_DB = 9
# Redis DBs the app uses elsewhere: dev broker/results (0), dev cache (1), test cache (14), test broker (15).
RESERVED_REDIS_DBS = frozenset({0, 1, 14, 15})
PROTECTED_DATABASE_PREFIXES = ("test_",)


class UnsafeBenchTarget(RuntimeError):
    """The bench would write to a database or Redis DB that belongs to dev or the test suite."""


class BenchBusy(RuntimeError):
    """Another bench run (any checkout) is using the same bench database right now."""


def dotenv_values(path: Path) -> dict[str, str]:
    """KEY=VALUE lines of an optional `.env` file (comments and blank lines skipped, quotes stripped)."""
    if not path.is_file():
        return {}
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.removeprefix("export ").split("=", 1)
        values[key.strip()] = value.strip().strip("'\"")
    return values


def setting_from(name: str, *, environ: Mapping[str, str], dotenv: Mapping[str, str], default: str) -> str:
    """Resolve a variable the way `config/env.py` does: process environment first, then `.env`."""
    return environ.get(name) or dotenv.get(name) or default


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def with_database(url: str, name: str) -> str:
    """`url` pointing at database `name`: same host, port, user, password and query string."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def database_is_benchable(url: str, *, base_url: str) -> bool:
    """The bench drops and recreates its database: only ever one named for it, never dev's or a test's."""
    name = database_name(url)
    return "bench" in name and name != database_name(base_url) and not name.startswith(PROTECTED_DATABASE_PREFIXES)


def bench_database_url(base_url: str, *, name: str = BENCH_DATABASE_NAME) -> str:
    """The bench database on the server and role of `base_url`; refuses the dev or a test database."""
    bench_url = with_database(base_url, name)
    if not database_is_benchable(bench_url, base_url=base_url):
        raise UnsafeBenchTarget(f"refusing to benchmark in database {name!r}: its name must contain 'bench'")
    return bench_url


def bench_redis_url(base_url: str, *, db: int = BENCH_REDIS_DB) -> str:
    """The bench Redis DB on the server of `base_url`; refuses the DBs dev and the tests use."""
    parts = urlsplit(base_url)
    base_db = parts.path.lstrip("/")
    if db in RESERVED_REDIS_DBS or (base_db.isdigit() and int(base_db) == db):
        raise UnsafeBenchTarget(f"refusing to benchmark in Redis DB {db}: dev or the tests use it")
    return urlunsplit(parts._replace(path=f"/{db}"))


def bench_environment(environ: Mapping[str, str], dotenv: Mapping[str, str]) -> dict[str, str]:
    """Environment variables that point the app (and its manage.py subprocesses) at the bench stores."""
    base_db = setting_from("DATABASE_URL", environ=environ, dotenv=dotenv, default=DEFAULT_DATABASE_URL)
    base_redis = setting_from("CACHE_URL", environ=environ, dotenv=dotenv, default=DEFAULT_REDIS_URL)
    database_url = environ.get("BENCH_DATABASE_URL") or bench_database_url(base_db)
    if not database_is_benchable(database_url, base_url=base_db):
        raise UnsafeBenchTarget("BENCH_DATABASE_URL must name a database of its own, with 'bench' in its name")
    redis_url = environ.get("BENCH_CACHE_URL") or bench_redis_url(base_redis)
    return {
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DATABASE_URL": database_url,
        "CACHE_URL": redis_url,
        "CACHE_KEY_PREFIX": "agentry-bench",
        # The API rate limiter has a Redis URL of its own (a dev .env may point it elsewhere).
        "RATE_LIMIT_REDIS_URL": redis_url,
        # Nothing consumes tasks during the bench; anything enqueued lands in the bench Redis DB.
        "CELERY_BROKER_URL": redis_url,
        "CELERY_RESULT_BACKEND": redis_url,
        # Mail (the signup's address confirmation) is kept in memory: no console noise, no SMTP latency.
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "DJANGO_DEBUG": "false",  # DEBUG keeps every query in memory and would skew the numbers
        "LOG_LEVEL": environ.get("LOG_LEVEL", "WARNING"),
    }


def database_recreate(url: str) -> None:
    """Drop (if present) and create the database named in `url`, connecting to its server's `postgres` DB."""
    import psycopg

    name = database_name(url)
    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def database_drop(url: str) -> None:
    import psycopg

    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database_name(url)}" WITH (FORCE)')


@contextlib.contextmanager
def database_lock(url: str) -> Iterator[None]:
    """Hold a server-wide advisory lock named after the bench database for the whole run.

    Two runs against one server would drop each other's database (DROP … WITH FORCE); the second
    one refuses to start instead.
    """
    import psycopg

    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as conn:
        row = conn.execute("SELECT pg_try_advisory_lock(hashtext(%s))", [f"bench:{database_name(url)}"]).fetchone()
        if not row or not row[0]:
            raise BenchBusy(
                f"another bench run is using database {database_name(url)!r}; wait for it to finish "
                "or point this one elsewhere with BENCH_DATABASE_URL"
            )
        yield  # the lock goes with the connection
