"""The aromatase-inhibitor course through the API (DOMAIN T1, issue 15): the planned length (staff), the derived years,
recording a stop (the patient or staff in scope) with its alert and its stopped schedule, and restarting."""

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine

from apps.accounts.models import Patient
from apps.alerts.models import Alert
from apps.medications.models import Schedule
from apps.profiles.models import PatientProfile
from tests.conftest import World
from tests.factories import make_schedule

LONDON = ZoneInfo("Europe/London")
TODAY = date(2026, 6, 15)
NOW = datetime.combine(TODAY, time(12), tzinfo=LONDON)


@pytest.fixture(autouse=True)
def _today() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


def url(patient: Patient, suffix: str = "") -> str:
    return f"/api/v1/patients/{patient.id}/{suffix}"


def stop(client: Any, patient: Patient, **body: Any) -> Any:
    return client.post(
        url(patient, "ai-course/stop/"), {"stopped_on": "2026-06-10", "reason": "joint_pain", **body}, format="json"
    )


def assert_invalid(response: Any, field: str) -> None:
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid" and field in error["fields"], error


def ai_alerts(patient: Patient) -> list[Alert]:
    return list(Alert.objects.filter(patient=patient, kind="ai_stopped").order_by("raised_at", "id"))


# --- the planned course ----------------------------------------------------------------------------------------------
def test_staff_set_the_planned_years_and_read_the_course_in_years(world: World, client_for) -> None:
    cora = client_for(world.cora)  # Ann started letrozole on 1 March 2024 (the factory)
    response = cora.patch(url(world.ann), {"ai_planned_years": 5}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["ai_planned_years"], body["ai_planned_end_on"], body["ai_stopped_on"]) == (5, None, None)
    assert body["ai_course"] == {
        "aromatase_inhibitor": "letrozole",
        "started_on": "2024-03-01",
        "planned_years": 5,
        "given_end_on": None,
        "planned_end_on": "2029-03-01",
        "planned_length_years": "5.0",
        "years_completed": "2.2",  # 1 Mar 2026 + 106 of 365 days
        "years_remaining": "2.8",
        "stopped_on": None,
        "stop_reason": "",
    }
    # An end date instead replaces the years (one way of planning it at a time).
    body = cora.patch(url(world.ann), {"ai_planned_end_on": "2034-03-01"}, format="json").json()
    assert (body["ai_planned_years"], body["ai_planned_end_on"]) == (None, "2034-03-01")
    assert (body["ai_course"]["planned_end_on"], body["ai_course"]["planned_length_years"]) == ("2034-03-01", "10.0")
    assert cora.get(url(world.ann)).json()["ai_course"]["years_remaining"] == "7.8"


def test_the_patient_cannot_change_her_planned_course(world: World, client_for) -> None:
    response = client_for(world.ann.user).patch(url(world.ann), {"ai_planned_years": 10}, format="json")
    assert_invalid(response, "ai_planned_years")
    assert PatientProfile.objects.get(pk=world.ann.pk).ai_planned_years is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"ai_planned_years": 7}, "ai_planned_years"),  # 5 or 10 only
        ({"ai_planned_years": "5"}, "ai_planned_years"),  # a number, not a string
        ({"ai_planned_years": 5, "ai_planned_end_on": "2030-01-01"}, "ai_planned_end_on"),  # not both
        ({"ai_planned_end_on": "2024-03-01"}, "ai_planned_end_on"),  # on the start day: not after it
        ({"ai_planned_end_on": "2020-01-01"}, "ai_planned_end_on"),
        ({"ai_planned_end_on": "2099-01-01"}, "ai_planned_end_on"),  # more than 10 years ahead
        ({"ai_planned_end_on": "soon"}, "ai_planned_end_on"),
        ({"ai_planned_years": 5, "ai_started_on": None}, "ai_planned_years"),  # a length needs its start
        ({"ai_stopped_on": "2026-06-01"}, "ai_stopped_on"),  # a stop goes through its endpoint
    ],
)
def test_bad_planned_course_is_refused_whole(world: World, client_for, body: dict[str, Any], field: str) -> None:
    before = PatientProfile.objects.values().get(pk=world.ann.pk)
    assert_invalid(client_for(world.cora).patch(url(world.ann), body, format="json"), field)
    assert PatientProfile.objects.values().get(pk=world.ann.pk) == before


def test_the_day_after_the_start_is_a_valid_end(world: World, client_for) -> None:
    response = client_for(world.cora).patch(url(world.ann), {"ai_planned_end_on": "2024-03-02"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["ai_course"]["years_remaining"] == "0.0"


# --- stopping --------------------------------------------------------------------------------------------------------
def test_she_records_her_stop_her_coordinator_gets_a_high_alert_and_her_schedule_stops(
    world: World, client_for
) -> None:
    client_for(world.cora).patch(url(world.ann), {"ai_planned_years": 5}, format="json")
    with time_machine.travel(NOW - timedelta(days=30), tick=False):
        schedule = make_schedule(world.ann, "letrozole", starts_on=TODAY - timedelta(days=60))
    bone = make_schedule(world.ann, "alendronate", starts_on=TODAY - timedelta(days=60))
    response = stop(client_for(world.ann.user), world.ann)
    assert response.status_code == 200, response.content
    course = response.json()
    assert (course["stopped_on"], course["stop_reason"], course["years_remaining"]) == (
        "2026-06-10",
        "joint_pain",
        None,
    )
    assert course["years_completed"] == "2.2"  # to 10 June: frozen from then on
    [alert] = ai_alerts(world.ann)
    assert (alert.severity, alert.rule, alert.state) == ("high", "T1", "open")
    assert "cancer treatment" in alert.message and "10 June 2026" in alert.message and "joint pain" in alert.message
    shown = client_for(world.cora).get("/api/v1/alerts/").json()["results"]
    assert [(a["kind"], a["severity"]) for a in shown] == [("ai_stopped", "high")]
    schedule.refresh_from_db()
    assert (schedule.status, schedule.ends_on) == ("stopped", date(2026, 6, 9))  # her last day on it
    bone.refresh_from_db()
    assert bone.status == "active"  # only the aromatase inhibitor stops
    with time_machine.travel(NOW + timedelta(days=400), tick=False):
        later = client_for(world.cora).get(url(world.ann)).json()["ai_course"]
    assert later["years_completed"] == "2.2"


def test_her_doctors_decision_does_not_alert(world: World, client_for) -> None:
    schedule = make_schedule(world.ann, "letrozole", starts_on=TODAY - timedelta(days=60))
    response = stop(client_for(world.cora), world.ann, reason="doctor_decision")
    assert response.status_code == 200, response.content
    assert ai_alerts(world.ann) == []
    assert Alert.objects.filter(patient=world.ann).count() == 0
    schedule.refresh_from_db()
    assert schedule.status == "stopped"  # the schedule still stops: she is off it


@pytest.mark.parametrize("reason", ["side_effects", "joint_pain", "own_decision"])
def test_every_other_reason_alerts_high(world: World, client_for, reason: str) -> None:
    assert stop(client_for(world.ann.user), world.ann, reason=reason).status_code == 200
    assert [(a.kind, a.severity, a.rule) for a in ai_alerts(world.ann)] == [("ai_stopped", "high", "T1")]


def test_the_same_stop_again_changes_nothing_another_is_a_conflict(world: World, client_for) -> None:
    ann = client_for(world.ann.user)
    assert stop(ann, world.ann).status_code == 200
    again = stop(ann, world.ann)
    assert again.status_code == 200 and again.json()["stopped_on"] == "2026-06-10"
    assert len(ai_alerts(world.ann)) == 1
    other = stop(ann, world.ann, stopped_on="2026-06-11")
    assert other.status_code == 409, other.content
    assert other.json()["error"]["code"] == "conflict"
    assert stop(ann, world.ann, reason="side_effects").status_code == 409
    assert PatientProfile.objects.get(pk=world.ann.pk).ai_stopped_on == date(2026, 6, 10)
    assert len(ai_alerts(world.ann)) == 1


def test_restarting_resolves_the_alert_and_a_new_stop_alerts_again(world: World, client_for) -> None:
    ann = client_for(world.ann.user)
    stop(ann, world.ann)
    response = ann.post(url(world.ann, "ai-course/resume/"))
    assert response.status_code == 200, response.content
    assert (response.json()["stopped_on"], response.json()["stop_reason"]) == (None, "")
    [first] = ai_alerts(world.ann)
    assert first.state == "resolved" and "restarted" in first.resolution_note
    assert ann.post(url(world.ann, "ai-course/resume/")).status_code == 200  # nothing to resume: no change
    with time_machine.travel(NOW + timedelta(seconds=5), tick=False):
        assert stop(ann, world.ann, stopped_on="2026-06-15").status_code == 200
    assert [a.state for a in ai_alerts(world.ann)] == ["resolved", "open"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"stopped_on": "2026-06-16"}, "stopped_on"),  # tomorrow, in her zone
        ({"stopped_on": "2024-02-29"}, "stopped_on"),  # before the course started (1 March 2024)
        ({"stopped_on": "yesterday"}, "stopped_on"),
        ({"stopped_on": None}, "stopped_on"),
        ({"reason": "bored"}, "reason"),
        ({"reason": ""}, "reason"),
        ({"reason": None}, "reason"),
    ],
)
def test_bad_stops_are_refused(world: World, client_for, body: dict[str, Any], field: str) -> None:
    response = client_for(world.ann.user).post(
        url(world.ann, "ai-course/stop/"), {"stopped_on": "2026-06-10", "reason": "joint_pain", **body}, format="json"
    )
    assert_invalid(response, field)
    assert PatientProfile.objects.get(pk=world.ann.pk).ai_stopped_on is None
    assert ai_alerts(world.ann) == []


def test_the_start_day_and_today_are_valid_stop_days(world: World, client_for) -> None:
    ann = client_for(world.ann.user)
    assert stop(ann, world.ann, stopped_on="2024-03-01").status_code == 200
    ann.post(url(world.ann, "ai-course/resume/"))
    assert stop(ann, world.ann, stopped_on="2026-06-15").status_code == 200


def test_today_is_her_local_date(world: World, client_for) -> None:
    """13:00 UTC on 14 June is already 15 June in Auckland and still 14 June in London."""
    PatientProfile.objects.filter(pk=world.bea.pk).update(timezone="Pacific/Auckland")
    instant = datetime(2026, 6, 14, 13, 0, tzinfo=ZoneInfo("UTC"))
    with time_machine.travel(instant, tick=False):
        assert stop(client_for(world.bea.user), world.bea, stopped_on="2026-06-15").status_code == 200
        assert_invalid(stop(client_for(world.ann.user), world.ann, stopped_on="2026-06-15"), "stopped_on")
        assert stop(client_for(world.ann.user), world.ann, stopped_on="2026-06-14").status_code == 200


@pytest.mark.parametrize(
    ("who", "whom", "status"),
    [
        ("zed", "ann", 404),  # another organisation's coordinator
        ("pia", "ann", 404),  # another organisation's pharmacist
        ("cora", "zoe", 404),
        ("cody", "ann", 404),  # a coordinator she is not assigned to
        ("bea", "ann", 404),  # another patient
        ("cora", "ann", 200),
        ("phil", "ann", 403),  # her organisation's pharmacist reads the course but does not record a stop
        ("admin", "ann", 200),
        ("ann", "ann", 200),
    ],
)
def test_who_may_record_a_stop(world: World, client_for, who: str, whom: str, status: int) -> None:
    actor = getattr(world, who)
    user = actor.user if isinstance(actor, Patient) else actor
    target = getattr(world, whom)
    response = stop(client_for(user), target)
    assert response.status_code == status, response.content
    if status in (403, 404):
        assert PatientProfile.objects.get(pk=target.pk).ai_stopped_on is None
        assert client_for(user).post(url(target, "ai-course/resume/")).status_code == status
    if status == 404:
        assert response.json()["error"]["code"] == "not_found"


def test_stopping_leaves_her_other_patients_alone(world: World, client_for) -> None:
    zoe_schedule = make_schedule(world.zoe, "letrozole", starts_on=TODAY - timedelta(days=60))
    stop(client_for(world.ann.user), world.ann)
    assert Schedule.objects.get(pk=zoe_schedule.pk).status == "active"


def test_her_ai_reminders_end_with_the_stop(world: World, client_for) -> None:
    from apps.reminders.materialise import materialise
    from apps.reminders.models import ReminderOccurrence

    def pending(schedule: Schedule) -> int:
        return ReminderOccurrence.objects.filter(source_id=schedule.pk, state="pending", due_at__gte=NOW).count()

    letrozole = make_schedule(world.ann, "letrozole", starts_on=TODAY - timedelta(days=60), local_time=time(20))
    alendronate = make_schedule(world.ann, "alendronate", starts_on=TODAY - timedelta(days=60))
    materialise(now=NOW, patient_ids=[world.ann.id])
    assert pending(letrozole) >= 13 and pending(alendronate) >= 1
    assert stop(client_for(world.ann.user), world.ann, stopped_on=TODAY.isoformat()).status_code == 200
    materialise(now=NOW, patient_ids=[world.ann.id])
    assert pending(letrozole) == 0  # not even tonight's: she is off it from today
    assert pending(alendronate) >= 1


def test_no_stop_without_an_aromatase_inhibitor_on_record(world: World, client_for) -> None:
    """Review: a high "her cancer treatment stopped" alert for a woman with no AI recorded would be noise."""
    PatientProfile.objects.filter(pk=world.ann.pk).update(aromatase_inhibitor="")
    assert_invalid(stop(client_for(world.cora), world.ann), "reason")
    assert PatientProfile.objects.get(pk=world.ann.pk).ai_stopped_on is None


def test_restarting_without_a_schedule_asks_her_coordinator_to_enter_one(world: World, client_for) -> None:
    """Review: the stop stopped her AI schedule; on a restart nothing would remind her or measure her adherence, so
    her coordinators get a normal `ai_restarted` alert (T1). With an active AI schedule (entered before the restart
    was recorded) there is nothing to ask."""
    schedule = make_schedule(world.ann, "letrozole", starts_on=TODAY - timedelta(days=60))
    ann = client_for(world.ann.user)
    assert stop(ann, world.ann, reason="doctor_decision").status_code == 200
    schedule.refresh_from_db()
    assert schedule.status == "stopped"
    assert ann.post(url(world.ann, "ai-course/resume/")).status_code == 200
    restarted = list(Alert.objects.filter(patient=world.ann, kind="ai_restarted"))
    assert [(a.severity, a.rule, a.state) for a in restarted] == [("normal", "T1", "open")]
    assert "enter her schedule" in restarted[0].message

    with time_machine.travel(NOW + timedelta(seconds=5), tick=False):
        assert stop(ann, world.ann, stopped_on="2026-06-15", reason="doctor_decision").status_code == 200
    make_schedule(world.ann, "letrozole", starts_on=TODAY)
    with time_machine.travel(NOW + timedelta(seconds=10), tick=False):
        assert ann.post(url(world.ann, "ai-course/resume/")).status_code == 200
    assert Alert.objects.filter(patient=world.ann, kind="ai_restarted").count() == 1
