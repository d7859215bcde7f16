"""The version source (backend/sync_versions.py): every write moves it, deletes leave tombstones, and a pull never
misses a row committed after it by a transaction that started before it (two real PostgreSQL connections)."""

import threading
import uuid
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from apps.exercise.models import ExerciseSession
from apps.medications.models import DoseRecord
from apps.reminders.materialise import materialise
from apps.reminders.models import ReminderOccurrence
from apps.sync.registry import BY_NAME, TABLES, Table
from apps.sync.triggers import ensure_triggers
from backend.models import SyncCursor, SyncTombstone
from backend.sync_versions import Snapshot, _drop, on_device, pulled_through
from tests.conftest import World
from tests.exercise.factories import make_session
from tests.factories import make_dose, make_schedule
from tests.sync.conftest import App, changed_ids, ids, table_changes

pytestmark = pytest.mark.django_db(transaction=True)


def _trigger_text(table: Table) -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT prosrc FROM pg_proc WHERE proname = %s", [f"{table.db_table}_sync_stamp"])
        else:
            cursor.execute("SELECT sql FROM sqlite_master WHERE name = %s", [f"{table.db_table}_sync_update"])
        row = cursor.fetchone()
    assert row is not None, f"{table.db_table} has no sync trigger"
    return str(row[0])


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.name)
def test_every_synced_column_is_watched_by_its_trigger(table: Table) -> None:
    text = _trigger_text(table)
    for item in table.watched():
        expected = item.format(row="OLD") if "{row}" in item else f'OLD."{item}"'
        assert expected in text, f"{table.name}: {item} is not watched by the migration's trigger"


def test_migrations_created_every_trigger_and_a_lost_one_is_put_back() -> None:
    assert ensure_triggers() == []  # the migrations made them all
    table = BY_NAME["dose_records"]
    with connection.cursor() as cursor:
        for statement in _drop(table.db_table, connection.vendor):  # what a SQLite table rebuild does
            cursor.execute(statement)
    assert ensure_triggers() == ["dose_records"]
    assert test_every_synced_column_is_watched_by_its_trigger(table) is None


def _version(model, pk) -> int:
    return int(model.objects.values_list("version", flat=True).get(pk=pk))


def test_every_way_of_writing_moves_the_version(world: World) -> None:
    schedule = make_schedule(world.ann)
    dose = make_dose(world.ann, schedule)
    seen = [_version(DoseRecord, dose.pk)]
    DoseRecord.objects.filter(pk=dose.pk).update(note="queryset update")
    seen.append(_version(DoseRecord, dose.pk))
    dose.refresh_from_db()
    dose.site = "save"
    dose.save()
    seen.append(_version(DoseRecord, dose.pk))
    dose.refresh_from_db()
    dose.note = "bulk update"
    DoseRecord.objects.bulk_update([dose], ["note"])
    seen.append(_version(DoseRecord, dose.pk))
    assert seen == sorted(seen) and len(set(seen)) == len(seen)
    # A stale in-memory copy saved without a change never takes the version back.
    stale = DoseRecord.objects.get(pk=dose.pk)
    DoseRecord.objects.filter(pk=dose.pk).update(note="newer")
    newer = _version(DoseRecord, dose.pk)
    DoseRecord.objects.filter(pk=dose.pk).update(version=stale.version, created_version=0)
    assert _version(DoseRecord, dose.pk) == newer
    # bulk_create (the materialiser's way) stamps every row.
    materialise(patient_ids=[world.ann.pk])
    assert not ReminderOccurrence.objects.filter(patient=world.ann, version=0).exists()


def test_deletes_leave_tombstones_and_a_reinsert_clears_them(world: World) -> None:
    dose = make_dose(world.ann)
    row = DoseRecord.objects.values().get(pk=dose.pk)
    DoseRecord.objects.filter(pk=dose.pk).delete()
    stone = SyncTombstone.objects.get(row_id=dose.pk)
    assert (stone.table_name, stone.patient_id) == ("medications_doserecord", world.ann.pk)
    DoseRecord.objects.create(**{k: v for k, v in row.items() if k not in ("version", "created_version")})
    assert not SyncTombstone.objects.filter(row_id=dose.pk).exists()


def test_on_device_is_true_only_for_versions_the_snapshot_saw() -> None:
    snapshot = Snapshot.parse("100:110:103,105")
    patient = uuid.uuid4()
    cursors = {patient: snapshot}
    assert on_device(cursors, patient_id=patient, version=99)
    assert on_device(cursors, patient_id=patient, version=104)
    assert not on_device(cursors, patient_id=patient, version=103)  # still being written at the pull
    assert not on_device(cursors, patient_id=patient, version=110)  # after the pull
    assert not on_device(cursors, patient_id=uuid.uuid4(), version=1)  # no device ever pulled
    assert Snapshot.parse(snapshot.to_text()) == snapshot


@pytest.mark.postgres
def test_a_slow_writer_committing_after_a_pull_is_delivered_by_the_next_one(world: World, app_for) -> None:
    """Connection 1 starts writing a dose (takes its transaction id) and stays open; connection 2 then records a
    session and commits; the app pulls (sees the session, not the dose); connection 1 commits. A cursor that is
    "the highest version seen" would now skip the dose (its version is lower than the session's): ours delivers it.
    And pushing the session back after that pull is no conflict, though its version is above the pull's xmin."""
    schedule = make_schedule(world.ann)
    app: App = app_for(world.ann)
    app.pull()
    written, release, done = threading.Event(), threading.Event(), threading.Event()
    slow_id = uuid.uuid4()
    errors: list[BaseException] = []

    def slow_writer() -> None:
        try:
            with transaction.atomic():
                make_dose(world.ann, schedule, id=slow_id)
                written.set()
                assert release.wait(20)
        except BaseException as exc:  # surfaced in the main thread
            errors.append(exc)
            written.set()
        finally:
            connection.close()
            done.set()

    thread = threading.Thread(target=slow_writer)
    thread.start()
    assert written.wait(20)
    fast = make_session(world.ann)
    first = app.pull()
    release.set()
    thread.join(20)
    assert done.is_set() and not errors, errors
    slow_version = _version(DoseRecord, slow_id)
    assert slow_version < _version(ExerciseSession, fast.pk)  # committed later, numbered earlier
    assert ids(first, "exercise_sessions", "created") == {str(fast.pk)}
    assert str(slow_id) not in changed_ids(first, "dose_records")

    second = app.pull()
    assert ids(second, "dose_records", "created") == {str(slow_id)}  # no missed change
    assert changed_ids(second, "exercise_sessions") == set()  # nor a repeat
    row = first["changes"]["exercise_sessions"]["created"][0]
    app.last_pulled_at = None
    body = app.push(table_changes(exercise_sessions={"updated": [row]}), last_pulled_at=first["timestamp"])
    assert body == {}  # no false 409 for a row that pull delivered
    assert timezone.now() - fast.created_at < timedelta(minutes=5)


def test_pulls_and_pushes_confirm_what_her_devices_hold(world: World, app_for) -> None:
    app: App = app_for(world.ann)
    first = app.pull()["timestamp"]
    assert pulled_through([world.ann.pk]) == {}  # served, but not yet known to have arrived
    app.push(table_changes())  # pushes name the pull they follow, which the app has applied
    assert SyncCursor.objects.get(patient_id=world.ann.pk).pull_id == first
    second = app.pull()["timestamp"]
    app.last_pulled_at = first
    app.pull()  # an older timestamp (another device) never takes the cursor back
    assert SyncCursor.objects.get(patient_id=world.ann.pk).pull_id == first
    app.last_pulled_at = second
    app.pull()
    assert SyncCursor.objects.get(patient_id=world.ann.pk).pull_id == second
    assert set(pulled_through([world.ann.pk, world.bea.pk])) == {world.ann.pk}
