"""The aromatase inhibitor's adherence is its own alert (issue 15): the low_adherence job raises `ai_adherence_low`
(rule P1, normal) for an AI schedule whose 90-day PDC is below 0.80, once per episode, resolved on recovery and when
the schedule stops; bone medicines keep `low_adherence`."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from apps.accounts.models import Patient
from apps.alerts.jobs import low_adherence_watch
from apps.alerts.models import Alert
from apps.medications.models import Schedule
from apps.medications.services import adherence_deferred
from tests.conftest import World
from tests.factories import make_dose, make_schedule

LONDON = ZoneInfo("Europe/London")
TODAY = date(2026, 6, 15)
NOW = datetime.combine(TODAY, time(12), tzinfo=LONDON)
STARTS = TODAY - timedelta(days=100)


def local(day: date) -> datetime:
    return datetime.combine(day, time(8), tzinfo=LONDON)


def daily_letrozole(patient: Patient) -> Schedule:
    with time_machine.travel(NOW, tick=False):
        return make_schedule(patient, "letrozole", starts_on=STARTS)


def take_days(patient: Patient, schedule: Schedule, days: list[date]) -> None:
    with time_machine.travel(NOW, tick=False), adherence_deferred():
        for day in days:
            make_dose(patient, schedule, taken_at=local(day))


def last_days(n: int) -> list[date]:
    """Doses on the n days before today (today itself is not judged until a dose covers it), and one on the first
    day, so tracking starts before the 90-day window."""
    return [STARTS, *(TODAY - timedelta(days=k) for k in range(1, n + 1))]


def run(now: datetime = NOW):
    with time_machine.travel(now, tick=False):
        return low_adherence_watch()


def kinds(patient: Patient) -> list[tuple[str, str, str, str]]:
    return [
        (a.kind, a.severity, a.rule, a.state) for a in Alert.objects.filter(patient=patient).order_by("raised_at", "id")
    ]


@pytest.mark.parametrize(("covered", "alerts"), [(72, []), (71, [("ai_adherence_low", "normal", "P1", "open")])])
def test_ai_below_80_percent_raises_its_own_alert(world: World, covered: int, alerts: list) -> None:
    """72 of 90 days is 0.800 (adherent, DOMAIN P1); 71 is 0.788."""
    schedule = daily_letrozole(world.ann)
    take_days(world.ann, schedule, last_days(covered))
    run()
    schedule.refresh_from_db()
    assert schedule.adherence_pdc == Decimal(covered * 1000 // 90) / 1000
    assert kinds(world.ann) == alerts
    if alerts:
        alert = Alert.objects.get(patient=world.ann)
        assert alert.schedule_id == schedule.pk
        assert alert.message.startswith("Her cancer treatment is slipping: Letrozole: 71 of 90 days covered")


@pytest.mark.parametrize(("pdc", "alerts"), [("0.800", 0), ("0.799", 1)])
def test_the_stored_figure_on_the_threshold(world: World, pdc: str, alerts: int) -> None:
    """The judgement on the stored figure itself, at 0.800 and one step below it."""
    schedule = daily_letrozole(world.ann)
    run()  # gives it its stored figure and its next judgement
    Schedule.objects.filter(pk=schedule.pk).update(
        adherence_pdc=Decimal(pdc),
        adherence_days=90,
        adherence_next_at=NOW + timedelta(hours=6),
        adherence_judge_at=NOW,
    )
    run()
    assert Alert.objects.filter(patient=world.ann, kind="ai_adherence_low").count() == alerts
    assert not Alert.objects.filter(patient=world.ann, kind="low_adherence").exists()


def test_once_per_episode_and_resolved_on_recovery(world: World) -> None:
    schedule = daily_letrozole(world.ann)
    take_days(world.ann, schedule, last_days(60))
    assert run().alerts_raised == 1
    for later in (NOW + timedelta(hours=3), NOW + timedelta(days=1)):
        assert run(later).alerts_raised == 0
    assert len(kinds(world.ann)) == 1
    # She catches up: every day of the window covered.
    take_days(world.ann, schedule, [TODAY - timedelta(days=k) for k in range(61, 91)])
    report = run(NOW + timedelta(days=1, hours=1))
    assert report.alerts_resolved == 1
    [alert] = Alert.objects.filter(patient=world.ann)
    assert alert.state == "resolved" and "PDC back to" in alert.resolution_note


def test_bone_medicine_keeps_low_adherence(world: World) -> None:
    with time_machine.travel(NOW, tick=False):
        alendronate = make_schedule(world.ann, "alendronate", starts_on=STARTS)
        for k in range(6):  # weeks 0-5 only: 35.5 %
            make_dose(world.ann, alendronate, taken_at=local(STARTS + timedelta(days=7 * k)))
    letrozole = daily_letrozole(world.ann)
    take_days(world.ann, letrozole, last_days(50))
    run()
    by_schedule = {a.schedule_id: a for a in Alert.objects.filter(patient=world.ann)}
    assert by_schedule[alendronate.pk].kind == "low_adherence"
    assert not by_schedule[alendronate.pk].message.startswith("Her cancer treatment")
    assert by_schedule[letrozole.pk].kind == "ai_adherence_low"


def test_an_old_low_adherence_alert_on_the_ai_is_the_same_episode(world: World) -> None:
    """Raised before the AI had its own kind: no second alert, and recovery resolves it."""
    schedule = daily_letrozole(world.ann)
    take_days(world.ann, schedule, last_days(60))
    run()
    Alert.objects.filter(patient=world.ann).update(kind="low_adherence")
    Schedule.objects.filter(pk=schedule.pk).update(adherence_judge_at=NOW)
    assert run(NOW + timedelta(minutes=5)).alerts_raised == 0
    assert [k[0] for k in kinds(world.ann)] == ["low_adherence"]


def test_stopping_the_ai_resolves_its_adherence_alert(world: World, client_for) -> None:
    schedule = daily_letrozole(world.ann)
    take_days(world.ann, schedule, last_days(60))
    run()
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        response = client_for(world.ann.user).post(
            f"/api/v1/patients/{world.ann.id}/ai-course/stop/",
            {"stopped_on": TODAY.isoformat(), "reason": "side_effects"},
            format="json",
        )
    assert response.status_code == 200, response.content
    schedule.refresh_from_db()
    assert schedule.status == "stopped"
    assert run(NOW + timedelta(hours=1, minutes=5)).alerts_resolved == 1
    states = {a.kind: a.state for a in Alert.objects.filter(patient=world.ann)}
    assert states == {"ai_adherence_low": "resolved", "ai_stopped": "open"}
    assert "stopped" in Alert.objects.get(kind="ai_adherence_low").resolution_note
    assert run(NOW + timedelta(days=2)).alerts_raised == 0  # a stopped schedule is not judged again
