"""Pull: what changed for one patient since her device's last pull, read in one snapshot (backend/sync_versions.py).

A constant number of queries whatever the history: one per table, one for the tombstones, the snapshot and the
pull record."""

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from apps.accounts.models import Patient, User
from apps.sync.registry import TABLES, Table
from backend.models import SyncPull, SyncTombstone
from backend.sync_versions import Snapshot, confirm_pull, snapshot_transaction

Changes = dict[str, dict[str, list[Any]]]


@dataclass(frozen=True)
class Migration:
    """WatermelonDB's migration sync: tables and columns the app's schema gained since `from_version`; their rows
    are sent in full."""

    from_version: int
    tables: frozenset[str] = frozenset()
    columns: dict[str, frozenset[str]] = field(default_factory=dict)

    def resend(self, table: str) -> bool:
        return table in self.tables or table in self.columns


def _table_changes(
    table: Table, patient: Patient, since: Snapshot | None, *, full: bool, new: bool, pushed: frozenset[str]
) -> dict[str, Any]:
    rows = table.model._default_manager.filter(patient_id=patient.pk).order_by()
    if since is not None and not full:
        rows = rows.filter(version__gte=since.xmin)  # the index narrows; `sees` below decides exactly
    created: list[dict[str, Any]] = []
    updated: list[dict[str, Any]] = []
    serialise = table.serialise
    for values in rows.values_list(*table.sources, "version", "created_version"):
        version, created_version = values[-2], values[-1]
        if since is not None and not full and since.sees(version):
            continue
        record = serialise(values[:-2])
        # Rows the app created itself in its last push are new to the server, not to the app: updated.
        if since is None or new or (not since.sees(created_version) and record["id"] not in pushed):
            created.append(record)
        else:
            updated.append(record)
    return {"created": created, "updated": updated, "deleted": []}


def pull_changes(
    *, user: User, patient: Patient, since: SyncPull | None, migration: Migration | None
) -> tuple[Changes, int]:
    """The changes for her device and the new `timestamp` (the id of this pull)."""
    if since is not None:
        # The app sends a timestamp back only after applying that pull: its device holds everything it saw.
        confirm_pull(patient_id=patient.pk, pull=since)
    base = Snapshot.parse(since.snapshot) if since is not None else None
    changes: Changes = {}
    with snapshot_transaction() as snapshot:
        for table in TABLES:
            resend = migration is not None and migration.resend(table.name)
            new = migration is not None and table.name in migration.tables
            pushed = frozenset(since.pushed.get(table.name, ())) if since is not None else frozenset()
            changes[table.name] = _table_changes(table, patient, base, full=resend, new=new, pushed=pushed)
        if base is not None:
            by_db_table = {table.db_table: table.name for table in TABLES}
            deleted: dict[str, list[str]] = defaultdict(list)
            tombstones = SyncTombstone.objects.filter(patient_id=patient.pk, version__gte=base.xmin)
            for table_name, row_id, version in tombstones.values_list("table_name", "row_id", "version"):
                name = by_db_table.get(table_name)
                if name is not None and not base.sees(version) and not (migration and name in migration.tables):
                    deleted[name].append(str(row_id))
            for name, ids in deleted.items():
                live = {r["id"] for r in changes[name]["created"]} | {r["id"] for r in changes[name]["updated"]}
                changes[name]["deleted"] = [i for i in ids if i not in live]  # each id in one list only
        pull = SyncPull.objects.create(user=user, snapshot=snapshot.to_text())
    return changes, pull.id
