"""Keeps the sync triggers in place. The apps' migrations create them; on SQLite, Django rebuilds a table for many
schema changes and the rebuild drops its triggers, which would silently stop versioning. After every `migrate` this
puts back any that are missing, from the registry (tests/sync/test_versions.py checks registry and triggers agree)."""

from typing import Any

from django.db import connections

from apps.sync.registry import TABLES
from backend.sync_versions import trigger_sql

NAMES = {"postgresql": ("sync_stamp", "sync_tombstone"), "sqlite": ("sync_insert", "sync_update", "sync_delete")}


def _present(connection: Any) -> set[str]:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        return {row[0] for row in cursor.fetchall()}


def ensure_triggers(using: str = "default") -> list[str]:
    """Create the triggers of every synced table that lacks one; the tables repaired."""
    connection = connections[using]
    if connection.vendor not in NAMES:
        return []
    present = _present(connection)
    repaired = []
    for table in TABLES:
        wanted = {f"{table.db_table}_{name}" for name in NAMES[connection.vendor]}
        if wanted <= present:
            continue
        statements = trigger_sql(
            connection.vendor, table.db_table, watched=table.watched(), patient_column="patient_id", pk=table.pk_column
        )
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
        repaired.append(table.name)
    return repaired


def ensure_triggers_after_migrate(sender: Any, using: str = "default", **kwargs: Any) -> None:
    ensure_triggers(using)
