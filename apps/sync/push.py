"""Push: apply what the app changed offline, all or nothing, through the REST API's services.

- Malformed changes (unknown table or column, a wrong type, an id that is not a UUID) refuse the whole push (400).
- A record that changed on the server after the app's `last_pulled_at` (or was deleted there) refuses the whole push
  (409): the app pulls, merges, and pushes again. A record the app pushes back unchanged is not a conflict, so a
  replayed push changes nothing and creates nothing twice.
- Created-that-exists is an update; updated-that-is-missing is a create; a delete of a missing row is ignored. A
  record this app created earlier against the same pull and nobody touched since is pushed again when the answer was
  lost: the same values are a replay (nothing happens), other values the app's own edit, applied as an update (or
  rejected per record when the columns are not the app's to change), never silently dropped.
- An empty value where empty means the default (a dose's status and source, an intake's supplement, amount and unit
  from its plan) is not a value the app stated: it differs from nothing.
- What the app may not write (a read-only table or column, a delete of a medical record) and what the services
  refuse (a second weekly dose on one day, a dose in the future) are rejected per record (`experimentalRejectedIds`,
  with the reasons beside) and never applied; the rest of the push is.
"""

import uuid
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.accounts.models import Patient, User
from apps.alerts.joint_pain import joint_pain_deferred
from apps.medications.services import adherence_deferred
from apps.sync.codecs import InvalidValueError
from apps.sync.registry import BY_NAME, TABLES, Table
from backend.errors import ConflictError
from backend.models import SyncPull, SyncTombstone
from backend.sync_versions import Snapshot

OPERATIONS = ("created", "updated", "deleted")
LOCAL_FIELDS = frozenset({"_status", "_changed"})  # WatermelonDB's own bookkeeping: stripped


@dataclass
class PushRecord:
    table: Table
    id: uuid.UUID
    operation: str
    values: dict[str, Any] = field(default_factory=dict)  # parsed, for the services
    client: dict[str, Any] = field(default_factory=dict)  # as the server would send them, for comparing


class PushConflictError(Exception):
    def __init__(self, conflicts: dict[str, list[str]]) -> None:
        super().__init__("conflict")
        self.conflicts = conflicts


def _parse_record(table: Table, raw: Any, operation: str, path: str, errors: dict[str, list[str]]) -> PushRecord | None:
    if not isinstance(raw, Mapping):
        errors[path] = ["Must be a record (an object with an id)."]
        return None
    try:
        record_id = uuid.UUID(raw["id"]) if isinstance(raw.get("id"), str) else None
    except ValueError:
        record_id = None
    if record_id is None:
        errors[f"{path}.id"] = ["Must be a UUID."]
        return None
    record = PushRecord(table, record_id, operation)
    for name, value in raw.items():
        if name == "id" or name in LOCAL_FIELDS:
            continue
        column = table.by_name.get(name)
        if column is None:
            errors[f"{path}.{name}"] = ["Unknown column."]
            continue
        if name in table.derived:
            continue  # the server computes it (the app's copy may be a placeholder for a record made offline)
        try:
            record.values[name] = column.codec.from_client(value)
            record.client[name] = None if record.values[name] is None else column.codec.to_client(record.values[name])
        except InvalidValueError as exc:
            errors[f"{path}.{name}"] = [str(exc)]
    return record


def parse_changes(body: Any) -> list[PushRecord]:
    """The pushed records, or ValidationError naming every malformed part (nothing is applied then)."""
    if isinstance(body, Mapping) and "changes" in body:
        extra = sorted(set(body) - {"changes"})
        if extra:
            raise ValidationError({name: ["Unknown field."] for name in extra})
        body = body["changes"]
    if not isinstance(body, Mapping):
        raise ValidationError({"changes": ["Must be an object of tables."]})
    errors: dict[str, list[str]] = {}
    records: list[PushRecord] = []
    for table_name, table_changes in body.items():
        table = BY_NAME.get(table_name)
        if table is None:
            errors[str(table_name)] = ["Unknown table."]
            continue
        if not isinstance(table_changes, Mapping) or set(table_changes) - set(OPERATIONS):
            errors[table_name] = ["Must be an object with created, updated and deleted lists."]
            continue
        seen: set[uuid.UUID] = set()
        for operation in OPERATIONS:
            items = table_changes.get(operation, [])
            path = f"{table_name}.{operation}"
            if not isinstance(items, list):
                errors[path] = ["Must be a list."]
                continue
            for index, item in enumerate(items):
                if operation == "deleted":
                    if not isinstance(item, str):
                        errors[f"{path}.{index}"] = ["Must be an id (a UUID string)."]
                        continue
                    item = {"id": item}
                record = _parse_record(table, item, operation, f"{path}.{index}", errors)
                if record is None:
                    continue
                if record.id in seen:
                    errors[f"{path}.{index}.id"] = ["This id appears twice in this table's changes."]
                seen.add(record.id)
                records.append(record)
    if errors:
        raise ValidationError(errors)
    return records


@dataclass
class PushResult:
    rejected: dict[str, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))
    created: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def reject(self, record: PushRecord, reason: str) -> None:
        self.rejected[record.table.name][str(record.id)] = reason

    def in_order(self, records: list[PushRecord]) -> None:
        """The rejections in the push's order, as one by one (a batch refuses its records before the ones it
        leaves to the one-by-one path)."""
        position = {(r.table.name, str(r.id)): index for index, r in enumerate(records)}
        for table, reasons in self.rejected.items():
            self.rejected[table] = dict(sorted(reasons.items(), key=lambda item: position[table, item[0]]))

    def body(self) -> dict[str, Any]:
        if not self.rejected:
            return {}
        return {
            "experimentalRejectedIds": {table: list(ids) for table, ids in self.rejected.items()},
            "rejected": {table: dict(ids) for table, ids in self.rejected.items()},
        }


def _reason(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "; ".join(f"{name}: {' '.join(str(m) for m in messages)}" for name, messages in exc.message_dict.items())
    return " ".join(exc.messages)


@dataclass
class Stored:
    client: dict[str, Any]
    version: int
    created_version: int

    @property
    def untouched(self) -> bool:
        """Not changed in a synced column since it was inserted."""
        return self.version == self.created_version


def _stored(table: Table, patient: Patient, ids: list[uuid.UUID]) -> dict[uuid.UUID, Stored]:
    """Her rows among `ids`, as the app would see them, locked until the push commits."""
    rows = (
        table.model._default_manager.filter(patient_id=patient.pk, pk__in=ids)
        .order_by()
        .select_for_update(of=("self",))
        .values_list(*table.sources, "version", "created_version")
    )
    return {values[0]: Stored(table.serialise(values[:-2]), values[-2], values[-1]) for values in rows}


def _own_untouched_create(record: PushRecord, row: Stored, own: set[str]) -> bool:
    """A record this app created by an earlier push against the same pull, untouched on the server since, pushed
    again as created (the answer was lost, maybe edited on the phone since): nobody else changed it, so it is not a
    conflict; the same values are a replay, other values the app's own later edit."""
    return record.operation == "created" and str(record.id) in own and row.untouched


def _differences(table: Table, record: PushRecord, stored: Stored) -> set[str]:
    """The columns whose pushed value is not the stored one; an empty value where empty means the default (or the
    plan's) is not a value the app stated, so it differs from nothing."""
    return {
        name
        for name, value in record.client.items()
        if name not in table.derived
        and not (name in table.unstated_when_empty and value in (None, ""))
        and stored.client.get(name) != value
    }


@transaction.atomic
def push_changes(*, actor: User, patient: Patient, since: SyncPull, records: list[PushRecord]) -> PushResult:
    # One push at a time per pull (a double submit waits), so the ids it creates are recorded on it exactly.
    since = SyncPull.objects.select_for_update().get(pk=since.pk)
    snapshot = Snapshot.parse(since.snapshot)
    by_table: dict[str, list[PushRecord]] = defaultdict(list)
    for record in records:
        by_table[record.table.name].append(record)
    stored: dict[str, dict[uuid.UUID, Stored]] = {}
    conflicts: dict[str, list[str]] = defaultdict(list)
    replays: set[uuid.UUID] = set()
    for table in TABLES:
        pushed = by_table.get(table.name, [])
        if not pushed:
            continue
        ids = [r.id for r in pushed]
        stored[table.name] = _stored(table, patient, ids)
        deleted = set(
            SyncTombstone.objects.filter(patient_id=patient.pk, table_name=table.db_table, row_id__in=ids).values_list(
                "row_id", flat=True
            )
        )
        own = set(since.pushed.get(table.name, []))  # created by an earlier push against this same pull
        for record in pushed:
            row = stored[table.name].get(record.id)
            if row is not None and _own_untouched_create(record, row, own):
                if not _differences(table, record, row):
                    replays.add(record.id)
                continue  # the same values: a replay; others: applied below as her update (or rejected per record)
            if row is None:
                if record.operation != "deleted" and record.id in deleted:
                    conflicts[table.name].append(str(record.id))  # changed offline, deleted on the server
                continue
            if snapshot.sees(row.version):
                continue
            if record.operation == "deleted" or _differences(table, record, row):
                conflicts[table.name].append(str(record.id))
    if conflicts:
        raise PushConflictError(dict(conflicts))

    result = PushResult()
    # Each schedule's stored adherence is refreshed once, with all her pushed doses; her joint pain is judged once,
    # with all her pushed check-ins in their weeks (DOMAIN J3).
    with adherence_deferred(), joint_pain_deferred():
        for table in TABLES:
            pending = [r for r in by_table.get(table.name, []) if r.id not in replays]  # replays: already applied
            rows = stored.get(table.name, {})
            # In the push's order, as one by one: a run of new records at once, the others each in turn (a dose's
            # update between two new doses is judged after the first and before the second, A3 too).
            for new, grouped in groupby(pending, key=lambda r: r.operation != "deleted" and r.id not in rows):
                run = list(grouped)
                done = _apply_new_at_once(table, run, actor, patient, result) if new else set()
                for record in run:
                    if record.id not in done:
                        _apply(record, rows.get(record.id), actor=actor, patient=patient, result=result)
    result.in_order(records)
    if result.created:
        recorded: dict[str, list[str]] = {name: list(known) for name, known in since.pushed.items()}
        for name, new_ids in result.created.items():
            recorded[name] = sorted(set(recorded.get(name, [])) | set(new_ids))
        SyncPull.objects.filter(pk=since.pk).update(pushed=recorded)
    return result


def _apply_new_at_once(
    table: Table, new: list[PushRecord], actor: User, patient: Patient, result: "PushResult"
) -> set[uuid.UUID]:
    """New rows of a table with a bulk writer (a backlog of doses or sessions), created by the same rules in a few
    statements; the ids it handled (inserted or refused per record). The rest go one by one through `_apply`."""
    if table.create_many is None or len(new) < 2:
        return set()
    by_id = {r.id: r for r in new}
    values = [(r.id, {k: v for k, v in r.values.items() if k in table.creatable}) for r in new]
    inserted, refused = table.create_many(actor=actor, patient=patient, records=values)
    for record_id, exc in refused.items():
        result.reject(by_id[record_id], _reason(exc))
    result.created[table.name].extend(str(r.id) for r in new if r.id in inserted)
    return inserted | set(refused)


def _apply(record: PushRecord, row: Stored | None, *, actor: User, patient: Patient, result: PushResult) -> None:
    table = record.table
    if record.operation == "deleted":
        if row is not None:
            result.reject(record, "The app cannot delete this record; ask the care team to correct it.")
        return
    if row is None:
        if table.create is None:
            result.reject(record, f"{table.name} is read-only for the app.")
            return
        values = {name: value for name, value in record.values.items() if name in table.creatable}
        try:
            created = _call(
                result, record, table.create, actor=actor, patient=patient, record_id=record.id, values=values
            )
        except ConflictError as exc:
            # The same id was recorded over REST (with other values) after this push read its rows: the app pulls
            # it, then pushes its change again as an update.
            raise PushConflictError({table.name: [str(record.id)]}) from exc
        if created:
            result.created[table.name].append(str(record.id))
        return
    changed = _differences(table, record, row)
    if not changed:
        return  # pushed back unchanged (or replayed): nothing to do
    refused = sorted(changed - table.updatable)
    if table.update is None or refused:
        result.reject(record, f"Read-only for the app: {', '.join(refused) or table.name}.")
        return
    instance = table.model._default_manager.get(pk=record.id)
    changes = {name: record.values[name] for name in changed}
    _call(result, record, table.update, actor=actor, patient=patient, row=instance, changes=changes)


def _call(result: PushResult, record: PushRecord, writer: Any, **kwargs: Any) -> Any:
    # A refused record leaves nothing behind: every writer is a service that runs in its own transaction.atomic, so
    # its savepoint is rolled back when it refuses (no second savepoint here: two statements fewer per record).
    try:
        return writer(**kwargs)
    except ValidationError as exc:
        result.reject(record, _reason(exc))
        return None
