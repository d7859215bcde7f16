"""Django against the benchmarks' own PostgreSQL database.

`configure()` points Django at `BENCH_DATABASE_URL` (default below) and sets it up without connecting;
`recreate()` drops and recreates that database through the server's `postgres` maintenance database and migrates it.
Only a database whose name contains "bench" is ever dropped, so `test`, `test_test` and the rest are safe even from
a mistyped URL.
"""

import os

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/bonesync_bench"
MAINTENANCE_DATABASE = "postgres"


def database_url() -> str:
    return os.environ.get("BENCH_DATABASE_URL") or DEFAULT_URL


def database_name(url: str | None = None) -> str:
    name = conninfo_to_dict(url or database_url()).get("dbname")
    if not name:
        raise SystemExit("BENCH_DATABASE_URL names no database.")
    return str(name)


def describe(url: str | None = None) -> str:
    """host:port/name, without user or password."""
    params = conninfo_to_dict(url or database_url())
    return f"{params.get('host', 'localhost')}:{params.get('port', 5432)}/{database_name(url)}"


def _check_disposable(name: str) -> None:
    if "bench" not in name or name in {MAINTENANCE_DATABASE, "template0", "template1", "test", "test_test"}:
        raise SystemExit(f"Refusing to drop database {name!r}: the benchmark database's name must contain 'bench'.")


def configure() -> None:
    """Settings for the benchmark database (DEBUG off, as in production), then `django.setup()`. No connection yet."""
    url = database_url()
    _check_disposable(database_name(url))
    # config.settings reads these when first imported; the benchmark URL always wins over a DATABASE_URL in the shell.
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_DEBUG"] = "false"
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"

    import django

    django.setup()


def recreate() -> None:
    """Drop the benchmark database, create it afresh and run the migrations there."""
    from django.core.management import call_command
    from django.db import connections

    url = database_url()
    name = database_name(url)
    _check_disposable(name)
    connections.close_all()
    with psycopg.connect(make_conninfo(url, dbname=MAINTENANCE_DATABASE), autocommit=True) as maintenance:
        maintenance.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        maintenance.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    call_command("migrate", verbosity=0, interactive=False)


def vacuum_analyze() -> None:
    """Fresh planner statistics and visibility map after a bulk load, so plans are those of a settled database."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def truncate_all() -> None:
    """Empty every table of the project's apps (the schema stays)."""
    from django.apps import apps
    from django.db import connection

    tables = sorted({connection.ops.quote_name(m._meta.db_table) for m in apps.get_models() if m._meta.managed})
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)} CASCADE")


def explain(query: str, *, analyze: bool = True) -> list[str]:
    """The plan of one already-interpolated SELECT (as CaptureQueriesContext records it), one line per node."""
    from django.db import connection

    if not query.lstrip().upper().startswith("SELECT"):
        raise ValueError("Only SELECTs are explained.")
    options = "ANALYZE, COSTS ON, BUFFERS OFF" if analyze else "COSTS ON"
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN ({options}) {query}")
        return [str(row[0]) for row in cursor.fetchall()]
