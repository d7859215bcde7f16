"""The low_adherence job (DOMAIN P1, P2): PDC over 90 days below 0.8 raises one `low_adherence` alert per episode,
resolves it automatically when adherence recovers, and leaves schedules with fewer than 14 tracked days alone. The
figure it judges is the one stored on the schedule at every write, which the patient list filters on
(`?adherence_below=`)."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import time_machine
from django.core.management import call_command

from apps.accounts.models import Patient
from apps.alerts.jobs import low_adherence_watch
from apps.alerts.models import Alert, AlertState
from apps.medications.models import Schedule
from apps.medications.services import schedule_update
from tests.conftest import World
from tests.factories import PatientFactory, make_dose, make_schedule

LONDON = ZoneInfo("Europe/London")  # the factories' patient zone
TODAY = date(2026, 6, 15)
NOW = datetime.combine(TODAY, time(12), tzinfo=LONDON)
STARTS = TODAY - timedelta(days=100)  # DOMAIN P1 window is 90 days: the schedule ran before it began


def local(day: date, hour: int = 7, minute: int = 30) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=LONDON)


def dose_day(k: int, starts: date = STARTS) -> date:
    return starts + timedelta(days=7 * k)


def weekly_alendronate(patient: Patient, starts: date = STARTS) -> Schedule:
    with time_machine.travel(NOW, tick=False):
        return make_schedule(patient, "alendronate", starts_on=starts)  # weekday: the start date's


def take(patient: Patient, schedule: Schedule, weeks: range, now: datetime = NOW) -> list:
    with time_machine.travel(now, tick=False):
        return [make_dose(patient, schedule, taken_at=local(dose_day(k, schedule.starts_on))) for k in weeks]


def run(now: datetime = NOW):
    with time_machine.travel(now, tick=False):
        return low_adherence_watch()


def low_adherence(patient: Patient) -> list[Alert]:
    return list(Alert.objects.filter(patient=patient, kind="low_adherence").order_by("raised_at", "id"))


def listed(client, threshold: str = "0.8") -> set[str]:
    response = client.get(f"/api/v1/patients/?adherence_below={threshold}")
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def test_low_pdc_raises_one_alert_then_recovery_resolves_it(world: World, client_for) -> None:
    schedule = weekly_alendronate(world.ann)
    # Doses in weeks 0-5 only: they cover STARTS..STARTS+41. Today (uncovered, still running) is not judged yet, so
    # the window is STARTS+10..TODAY-1: 32 of its 90 days are covered.
    take(world.ann, schedule, range(6))
    report = run()
    assert (report.alerts_raised, report.alerts_resolved, report.failed) == (1, 0, [])
    [alert] = low_adherence(world.ann)
    assert (alert.severity, alert.rule, alert.state, alert.schedule_id) == ("normal", "P1", "open", schedule.id)
    assert "32 of 90 days" in alert.message
    assert "(PDC 35.5%, below 80.0%)" in alert.message
    schedule.refresh_from_db()
    assert schedule.adherence_pdc == Decimal("0.355")
    assert schedule.adherence_checked_on == TODAY
    with time_machine.travel(NOW, tick=False):
        shown = client_for(world.cora).get("/api/v1/alerts/").json()["results"]
    assert [(a["kind"], a["severity"], a["rule"]) for a in shown] == [("low_adherence", "normal", "P1")]

    # Running again (the same day, and the next days) raises nothing new while the episode is open.
    for later in (NOW, NOW + timedelta(hours=6), NOW + timedelta(days=1), NOW + timedelta(days=3)):
        assert run(later).alerts_raised == 0
    assert len(low_adherence(world.ann)) == 1

    # Missed weeks 6-12 recorded late (synced now, taken then): coverage up to STARTS+90, 81 of 90 days.
    take(world.ann, schedule, range(6, 13))
    report = run()
    assert (report.alerts_raised, report.alerts_resolved) == (0, 1)
    [alert] = low_adherence(world.ann)
    assert alert.state == AlertState.RESOLVED
    assert alert.resolved_at == NOW
    assert "Resolved automatically" in alert.resolution_note
    assert list(alert.events.values_list("action", flat=True)) == ["raised", "resolved"]
    schedule.refresh_from_db()
    assert schedule.adherence_pdc == Decimal("0.900")  # 81 / 90
    assert run().alerts_resolved == 0  # nothing left to resolve


def test_a_new_episode_after_recovery_raises_a_new_alert(world: World) -> None:
    schedule = weekly_alendronate(world.ann)
    take(world.ann, schedule, range(6))
    run()
    take(world.ann, schedule, range(6, 13))
    run()
    # 40 days later nothing more was taken: coverage ends at STARTS+90, the window is STARTS+51..STARTS+140.
    later = NOW + timedelta(days=40)
    assert run(later).alerts_raised == 1
    first, second = low_adherence(world.ann)
    assert (first.state, second.state) == (AlertState.RESOLVED, AlertState.OPEN)
    assert second.raised_at == later


def test_low_adherence_again_the_same_day_after_auto_resolve_raises_again(world: World, client_for) -> None:
    schedule = weekly_alendronate(world.ann)
    take(world.ann, schedule, range(6))
    run(NOW)  # 12:00: raised
    late = take(world.ann, schedule, range(6, 13), now=NOW + timedelta(hours=1))
    assert run(NOW + timedelta(hours=6)).alerts_resolved == 1  # 18:00: resolved
    # 19:00: staff correct the records: those late doses were in fact skipped; adherence is low again.
    with time_machine.travel(NOW + timedelta(hours=7), tick=False):
        for dose in late:
            response = client_for(world.cora).patch(
                f"/api/v1/patients/{world.ann.id}/doses/{dose.id}/", {"status": "skipped"}, format="json"
            )
            assert response.status_code == 200, response.content
    report = run(NOW + timedelta(hours=8))  # 20:00, the same local day
    assert report.alerts_raised == 1
    assert [a.state for a in low_adherence(world.ann)] == [AlertState.RESOLVED, AlertState.OPEN]


def test_young_schedule_raises_nothing_from_14_tracked_days_it_does(world: World) -> None:
    # DOMAIN P1 (design, issue 11): 13 tracked days -> no PDC, no alert; 14 -> judged. Entered on the start date,
    # nothing ever taken (today, still running, is judged only once covered: the days before it count).
    young_start = TODAY - timedelta(days=13)
    with time_machine.travel(local(young_start, 9), tick=False):
        young = make_schedule(world.bea, "alendronate", starts_on=young_start)
    dora = PatientFactory.create(organisation=world.org_a)
    judged_start = TODAY - timedelta(days=14)
    with time_machine.travel(local(judged_start, 9), tick=False):
        judged = make_schedule(dora, "alendronate", starts_on=judged_start)
    report = run()
    assert report.schedules == 2
    assert low_adherence(world.bea) == []
    [alert] = low_adherence(dora)
    assert alert.schedule_id == judged.id
    assert "0 of 14 days covered in the 14 days tracked so far (PDC 0.0%, below 80.0%)" in alert.message
    young.refresh_from_db()
    assert young.adherence_pdc is None  # no verdict yet, so ?adherence_below= does not list her either


def test_adherent_patient_raises_nothing(world: World) -> None:
    schedule = weekly_alendronate(world.ann)
    take(world.ann, schedule, range(15))  # every week since the start
    report = run()
    assert (report.schedules, report.alerts_raised) == (1, 0)
    schedule.refresh_from_db()
    assert schedule.adherence_pdc == Decimal("1.000")
    assert low_adherence(world.ann) == []


def test_patient_list_adherence_below_follows_every_write(world: World, client_for) -> None:
    low = weekly_alendronate(world.ann)
    take(world.ann, low, range(6))
    good = weekly_alendronate(world.zoe)
    take(world.zoe, good, range(15))
    client = client_for(world.admin)
    with time_machine.travel(NOW, tick=False):
        assert listed(client) == {str(world.ann.id)}  # measured at the write, not by the job
        assert listed(client, "0.355") == set()  # 0.355 is not below itself
        assert listed(client, "0.356") == {str(world.ann.id)}
        assert listed(client_for(world.cora)) == {str(world.ann.id)}
        assert listed(client_for(world.zed)) == set()
        assert client.get("/api/v1/patients/?adherence_below=abc").status_code == 400
        assert client.get("/api/v1/patients/?adherence_below=1.5").status_code == 400
    # Recovery: the doses recorded move the stored figure at once and the patient leaves the list.
    take(world.ann, low, range(6, 13))
    with time_machine.travel(NOW, tick=False):
        assert listed(client) == set()


def test_runjob_low_adherence_runs_the_job_and_prints_what_it_did(world: World, capsys) -> None:
    schedule = weekly_alendronate(world.ann)
    take(world.ann, schedule, range(6))
    with time_machine.travel(NOW, tick=False):
        call_command("runjob", "low_adherence")
    out = capsys.readouterr().out
    assert out.startswith("low_adherence:")
    assert '"alerts_raised": 1' in out
    assert len(low_adherence(world.ann)) == 1
    with time_machine.travel(NOW, tick=False):
        call_command("runjob", "low_adherence")
    assert '"alerts_raised": 0' in capsys.readouterr().out
    assert len(low_adherence(world.ann)) == 1


def test_paused_schedule_is_not_reported_as_low_adherence(world: World) -> None:
    """A coordinator paused alendronate 60 days ago (e.g. dental surgery); the patient took every dose until then
    and rightly none since. Her other schedule keeps her in the job's run."""
    schedule = weekly_alendronate(world.ann)
    paused_on = TODAY - timedelta(days=60)
    take(world.ann, schedule, range(6))  # weeks 0-5: every dose up to STARTS+41 (the pause is at STARTS+40)
    with time_machine.travel(local(paused_on, 12), tick=False):
        schedule_update(actor=world.cora, schedule=schedule, status="paused")
    with time_machine.travel(NOW, tick=False):
        make_schedule(world.ann, "letrozole", starts_on=TODAY - timedelta(days=3))
    run()
    assert [a.schedule_id for a in low_adherence(world.ann)] == []


def test_one_bad_patient_does_not_stop_the_others(world: World, monkeypatch) -> None:
    from apps.alerts import jobs

    for patient in (world.ann, world.zoe):
        take(patient, weekly_alendronate(patient), range(6))
    real = jobs._judge

    def flaky(schedule: Schedule, now: datetime, report: jobs.AdherenceReport) -> None:
        if schedule.patient_id == world.ann.pk:
            raise RuntimeError("bad data")
        real(schedule, now, report)

    monkeypatch.setattr(jobs, "_judge", flaky)
    report = run()
    assert report.failed == [str(world.ann.pk)]
    assert report.alerts_raised == 1
    assert low_adherence(world.ann) == [] and len(low_adherence(world.zoe)) == 1
    monkeypatch.setattr(jobs, "_judge", real)
    assert run().alerts_raised == 1  # her schedule stayed due: the next run judges it
    assert len(low_adherence(world.ann)) == 1


def test_care_team_does_not_matter_to_the_job(world: World) -> None:
    # Bea has nobody assigned: the job still watches her.
    take(world.bea, weekly_alendronate(world.bea), range(6))
    assert run().alerts_raised == 1
    assert len(low_adherence(world.bea)) == 1
