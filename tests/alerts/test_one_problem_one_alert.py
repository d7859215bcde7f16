"""Issue 11, class 7: one problem, one alert. An injectable (denosumab, zoledronic acid) that is due, late or critical
is followed up by its injection alert (DOMAIN D5): its low adherence over 90 days (DOMAIN P1) raises no second
alert, and a low-adherence alert already open is resolved, with a note, when the injection alert is raised."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from apps.accounts.models import Patient
from apps.alerts.jobs import injection_watch, low_adherence_watch
from apps.alerts.models import Alert, AlertState
from apps.alerts.services import alert_raise
from apps.medications.models import Schedule
from tests.conftest import World
from tests.factories import make_dose, make_schedule

LONDON = ZoneInfo("Europe/London")
START = date(2025, 11, 3)


def noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=LONDON)


def given_at_start(patient: Patient, code: str) -> Schedule:
    """Entered on its start date, the first injection recorded that day: the next one is due 6 months later."""
    with time_machine.travel(noon(START), tick=False):
        schedule = make_schedule(patient, code, starts_on=START)
        make_dose(patient, schedule, taken_at=noon(START) - timedelta(hours=1))
    schedule.refresh_from_db()
    assert schedule.next_due_on == date(2026, 5, 3)
    return schedule


def run_watches(day: date) -> None:
    with time_machine.travel(noon(day), tick=False):
        injection_watch()
        low_adherence_watch()


def open_kinds(patient: Patient) -> list[str]:
    return sorted(
        Alert.objects.filter(patient=patient).exclude(state=AlertState.RESOLVED).values_list("kind", flat=True)
    )


def pdc_90(client, patient: Patient, schedule: Schedule, day: date) -> str:
    with time_machine.travel(noon(day), tick=False):
        rows = client.get(f"/api/v1/patients/{patient.id}/adherence/?window=90").json()
    [row] = [r for r in rows if r["schedule"] == str(schedule.id)]
    return str(row["pdc"])


@pytest.mark.parametrize(
    ("code", "days_after_due", "injection_alert"),
    [
        ("denosumab", 25, "denosumab_due"),
        ("denosumab", 60, "denosumab_late"),
        ("denosumab", 130, "denosumab_critical"),
        ("zoledronic_acid", 30, "zoledronic_acid_due"),
        ("zoledronic_acid", 90, "zoledronic_acid_late"),
        ("zoledronic_acid", 200, "zoledronic_acid_critical"),
    ],
)
def test_an_overdue_injection_has_its_own_alert_and_no_low_adherence_alert(
    world: World, client_for, code: str, days_after_due: int, injection_alert: str
) -> None:
    schedule = given_at_start(world.ann, code)
    assert schedule.next_due_on is not None
    day = schedule.next_due_on + timedelta(days=days_after_due)
    assert pdc_90(client_for(world.cora), world.ann, schedule, day) < "0.800"  # low: it would have alerted twice
    run_watches(day)
    assert open_kinds(world.ann) == [injection_alert]
    with time_machine.travel(noon(day), tick=False):
        shown = client_for(world.cora).get("/api/v1/alerts/").json()["results"]
    assert [a["kind"] for a in shown] == [injection_alert]


def test_a_low_adherence_alert_open_when_the_injection_alert_is_raised_is_resolved(world: World) -> None:
    schedule = given_at_start(world.ann, "denosumab")
    due = schedule.next_due_on
    assert due is not None
    # Raised before this rule (or before the injection fell due): open on the same schedule.
    with time_machine.travel(noon(due), tick=False):
        old = alert_raise(
            patient=world.ann,
            schedule=schedule,
            kind="low_adherence",
            severity="normal",
            rule="P1",
            episode="before",
            message="Denosumab: PDC low.",
        )
    assert old is not None
    with time_machine.travel(noon(due + timedelta(days=7)), tick=False):
        injection_watch()  # day 7: the due alert (DOMAIN D5)
    assert open_kinds(world.ann) == ["denosumab_due"]
    old.refresh_from_db()
    assert old.state == AlertState.RESOLVED
    assert old.resolution_note == "Resolved automatically: the injection's own alert now follows this schedule up."
    assert old.resolved_by is None


def test_the_adherence_job_resolves_an_open_low_adherence_alert_of_an_overdue_injection(world: World) -> None:
    schedule = given_at_start(world.ann, "zoledronic_acid")
    due = schedule.next_due_on
    assert due is not None
    with time_machine.travel(noon(due), tick=False):
        old = alert_raise(
            patient=world.ann,
            schedule=schedule,
            kind="low_adherence",
            severity="normal",
            rule="P1",
            episode="before",
            message="Zoledronic acid: PDC low.",
        )
    assert old is not None
    with time_machine.travel(noon(due + timedelta(days=3)), tick=False):
        low_adherence_watch()  # its infusion is due (no infusion alert before day 14): the watch owns it
    old.refresh_from_db()
    assert (old.state, old.resolution_note) == (
        AlertState.RESOLVED,
        "Resolved automatically: the injection is due; its own alert follows it up.",
    )
