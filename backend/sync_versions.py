# ruff: noqa: S608 - the SQL below is built from table and column names written in migrations, never from input
"""Sync versions (DESIGN "Sync"): one monotonic version source, tombstones, pull snapshots and device cursors.

Knows no medicine: the apps' migrations name the tables to version (`sync_triggers`), the sync app's registry says
what the patients' app sees of them.

Every write of a synced row goes through database triggers, so a version moves however the row is written (save,
queryset.update, bulk_create, bulk_update, raw SQL), but only when a synced column really changes (a dispatcher's
claim bookkeeping does not resend a reminder). Deletes, cascades included, leave a tombstone.

The version source:
- PostgreSQL: the id of the writing transaction (`pg_current_xact_id()`, 64 bits, never wraps). A pull reads in one
  REPEATABLE READ snapshot and records it (`SyncPull`). A row is "seen by a pull" exactly when its version is
  visible in that pull's snapshot: a transaction that took its id before the pull but commits after it is listed
  as in progress in the snapshot, so the next pull delivers its rows (no missed change), and a row a pull did see
  never counts as changed after it (no false 409 on push).
- SQLite (the embedded default, one writer at a time): a counter row (`SyncClock`); writers commit in version order,
  so a snapshot is simply "every version below N".

On SQLite, Django rebuilds a table for some schema changes, which drops its triggers: apps/sync/triggers.py puts
missing ones back after every migrate.
"""

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.db import connection, migrations, transaction

from backend import clock
from backend.models import SyncCursor, SyncPull

TOMBSTONES = "backend_synctombstone"
CLOCK = "backend_syncclock"


@dataclass(frozen=True)
class Snapshot:
    """Which versions a pull could see: all below `xmin`, those below `xmax` not in progress at the time, and the
    reading transaction's own (`own`, when it had written: only in tests, where everything is one transaction)."""

    xmin: int
    xmax: int
    in_progress: frozenset[int] = frozenset()
    own: int | None = None

    def sees(self, version: int) -> bool:
        if version == self.own:
            return True
        return version < self.xmin or (version < self.xmax and version not in self.in_progress)

    def to_text(self) -> str:
        text = f"{self.xmin}:{self.xmax}:{','.join(str(v) for v in sorted(self.in_progress))}"
        return text if self.own is None else f"{text}:{self.own}"

    @classmethod
    def parse(cls, text: str) -> "Snapshot":
        xmin, xmax, xip, *own = text.split(":")
        return cls(int(xmin), int(xmax), frozenset(int(v) for v in xip.split(",") if v), int(own[0]) if own else None)


def _take_snapshot() -> Snapshot:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_current_snapshot()::text, pg_current_xact_id_if_assigned()::text")
            text, own = cursor.fetchone()
            snapshot = Snapshot.parse(text)
            return snapshot if own is None else Snapshot(snapshot.xmin, snapshot.xmax, snapshot.in_progress, int(own))
        cursor.execute(f"SELECT value FROM {CLOCK} WHERE id = 1")
        row = cursor.fetchone()
        below = (row[0] if row else 0) + 1
        return Snapshot(below, below)


@contextmanager
def snapshot_transaction() -> Iterator[Snapshot]:
    """A transaction whose reads all see one snapshot, and that snapshot (take it before any other read)."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        yield _take_snapshot()


def changed_since(snapshot: Snapshot | None) -> Callable[[int], bool]:
    """Whether a version is newer than what `snapshot` saw (everything is, with no snapshot: a first sync)."""
    if snapshot is None:
        return lambda version: True
    return lambda version: not snapshot.sees(version)


# --- pulls: the timestamps the apps hold ---------------------------------------------------------------------------
PULL_RETENTION = timedelta(days=90)


def _issued_up_to() -> int:
    """The highest pull id ever handed out (the id sequence's position: pruning deletes rows, not the sequence)."""
    table = SyncPull._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"SELECT last_value, is_called FROM {table}_id_seq")
            last, called = cursor.fetchone()
            return int(last) if called else 0
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def pull_was_pruned(pull_id: int) -> bool:
    """A timestamp this server issued once but no longer keeps (pruned), as opposed to one from the future."""
    return 0 < pull_id <= _issued_up_to() and not SyncPull.objects.filter(pk=pull_id).exists()


def prune_pulls(*, now: datetime | None = None, keep: timedelta = PULL_RETENTION) -> int:
    """Forget pulls older than `keep`: an app that comes back with one gets a replacement sync (everything again,
    and WatermelonDB drops what it holds beyond that). The devices' cursors keep their own copy of the snapshot."""
    deleted, _ = SyncPull.objects.filter(at__lt=(now or clock.now()) - keep).delete()
    return deleted


# --- what the patient's devices already hold (read by the reminder dispatcher) ----------------------------------
def confirm_pull(*, patient_id: UUID, pull: SyncPull) -> None:
    """A device of this patient applied `pull` (it sent its timestamp back): remember the newest such pull.

    Call it outside a REPEATABLE READ transaction: concurrent confirmations update the same row."""
    moved = SyncCursor.objects.filter(patient_id=patient_id, pull_id__lt=pull.id).update(
        pull_id=pull.id, snapshot=pull.snapshot
    )
    if not moved:
        SyncCursor.objects.get_or_create(
            patient_id=patient_id, defaults={"pull_id": pull.id, "snapshot": pull.snapshot}
        )


def pulled_through(patient_ids: Iterable[UUID]) -> dict[UUID, Snapshot]:
    """For each patient some device of whom confirmed a pull: the snapshot of the newest one."""
    return {
        patient_id: Snapshot.parse(text)
        for patient_id, text in SyncCursor.objects.filter(patient_id__in=list(patient_ids)).values_list(
            "patient_id", "snapshot"
        )
    }


def on_device(cursors: dict[UUID, Snapshot], *, patient_id: UUID, version: int) -> bool:
    """True when a device of the patient already holds this row in its current version (pure: no database)."""
    snapshot = cursors.get(patient_id)
    return snapshot is not None and snapshot.sees(version)


# --- triggers, created by the apps' migrations -------------------------------------------------------------------
def _changed(watched: Sequence[str], *, distinct: str) -> str:
    """SQL that is true when any watched column (or `{row}` expression) differs between OLD and NEW."""
    parts = []
    for item in watched:
        expression = item if "{row}" in item else '{row}."' + item + '"'
        parts.append(f"({expression.format(row='OLD')}) {distinct} ({expression.format(row='NEW')})")
    return " OR ".join(parts) or "FALSE"


def _postgresql(table: str, watched: Sequence[str], patient_column: str, pk: str) -> list[str]:
    xid = "pg_current_xact_id()::text::bigint"
    changed = _changed(watched, distinct="IS DISTINCT FROM")
    return [
        f"""CREATE OR REPLACE FUNCTION {table}_sync_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    NEW.version := {xid};
    NEW.created_version := NEW.version;
    DELETE FROM {TOMBSTONES} WHERE table_name = '{table}' AND row_id = NEW.{pk};
  ELSE
    NEW.created_version := OLD.created_version;
    IF {changed} THEN NEW.version := {xid}; ELSE NEW.version := OLD.version; END IF;
  END IF;
  RETURN NEW;
END $$""",
        f"""CREATE OR REPLACE FUNCTION {table}_sync_tombstone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO {TOMBSTONES} (table_name, row_id, patient_id, version, deleted_at)
  VALUES ('{table}', OLD.{pk}, OLD.{patient_column}, {xid}, now())
  ON CONFLICT (table_name, row_id)
  DO UPDATE SET patient_id = EXCLUDED.patient_id, version = EXCLUDED.version, deleted_at = EXCLUDED.deleted_at;
  RETURN OLD;
END $$""",
        f"DROP TRIGGER IF EXISTS {table}_sync_stamp ON {table}",
        f"CREATE TRIGGER {table}_sync_stamp BEFORE INSERT OR UPDATE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {table}_sync_stamp()",
        f"DROP TRIGGER IF EXISTS {table}_sync_tombstone ON {table}",
        f"CREATE TRIGGER {table}_sync_tombstone AFTER DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {table}_sync_tombstone()",
    ]


def _sqlite(table: str, watched: Sequence[str], patient_column: str, pk: str) -> list[str]:
    # The clock row may be missing after a flush (tests): recreate it rather than write a NULL version.
    tick = (
        f"INSERT OR IGNORE INTO {CLOCK} (id, value) VALUES (1, 0);\n  UPDATE {CLOCK} SET value = value + 1 WHERE id = 1"
    )
    now = f"(SELECT value FROM {CLOCK} WHERE id = 1)"
    changed = _changed(watched, distinct="IS NOT")
    # Recursive triggers are off in SQLite: the triggers' own UPDATE of the table does not fire them again.
    return [
        f"DROP TRIGGER IF EXISTS {table}_sync_insert",
        f"""CREATE TRIGGER {table}_sync_insert AFTER INSERT ON {table} FOR EACH ROW BEGIN
  {tick};
  UPDATE {table} SET version = {now}, created_version = {now} WHERE {pk} = NEW.{pk};
  DELETE FROM {TOMBSTONES} WHERE table_name = '{table}' AND row_id = NEW.{pk};
END""",
        f"DROP TRIGGER IF EXISTS {table}_sync_update",
        # The insert trigger's own stamp (created_version 0 -> set) fires this one too: let it through.
        f"""CREATE TRIGGER {table}_sync_update AFTER UPDATE ON {table} FOR EACH ROW
WHEN NOT (OLD.created_version = 0 AND NEW.created_version <> 0) BEGIN
  {tick} AND ({changed});
  UPDATE {table} SET created_version = OLD.created_version,
    version = CASE WHEN ({changed}) THEN {now} ELSE OLD.version END
  WHERE {pk} = NEW.{pk};
END""",
        f"DROP TRIGGER IF EXISTS {table}_sync_delete",
        f"""CREATE TRIGGER {table}_sync_delete AFTER DELETE ON {table} FOR EACH ROW BEGIN
  {tick};
  INSERT OR REPLACE INTO {TOMBSTONES} (table_name, row_id, patient_id, version, deleted_at)
  VALUES ('{table}', OLD.{pk}, OLD.{patient_column}, {now}, strftime('%Y-%m-%d %H:%M:%f', 'now'));
END""",
    ]


def _drop(table: str, vendor: str) -> list[str]:
    if vendor == "postgresql":
        return [
            f"DROP TRIGGER IF EXISTS {table}_sync_stamp ON {table}",
            f"DROP TRIGGER IF EXISTS {table}_sync_tombstone ON {table}",
            f"DROP FUNCTION IF EXISTS {table}_sync_stamp()",
            f"DROP FUNCTION IF EXISTS {table}_sync_tombstone()",
        ]
    return [f"DROP TRIGGER IF EXISTS {table}_sync_{name}" for name in ("insert", "update", "delete")]


def trigger_sql(vendor: str, table: str, *, watched: Sequence[str], patient_column: str, pk: str = "id") -> list[str]:
    if vendor == "postgresql":
        return _postgresql(table, watched, patient_column, pk)
    if vendor == "sqlite":
        return _sqlite(table, watched, patient_column, pk)
    raise NotImplementedError(f"sync versions need PostgreSQL or SQLite, not {vendor}")


def sync_triggers(
    table: str, *, watched: Sequence[str], patient_column: str = "patient_id", pk: str = "id"
) -> migrations.RunPython:
    """A migration operation versioning `table`: `watched` lists the synced columns (or SQL expressions over
    `{row}`) whose change moves the version. Frozen in the migration that calls it, like any migration."""
    watched = tuple(watched)

    def forward(apps: Any, schema_editor: Any) -> None:
        vendor = schema_editor.connection.vendor
        for statement in trigger_sql(vendor, table, watched=watched, patient_column=patient_column, pk=pk):
            schema_editor.execute(statement, params=None)

    def backward(apps: Any, schema_editor: Any) -> None:
        for statement in _drop(table, schema_editor.connection.vendor):
            schema_editor.execute(statement, params=None)

    return migrations.RunPython(forward, backward)
