"""A push's new doses are checked and inserted at once (medications.services.doses_record_new), with exactly what
recording them one by one through dose_record does: the same rows, refusals (and their order), alerts, due dates and
stored adherence; and a number of queries that does not grow with the doses pushed."""

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.accounts.models import Patient
from apps.alerts.models import Alert, AlertEvent, AlertState
from apps.medications import services as medication_services
from apps.medications.models import DoseRecord, Schedule
from apps.medications.services import dose_record, schedule_update
from apps.sync import push
from backend.models import SyncPull
from tests.conftest import World
from tests.factories import make_dose, make_schedule
from tests.medications.test_injection_watch import denosumab, local_noon, watch_on
from tests.sync.conftest import App, table_changes
from tests.sync.test_push import dose, ms

pytestmark = pytest.mark.django_db(transaction=True)

DUE = date(2026, 3, 2)  # her denosumab's first due date
TODAY = DUE + timedelta(days=40)  # late: its due and late alerts are open
DOSE_FIELDS = (
    "schedule_id",
    "taken_at",
    "taken_on",
    "status",
    "source",
    "site",
    "note",
    "occurrence_on",
    "recorded_by_id",
    "created_at",
    "updated_at",
)
SCHEDULE_FIELDS = (
    "next_due_on",
    "injection_state",
    "injection_next_check_at",
    "updated_at",
    *medication_services.ADHERENCE_FIELDS,
)


@dataclass
class Scenario:
    """One patient's schedules and the push of her doses, each pushed record named by a label (the ids differ
    between patients)."""

    patient: Patient
    schedules: dict[str, Schedule]
    created: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    updated: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def label(self, record_id: str) -> str:
        return next(label for label, record in [*self.created, *self.updated] if record["id"] == record_id)

    def changes(self) -> dict[str, Any]:
        return table_changes(
            dose_records={"created": [r for _, r in self.created], "updated": [r for _, r in self.updated]}
        )


def at(day: date, hour: int, patient: Patient) -> datetime:
    return local_noon(patient, day) + timedelta(hours=hour - 12)


def prepare(world: World, patient: Patient, other: Patient) -> Scenario:
    """Her schedules (a late denosumab with its alerts open once the watch runs, a weekly alendronate with a dose
    already recorded, a daily letrozole, a stopped risedronate) and the doses her app pushes: good ones, ones the
    rules refuse, an id another patient's record uses, her own earlier dose pushed again with an edit."""
    with time_machine.travel(local_noon(patient, DUE), tick=False):
        injection = denosumab(world, patient, DUE)
    with time_machine.travel(local_noon(patient, TODAY - timedelta(days=1)), tick=False):
        weekly = make_schedule(patient, "alendronate", starts_on=date(2026, 1, 5))  # Mondays
        daily = make_schedule(patient, "letrozole", starts_on=date(2026, 1, 5))
        stopped = make_schedule(patient, "risedronate", starts_on=date(2026, 1, 5))
        schedule_update(actor=world.cora, schedule=stopped, status="stopped")
        monday = TODAY - timedelta(days=TODAY.weekday() + 7)  # last week's Monday
        earlier = make_dose(patient, weekly, taken_at=at(monday - timedelta(days=7), 8, patient))
        theirs = make_dose(other, make_schedule(other, "letrozole"), taken_at=at(monday, 9, other))
    scenario = Scenario(patient, {"denosumab": injection, "alendronate": weekly, "letrozole": daily})
    p = patient
    scenario.created = [
        ("letrozole 1", dose(daily, at=at(TODAY - timedelta(days=3), 9, p))),
        ("letrozole 2", dose(daily, at=at(TODAY - timedelta(days=2), 9, p), note="with breakfast")),
        ("alendronate", dose(weekly, at=at(monday, 7, p), occurrence_on=monday.isoformat())),
        ("alendronate twice (A3)", dose(weekly, at=at(monday, 18, p))),
        ("alendronate skipped, same day", dose(weekly, at=at(monday, 19, p), status="skipped")),
        ("alendronate on a stored dose's day (A3)", dose(weekly, at=at(monday - timedelta(days=7), 20, p))),
        ("denosumab skipped", dose(injection, at=at(TODAY - timedelta(days=9), 10, p), status="skipped")),
        ("denosumab given late", dose(injection, at=at(TODAY - timedelta(days=7), 10, p), site="left thigh")),
        # her own dose pushed again as created, edited: an update between two runs of new doses
        ("earlier, edited", {**dose(weekly, at=earlier.taken_at), "id": str(earlier.id), "note": "fasting"}),
        ("in the future", dose(daily, at=at(TODAY, 12, p) + timedelta(days=1))),
        ("401 days ago", dose(daily, at=at(TODAY - timedelta(days=401), 9, p))),
        ("on a stopped schedule", dose(stopped, at=at(TODAY - timedelta(days=1), 9, p))),
        ("no such schedule", {**dose(daily), "schedule_id": str(uuid.uuid4())}),
        ("no taken_at", {k: v for k, v in dose(daily).items() if k != "taken_at"}),
        ("unknown status", dose(daily, at=at(TODAY - timedelta(days=4), 9, p), status="eaten")),
        ("site too long", dose(injection, at=at(TODAY - timedelta(days=6), 9, p), site="x" * 41)),
        ("another patient's id", {**dose(daily, at=at(TODAY - timedelta(days=5), 9, p)), "id": str(theirs.id)}),
        ("letrozole 3", dose(daily, at=at(TODAY - timedelta(days=1), 9, p), source="")),
    ]
    # updated but missing on the server: a create, in a run of its own
    scenario.updated = [
        ("updated, missing", dose(daily, at=at(TODAY - timedelta(days=6), 9, p), _status="updated")),
        ("updated, missing, A3", dose(weekly, at=at(monday, 21, p), _status="updated")),
    ]
    return scenario


def outcome(scenario: Scenario, app: App, since: int) -> dict[str, Any]:
    """What the push did, by label: its answer, the rows, her alerts, her schedules, the ids recorded on the pull."""
    body = app.push(scenario.changes())
    patient = scenario.patient
    rows = {str(r["id"]): r for r in DoseRecord.objects.filter(patient=patient).values("id", *DOSE_FIELDS)}
    names = {schedule.pk: name for name, schedule in scenario.schedules.items()}
    for row in rows.values():
        row.pop("id")
        row["schedule_id"] = names.get(row["schedule_id"], "other")
        row["recorded_by_id"] = "her" if row["recorded_by_id"] == patient.user_id else row["recorded_by_id"]
    alerts = Alert.objects.filter(patient=patient).order_by("kind")
    return {
        "rejected": [
            (scenario.label(record_id), reason) for record_id, reason in body["rejected"]["dose_records"].items()
        ],
        "experimentalRejectedIds": [scenario.label(i) for i in body["experimentalRejectedIds"]["dose_records"]],
        "rows": {label: rows.get(record["id"]) for label, record in [*scenario.created, *scenario.updated]},
        "alerts": list(alerts.values_list("kind", "state", "resolved_at", "resolution_note", "updated_at")),
        "alert events": sorted(
            AlertEvent.objects.filter(alert__patient=patient).values_list("alert__kind", "action", "note", "at")
        ),
        "schedules": {
            name: Schedule.objects.filter(pk=schedule.pk).values(*SCHEDULE_FIELDS).get()
            for name, schedule in scenario.schedules.items()
        },
        "pushed": sorted(scenario.label(i) for i in SyncPull.objects.get(pk=since).pushed["dose_records"]),
    }


def test_a_push_of_new_doses_does_exactly_what_recording_them_one_by_one_does(
    world: World, app_for, monkeypatch: pytest.MonkeyPatch
) -> None:
    at_once, one_by_one = prepare(world, world.ann, world.zoe), prepare(world, world.bea, world.zoe)
    watch_on(world.ann, TODAY)  # both late: a late alert open
    batches: list[int] = []
    recorded_new = medication_services.doses_record_new

    def spy(**kwargs: Any) -> Any:
        batches.append(len(kwargs["doses"]))
        return recorded_new(**kwargs)

    monkeypatch.setattr(medication_services, "doses_record_new", spy)
    outcomes = []
    with time_machine.travel(local_noon(world.ann, TODAY), tick=False):
        for scenario, bulk in ((at_once, True), (one_by_one, False)):
            if not bulk:  # the path before doses_record_new: each new dose through dose_record
                monkeypatch.setattr(push, "_apply_new_at_once", lambda *args: set())
            app: App = app_for(scenario.patient)
            app.pull()
            outcomes.append(outcome(scenario, app, app.last_pulled_at or 0))
    # the first scenario's new doses went in two batches (her edited dose between them; the registry refused the
    # records without a schedule of hers or a taken_at before)
    assert batches == [8, 9]
    assert outcomes[0] == outcomes[1]
    result = outcomes[0]
    # ...and what both did is what the rules say.
    assert [label for label, _ in result["rejected"]] == [
        "alendronate twice (A3)",
        "alendronate on a stored dose's day (A3)",
        "in the future",
        "401 days ago",
        "on a stopped schedule",
        "no such schedule",
        "no taken_at",
        "unknown status",
        "site too long",
        "another patient's id",
        "updated, missing, A3",
    ]
    reasons = dict(result["rejected"])
    assert "never take two on the same day" in reasons["alendronate twice (A3)"]
    assert "already used by another record" in reasons["another patient's id"]
    assert reasons["no taken_at"] == "taken_at: This column is required."
    assert {label for label, row in result["rows"].items() if row is not None} == {
        "letrozole 1",
        "letrozole 2",
        "letrozole 3",
        "alendronate",
        "alendronate skipped, same day",
        "denosumab skipped",
        "denosumab given late",
        "earlier, edited",
        "updated, missing",
    }
    assert result["rows"]["earlier, edited"]["note"] == "fasting"
    assert result["rows"]["letrozole 3"]["source"] == "app"
    given = (TODAY - timedelta(days=7)).strftime("%d %B %Y")
    note = f"Resolved automatically: injection recorded as given on {given}; next due 04 October 2026."
    assert [(kind, state, text) for kind, state, _, text, _ in result["alerts"]] == [
        ("denosumab_late", AlertState.RESOLVED, note)  # by the given dose, not the skipped one before it
    ]
    assert result["schedules"]["denosumab"]["next_due_on"] == date(2026, 10, 4)  # D2: 6 months from the late dose
    assert len(result["pushed"]) == 8


def test_the_queries_of_a_push_of_new_doses_do_not_grow_with_the_doses(world: World, app_for) -> None:
    daily = make_schedule(world.ann, "letrozole", starts_on=date(2026, 1, 5))
    weekly = make_schedule(world.ann, "alendronate", starts_on=date(2026, 1, 5))
    with time_machine.travel(local_noon(world.ann, date(2025, 6, 2)), tick=False):
        injection = denosumab(world, world.ann, date(2025, 6, 2))
    app: App = app_for(world.ann)
    counts = []
    with time_machine.travel(local_noon(world.ann, date(2026, 8, 3)), tick=False):
        app.pull()
        app.push(table_changes())  # her first push confirms the device's cursor (once): not part of the count
        start = date(2026, 8, 2)
        for n in (10, 200):
            app.pull()
            doses = [dose(daily, at=at(start - timedelta(days=k), 9, world.ann)) for k in range(n)]
            doses += [dose(weekly, at=at(start - timedelta(days=7 * k + 6), 7, world.ann)) for k in range(3)]
            doses += [dose(injection, at=at(start - timedelta(days=k + 1), 10, world.ann)) for k in range(2)]
            with CaptureQueriesContext(connection) as queries:
                assert app.push(table_changes(dose_records={"created": doses})) == {}
            counts.append(len(queries.captured_queries))
            start -= timedelta(days=n)
    assert DoseRecord.objects.filter(patient=world.ann).count() == 220
    assert counts[0] == counts[1]
    assert counts[0] < 40  # a handful a schedule, not ~8 a dose


def test_a_new_dose_meeting_its_id_recorded_meanwhile_over_rest_is_answered_one_by_one(
    world: World, app_for, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An id recorded after the push read her rows is left by the batch to dose_record: the same values are a
    replay, other values a 409 and nothing of the push applied."""
    schedule = make_schedule(world.ann, "letrozole")
    app: App = app_for(world.ann)
    app.pull()
    same, changed, other = dose(schedule), dose(schedule, note="at night"), dose(schedule)
    for record in (same, changed):
        dose_record(
            actor=world.ann.user,
            patient=world.ann,
            schedule=schedule,
            id=uuid.UUID(record["id"]),
            taken_at=datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=record["taken_at"]),
        )
    monkeypatch.setattr(push, "_stored", lambda table, patient, ids: {})  # as if recorded after the push's read
    assert app.push(table_changes(dose_records={"created": [same, other]})) == {}
    assert DoseRecord.objects.filter(patient=world.ann).count() == 3
    body = app.push(table_changes(dose_records={"created": [dose(schedule), changed]}), expect=409)
    assert body["error"]["fields"] == {"dose_records": [changed["id"]]}
    assert DoseRecord.objects.filter(patient=world.ann).count() == 3  # all or nothing
    assert ms(DoseRecord.objects.get(pk=same["id"]).taken_at) == same["taken_at"]
