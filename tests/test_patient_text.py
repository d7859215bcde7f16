"""Text a patient reads carries no internal codes (issue 11, class 12): the catalogue's how-to-take instructions,
notices, push texts, the warnings and error messages of her API and her app's sync say "stay upright for 30
minutes", never "(A1)". Rule ids are for staff (docs/clinical-rules.md; the console links them).

Each test walks one source of patient-facing text through the path the app uses, for every variant it can produce,
and fails on anything that looks like a rule id: a capital from the rulebook's families and one digit
(``A1``, ``(D5)``), with or without parentheses. "Vitamin D3" is the name of a supplement, not a rule."""

import ast
import re
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.apps import apps as django_apps
from django.conf import settings
from django.utils import timezone

from apps.accounts.models import Patient
from apps.alerts.jobs import injection_watch
from apps.alerts.models import Notice
from apps.joint_pain.models import JointPainCheckIn
from apps.medications.catalogue import CATALOGUE
from apps.medications.models import Medication, Schedule
from apps.medications.rules.injection import (
    BANDS_BY_DRUG,
    InjectionState,
    InjectionStatus,
    alert_for,
    notice_for,
)
from apps.medications.services import schedule_update
from apps.reminders.materialise import materialise
from apps.reminders.models import ReminderOccurrence
from apps.reminders.occurrences import still_to_do
from backend.reminder_sources import follow_ups_when_missed, reminder_sources
from tests.conftest import World
from tests.exercise.factories import make_exercise_plan
from tests.factories import make_schedule
from tests.supplements.factories import make_intake, make_plan
from tests.sync.conftest import App, table_changes

RULE_ID = re.compile(r"(?<![Vv]itamin )\b[ACDEHJPTZM][0-9]\b")
LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 3, 11, 12, tzinfo=LONDON)  # a Wednesday


def with_rule_ids(texts: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The (where, text) pairs whose text names a rule id."""
    return [(where, text) for where, text in texts if RULE_ID.search(text)]


def strings(value: Any, where: str = "") -> Iterator[tuple[str, str]]:
    """Every string inside a JSON value, with its path."""
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from strings(item, f"{where}[{index}]")


def test_the_pattern_catches_rule_ids_and_spares_vitamin_d3() -> None:
    assert RULE_ID.search("stay upright for 30 minutes (A1).")
    assert RULE_ID.search("never two on the same day (A3)")
    assert RULE_ID.search("see D5 for the bands")
    assert not RULE_ID.search("800-1,000 IU of vitamin D3 a day; Vitamin D3 1,000 IU")
    assert not RULE_ID.search("Time for your vitamin K2 (90 mcg) and magnesium (250 mg)")


# --- the catalogue -------------------------------------------------------------------------------------------------
def test_the_catalogue_the_app_shows_names_no_rule_ids(world: World, client_for) -> None:
    rows = client_for(world.ann.user).get("/api/v1/medications/").json()
    rows = rows["results"] if isinstance(rows, dict) else rows
    assert len(rows) == len(CATALOGUE)
    # `source` is the row's rulebook id (M1...), an identifier for staff tools that the app does not display.
    texts = [(f"{row['code']}{where}", text) for row in rows for where, text in strings(row) if where != ".source"]
    assert with_rule_ids(texts) == []
    by_code = {row["code"]: row for row in rows}
    assert "stay upright (sitting or standing) for 30 minutes. Take calcium" in by_code["alendronate"]["instructions"]
    assert "never two on the same day, then go back to your usual day." in by_code["alendronate"]["instructions"]
    assert "stay upright for 60 minutes. Take calcium" in by_code["ibandronate"]["instructions"]


def test_the_data_migration_rewrites_instructions_stored_with_rule_ids(world: World, client_for) -> None:
    """An installation seeded before the change holds "(A1)" in its rows: the migration rewrites them."""
    from importlib import import_module

    migration = import_module("apps.medications.migrations.0005_catalogue_instructions_without_rule_ids")
    old = "Take it on waking ... stay upright (sitting or standing) for 30 minutes (A1). Never two a day (A3)."
    Medication.objects.filter(code="alendronate").update(instructions=old)
    migration.forwards(django_apps, None)
    row = next(r for r in client_for(world.ann.user).get("/api/v1/medications/").json() if r["code"] == "alendronate")
    assert row["instructions"] == next(e["instructions"] for e in CATALOGUE if e["code"] == "alendronate")
    assert with_rule_ids([("alendronate", row["instructions"])]) == []


# --- notices -------------------------------------------------------------------------------------------------------
def _statuses(bands: Any) -> Iterator[InjectionStatus]:
    due = date(2026, 3, 2)
    offsets = {
        -bands.due_soon_days - 1,
        -bands.due_soon_days,
        -1,
        0,
        1,
        bands.due_alert_from_day,
        bands.on_time_days,
        bands.on_time_days + 1,
        bands.late_until_days,
        bands.late_until_days + 1,
        400,
    }
    for offset in sorted(offsets):
        overdue, until = max(0, offset), max(0, -offset)
        for state in InjectionState:
            yield InjectionStatus(state=state, next_due=due, days_overdue=overdue, days_until_due=until)


def test_every_notice_in_every_state_names_no_rule_id() -> None:
    texts = []
    for bands in BANDS_BY_DRUG.values():
        for status in _statuses(bands):
            notice = notice_for(status, bands, drug_label=bands.drug.replace("_", " "))
            if notice is not None:
                texts += [(f"{notice.kind} title", notice.title), (f"{notice.kind} body", notice.body)]
    assert {kind.split(" ")[0] for kind, _ in texts} == {
        f"{drug}_{state.value}" for drug in BANDS_BY_DRUG for state in InjectionState if state != "scheduled"
    }
    assert with_rule_ids(texts) == []


def test_staff_alerts_keep_their_rule_id_in_its_own_field_not_in_the_message() -> None:
    """The rule id travels beside the text (the console links it); zoledronic acid's bands are Z1's."""
    rules = set()
    for bands in BANDS_BY_DRUG.values():
        for status in _statuses(bands):
            spec = alert_for(status, bands)
            if spec is not None:
                rules.add((bands.drug, spec.rule))
                assert with_rule_ids([(spec.kind, spec.message)]) == []
    assert rules == {("denosumab", "D5"), ("zoledronic_acid", "Z1")}


def _watched_life(world: World, patient: Patient, code: str, due: date) -> Schedule:
    """A 6-monthly injection watched daily from two months before its due date to long overdue, then stopped."""
    with time_machine.travel(datetime.combine(due - timedelta(days=60), time(12), tzinfo=LONDON), tick=False):
        schedule = make_schedule(patient, code, starts_on=due, local_time=time(9))
    bands = BANDS_BY_DRUG[code]
    for offset in (-60, -bands.due_soon_days, 0, bands.due_alert_from_day, bands.on_time_days + 1):
        with time_machine.travel(datetime.combine(due + timedelta(days=offset), time(12), tzinfo=LONDON), tick=False):
            injection_watch()
    stop_day = due + timedelta(days=bands.late_until_days + 1)
    with time_machine.travel(datetime.combine(stop_day, time(12), tzinfo=LONDON), tick=False):
        injection_watch()
        schedule_update(actor=world.cora, schedule=schedule, status="stopped")
        injection_watch()
    return schedule


def test_notices_she_reads_over_the_api_name_no_rule_id(world: World, client_for) -> None:
    _watched_life(world, world.ann, "denosumab", date(2026, 3, 2))
    _watched_life(world, world.bea, "zoledronic_acid", date(2026, 3, 2))
    texts = []
    for patient in (world.ann, world.bea):
        body = client_for(patient.user).get(f"/api/v1/patients/{patient.id}/notices/").json()
        texts += list(strings(body, str(patient)))
    kinds = set(Notice.objects.values_list("kind", flat=True))
    assert {"denosumab_due_soon", "denosumab_critical", "denosumab_stopped"} <= kinds
    assert {"zoledronic_acid_due", "zoledronic_acid_critical", "zoledronic_acid_stopped"} <= kinds
    assert with_rule_ids(texts) == []


# --- push texts ----------------------------------------------------------------------------------------------------
def _everything_that_reminds(world: World) -> None:
    """Ann has every kind of reminder: each catalogue medicine she takes herself, both 6-monthly injections due,
    every supplement, and exercise plans with and without targets."""
    patient = world.ann
    with time_machine.travel(NOW - timedelta(days=200), tick=False):
        make_schedule(patient, "denosumab", starts_on=date(2026, 3, 4), local_time=time(9))
        make_schedule(patient, "zoledronic_acid", starts_on=date(2026, 3, 20), local_time=time(10))
    for entry in CATALOGUE:
        if not entry["injection_bands"]:
            make_schedule(patient, entry["code"], starts_on=date(2026, 3, 1))
    for supplement, unit, amount in (
        ("calcium_carbonate", "mg", "600"),
        ("calcium_citrate", "mg", "500"),
        ("vitamin_d3", "IU", "1000"),
        ("magnesium", "mg", "250"),
        ("vitamin_k2", "mcg", "90"),
    ):
        make_plan(patient, supplement=supplement, unit=unit, amount=Decimal(amount), times_of_day=[time(8)])
    make_exercise_plan(patient, reminder_days=[0, 1, 2, 3, 4, 5, 6])
    make_exercise_plan(
        world.bea,
        actor=world.cora,
        weight_bearing_minutes_target=0,
        resistance_days_target=0,
        balance_sessions_target=0,
        reminder_days=[0, 1, 2, 3, 4, 5, 6],
    )


def test_every_push_text_of_every_source_names_no_rule_id(world: World) -> None:
    _everything_that_reminds(world)
    JointPainCheckIn.objects.create(  # nine days before NOW: her no-check-in nudge falls in the window (issue 15)
        id=uuid.uuid4(),
        patient=world.ann,
        answered_at=datetime(2026, 3, 2, 19, tzinfo=UTC),
        week_of=date(2026, 3, 2),
        worst_pain=5,
        stiffness=4,
        interfered=True,
    )
    start = NOW.astimezone(UTC)
    texts, kinds = [], set()
    for source in reminder_sources():
        for slot in source.slots(window_start=start, window_end=start + timedelta(days=35)):
            kinds.add(slot.source_kind)
            texts += [(f"{slot.source_kind} generic", slot.text_generic), (slot.source_kind, slot.text_detailed)]
    assert kinds == {
        *("medication", "injection_booking", "supplement", "exercise"),
        *("joint_pain_check_in", "joint_pain_nudge"),
    }
    with time_machine.travel(NOW, tick=False):
        materialise(now=timezone.now())
    occurrences = list(ReminderOccurrence.objects.all())
    # The dispatcher's own texts: a nudge repeats its reminder, a next-morning catch-up (A3) has its own.
    nudges = [still_to_do(o.text_generic) for o in occurrences]
    nudges += [still_to_do(o.text_detailed) for o in occurrences]
    mornings = follow_ups_when_missed(occurrences)
    assert mornings, "a weekly or monthly oral bisphosphonate gets a next-morning catch-up"
    texts += [("nudge", text) for text in nudges]
    texts += [("next_morning", t) for m in mornings for t in (m.text_generic, m.text_detailed)]
    texts += [("occurrence", t) for o in occurrences for t in (o.text_generic, o.text_detailed)]
    assert with_rule_ids(texts) == []


# --- what her API answers ------------------------------------------------------------------------------------------
def test_a_second_weekly_dose_is_refused_in_plain_words(world: World, client_for) -> None:
    schedule = make_schedule(world.ann)  # alendronate, Mondays
    client = client_for(world.ann.user)
    url = f"/api/v1/patients/{world.ann.id}/doses/"
    with time_machine.travel(NOW, tick=False):
        for hour, expected in ((7, 201), (9, 400)):
            body = {
                "id": str(uuid.uuid4()),
                "schedule": str(schedule.id),
                "taken_at": datetime(2026, 3, 9, hour, tzinfo=LONDON).isoformat(),
            }
            response = client.post(url, body, format="json")
            assert response.status_code == expected, response.content
    message = response.json()["error"]["fields"]["taken_at"][0]
    assert message == "A dose is already recorded on 09 March 2026; never take two on the same day."


def test_nutrition_warnings_she_reads_name_no_rule_id_but_keep_the_rule_field(world: World, client_for) -> None:
    schedule = make_schedule(world.ann)  # alendronate, Mondays 07:00
    with time_machine.travel(NOW, tick=False):
        client = client_for(world.ann.user)
        taken = datetime(2026, 3, 9, 7, tzinfo=LONDON)
        assert (
            client.post(
                f"/api/v1/patients/{world.ann.id}/doses/",
                {"id": str(uuid.uuid4()), "schedule": str(schedule.id), "taken_at": taken.isoformat()},
                format="json",
            ).status_code
            == 201
        )
        make_intake(world.ann, taken_at=taken + timedelta(minutes=10), amount=Decimal("600"))
        body = client.get(f"/api/v1/patients/{world.ann.id}/nutrition/daily/", {"date": "2026-03-09"}).json()
    warnings = body["warnings"]
    assert {(w["code"], w["rule"]) for w in warnings} == {
        ("calcium_dose_over_500", "C2"),
        ("calcium_too_soon_after_bisphosphonate", "A2"),
    }
    assert with_rule_ids([(w["code"], w["message"]) for w in warnings]) == []
    assert any(w["message"].endswith("split it into doses of at most 500 mg.") for w in warnings)


def test_her_bone_health_reasons_name_no_rule_id(world: World, client_for) -> None:
    body = client_for(world.ann.user).get(f"/api/v1/patients/{world.ann.id}/bone-health/").json()
    texts = [(where, text) for where, text in strings(body) if where.endswith(".message")]
    assert texts
    assert with_rule_ids(texts) == []


def _error_texts(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """String constants inside calls that build an error (``ValidationError(...)``, ``...Error(...)``)."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if name.endswith(("Error", "Denied", "NotFound")):
            for sub in ast.walk(node):
                if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                    yield sub.lineno, sub.value


def test_no_error_message_in_the_code_names_a_rule_id() -> None:
    """Every message an API error can carry is written in the apps: none names a rule id."""
    root = Path(settings.BASE_DIR)
    found = []
    for path in sorted([*root.glob("apps/**/*.py"), *root.glob("backend/**/*.py")]):
        if "migrations" in path.parts:
            continue
        for line, text in _error_texts(ast.parse(path.read_text(encoding="utf-8"))):
            found += [(f"{path.relative_to(root)}:{line}", text)]
    assert found, "the walk finds the error messages"
    assert with_rule_ids(found) == []


# --- her app's sync ------------------------------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_what_her_app_pulls_and_the_reasons_it_is_refused_name_no_rule_id(world: World, client_for) -> None:
    _watched_life(world, world.ann, "denosumab", date(2026, 3, 2))
    schedule = make_schedule(world.ann, starts_on=date(2026, 3, 1))  # alendronate, Sundays
    make_plan(world.ann)
    with time_machine.travel(NOW, tick=False):
        materialise(now=timezone.now())
        app = App(client_for(world.ann.user), world.ann)
        pulled = app.pull()
        texts = list(strings(pulled["changes"], "pull"))
        doses = [
            {
                "id": str(uuid.uuid4()),
                "schedule_id": str(schedule.id),
                "taken_at": int(datetime(2026, 3, 8, hour, tzinfo=LONDON).timestamp() * 1000),
                "status": "taken",
                "source": "app",
                "site": "",
                "note": "",
                "occurrence_on": None,
            }
            for hour in (7, 9)
        ]
        body = app.push(table_changes(dose_records={"created": doses}))
    assert body["experimentalRejectedIds"] == {"dose_records": [doses[1]["id"]]}
    assert "never take two on the same day" in body["rejected"]["dose_records"][doses[1]["id"]]
    texts += list(strings(body, "push"))
    tables = {where.split(".")[1] for where, _ in texts if where.startswith("pull.")}
    assert {"notices", "reminders"} <= tables
    assert with_rule_ids(texts) == []
