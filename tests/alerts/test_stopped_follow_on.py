"""Issue 11 class 1 (DOMAIN D5 `stopped`, D7): a stopped denosumab or zoledronic acid needs an *active* follow-on
anti-resorptive on her local today. The watch notices when cover lapses (a follow-on ends, is stopped, paused), not
only at the moment of the stop; exactly one alert per unprotected episode; a new follow-on resolves it. Driven
through the REST API as the coordinator would, with time travel in the patient's own zone."""

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client

from apps.accounts.models import Patient
from apps.alerts.jobs import injection_watch
from apps.alerts.models import Alert
from apps.medications.models import DoseRecord, Medication
from tests.conftest import World

LA = ZoneInfo("America/Los_Angeles")


@pytest.fixture
def ann(world: World) -> Patient:
    world.ann.profile.timezone = "America/Los_Angeles"
    world.ann.profile.save()
    return world.ann


def at_local(day: date, hour: int = 12, minute: int = 0) -> time_machine.travel:
    return time_machine.travel(datetime.combine(day, time(hour, minute), tzinfo=LA), tick=False)


def med_id(code: str) -> str:
    return str(Medication.objects.get(code=code).id)


def create_schedule(client: Any, patient: Patient, code: str, starts_on: date, **extra: Any) -> str:
    body = {"medication": med_id(code), "local_time": "09:00", "starts_on": starts_on.isoformat(), **extra}
    response = client.post(f"/api/v1/patients/{patient.id}/schedules/", body, format="json")
    assert response.status_code == 201, response.content
    return str(response.json()["id"])


def patch_schedule(client: Any, patient: Patient, schedule_id: str, **changes: Any) -> dict[str, Any]:
    response = client.patch(f"/api/v1/patients/{patient.id}/schedules/{schedule_id}/", changes, format="json")
    assert response.status_code == 200, response.content
    return dict(response.json())


def worklist(client: Any) -> list[tuple[str, str]]:
    response = client.get("/api/v1/alerts/")
    assert response.status_code == 200
    return [(row["kind"], row["severity"]) for row in response.json()["results"]]


def stopped_alerts(patient: Patient) -> list[Alert]:
    return list(Alert.objects.filter(patient=patient, kind__endswith="_stopped").order_by("raised_at", "id"))


START = date(2026, 1, 5)  # denosumab given from here: next due 2026-07-05
STOP_DAY = date(2026, 3, 2)


def stopped_denosumab(client: Any, patient: Patient, code: str = "denosumab") -> str:
    with at_local(START):
        schedule_id = create_schedule(client, patient, code, START)
        response = client.post(
            f"/api/v1/patients/{patient.id}/doses/",
            {
                "id": "9b2f7a8e-1c3d-4e5f-8a9b-0c1d2e3f4a5b",
                "schedule": schedule_id,
                "taken_at": datetime.combine(START, time(10), tzinfo=LA).isoformat(),
                "source": "clinic",
            },
            format="json",
        )
        assert response.status_code == 201, response.content
    return schedule_id


def test_follow_on_stopped_later_raises_one_alert_and_a_new_follow_on_resolves_it(
    world: World, ann: Patient, client_for
) -> None:
    cora = client_for(world.cora)
    denosumab = stopped_denosumab(cora, ann)
    with at_local(STOP_DAY):
        alendronate = create_schedule(cora, ann, "alendronate", STOP_DAY)
        patch_schedule(cora, ann, denosumab, status="stopped")
        injection_watch()
        assert worklist(cora) == []  # covered: nothing to do
    with at_local(date(2026, 5, 4)):
        patch_schedule(cora, ann, alendronate, status="stopped")  # the follow-on lapses two months later
        injection_watch()
        injection_watch()
        assert worklist(cora) == [("denosumab_stopped", "high")]
    assert len(stopped_alerts(ann)) == 1
    with at_local(date(2026, 5, 6)):
        create_schedule(cora, ann, "risedronate", date(2026, 5, 6))
        assert worklist(cora) == []  # resolved at once by the new follow-on
        injection_watch()
    (alert,) = stopped_alerts(ann)
    assert alert.state == "resolved"
    assert "follow-on" in alert.resolution_note


def test_each_unprotected_episode_raises_its_own_alert_once(world: World, ann: Patient, client_for) -> None:
    cora = client_for(world.cora)
    denosumab = stopped_denosumab(cora, ann)
    with at_local(STOP_DAY):
        patch_schedule(cora, ann, denosumab, status="stopped")
        injection_watch()  # episode 1: stopped with nothing after it
        assert worklist(cora) == [("denosumab_stopped", "high")]
        follow_on = create_schedule(cora, ann, "alendronate", STOP_DAY)  # resolves episode 1
        assert worklist(cora) == []
    with at_local(STOP_DAY + timedelta(days=1)):
        patch_schedule(cora, ann, follow_on, status="paused")  # paused protects nothing: episode 2
        injection_watch()
    with at_local(STOP_DAY + timedelta(days=2)):
        injection_watch()
        assert worklist(cora) == [("denosumab_stopped", "high")]
    assert [a.state for a in stopped_alerts(ann)] == ["resolved", "open"]


def test_follow_on_ending_is_noticed_at_local_midnight_after_its_last_day(
    world: World, ann: Patient, client_for
) -> None:
    cora = client_for(world.cora)
    denosumab = stopped_denosumab(cora, ann)
    last_day = date(2026, 9, 30)
    with at_local(STOP_DAY):
        create_schedule(cora, ann, "alendronate", STOP_DAY, ends_on=last_day.isoformat())
        patch_schedule(cora, ann, denosumab, status="stopped")
        injection_watch()
    with at_local(last_day, 23, 59):  # still her follow-on's last day in Los Angeles (06:59 UTC the next day)
        injection_watch()
        assert worklist(cora) == []
    with at_local(last_day + timedelta(days=1), 0, 0):
        report = injection_watch()
        assert worklist(cora) == [("denosumab_stopped", "high")]
    assert report.alerts_raised == 1
    with at_local(last_day + timedelta(days=3)):
        injection_watch()
    assert len(stopped_alerts(ann)) == 1


def test_a_follow_on_that_already_ended_does_not_cover_the_stop(world: World, ann: Patient, client_for) -> None:
    cora = client_for(world.cora)
    denosumab = stopped_denosumab(cora, ann)
    with at_local(date(2026, 2, 1)):
        create_schedule(cora, ann, "alendronate", date(2026, 2, 2), ends_on="2026-02-23")
    with at_local(STOP_DAY):
        patch_schedule(cora, ann, denosumab, status="stopped")
        injection_watch()
        assert worklist(cora) == [("denosumab_stopped", "high")]


@pytest.mark.parametrize(
    ("follow_on_starts", "alerts"),
    [
        # Next denosumab would have been due 2026-07-05; on time up to 28 days after (DOMAIN D4): 2026-08-02.
        (date(2026, 8, 2), []),
        (date(2026, 8, 3), [("denosumab_stopped", "high")]),
    ],
)
def test_a_planned_follow_on_covers_her_only_if_it_starts_while_denosumab_still_protects(
    world: World, ann: Patient, client_for, follow_on_starts: date, alerts: list[tuple[str, str]]
) -> None:
    cora = client_for(world.cora)
    denosumab = stopped_denosumab(cora, ann)
    with at_local(STOP_DAY):
        create_schedule(cora, ann, "zoledronic_acid", follow_on_starts)  # DOMAIN D7: the usual follow-on
        patch_schedule(cora, ann, denosumab, status="stopped")
        injection_watch()
        assert worklist(cora) == alerts


def test_a_late_planned_follow_on_resolves_the_alert_on_its_first_day(world: World, ann: Patient, client_for) -> None:
    cora = client_for(world.cora)
    denosumab = stopped_denosumab(cora, ann)
    with at_local(STOP_DAY):
        create_schedule(cora, ann, "alendronate", date(2026, 9, 7))
        patch_schedule(cora, ann, denosumab, status="stopped")
        injection_watch()
        assert worklist(cora) == [("denosumab_stopped", "high")]
    with at_local(date(2026, 9, 7), 0, 0):
        injection_watch()
        assert worklist(cora) == []


def test_denosumab_whose_course_ends_without_follow_on_is_stopped(world: World, ann: Patient, client_for) -> None:
    cora = client_for(world.cora)
    schedule_id = stopped_denosumab(cora, ann)  # given 2026-01-05: next due 2026-07-05
    with at_local(STOP_DAY):
        patch_schedule(cora, ann, schedule_id, ends_on="2026-06-30")  # the course ends before that
        injection_watch()
    with at_local(date(2026, 6, 30)):
        injection_watch()
        assert worklist(cora) == []
        shown = cora.get(f"/api/v1/patients/{ann.id}/schedules/{schedule_id}/").json()
        assert shown["injection_state"] == "due_soon"
    with at_local(date(2026, 7, 1), 0, 0):
        injection_watch()
        assert worklist(cora) == [("denosumab_stopped", "high")]
        shown = cora.get(f"/api/v1/patients/{ann.id}/schedules/{schedule_id}/").json()
        assert shown["injection_state"] == "stopped"


def test_stopping_a_late_denosumab_leaves_one_alert_not_two(world: World, ann: Patient, client_for) -> None:
    cora = client_for(world.cora)
    denosumab = stopped_denosumab(cora, ann)
    with at_local(date(2026, 8, 20)):  # 46 days after 2026-07-05: late
        injection_watch()
        assert worklist(cora) == [("denosumab_late", "high")]
        patch_schedule(cora, ann, denosumab, status="stopped")
        injection_watch()
        assert worklist(cora) == [("denosumab_stopped", "high")]


def test_zoledronic_acid_stopped_then_its_follow_on_stopped_alerts_too(world: World, ann: Patient, client_for) -> None:
    cora = client_for(world.cora)
    zoledronic = stopped_denosumab(cora, ann, code="zoledronic_acid")
    with at_local(STOP_DAY):
        follow_on = create_schedule(cora, ann, "alendronate", STOP_DAY)
        patch_schedule(cora, ann, zoledronic, status="stopped")
        injection_watch()
        assert worklist(cora) == []
        patch_schedule(cora, ann, follow_on, ends_on=(STOP_DAY + timedelta(days=7)).isoformat())
        assert worklist(cora) == []  # still covered this week
    with at_local(STOP_DAY + timedelta(days=8)):
        injection_watch()
        assert worklist(cora) == [("zoledronic_acid_stopped", "high")]


def test_two_stopped_denosumab_schedules_make_one_alert(world: World, ann: Patient, client_for) -> None:
    """Replacing a schedule (stop the old, start a new one) and then stopping the new one: one unprotected patient,
    one alert on the worklist."""
    cora = client_for(world.cora)
    old = stopped_denosumab(cora, ann)
    with at_local(STOP_DAY):
        new = create_schedule(cora, ann, "denosumab", date(2026, 7, 5))
        patch_schedule(cora, ann, old, status="stopped")
        injection_watch()
        assert worklist(cora) == []
        patch_schedule(cora, ann, new, status="stopped")
        injection_watch()
        assert worklist(cora) == [("denosumab_stopped", "high")]


def test_a_follow_on_deleted_in_the_admin_leaves_her_unprotected_and_raises_the_alert(
    world: World, ann: Patient, client_for
) -> None:
    cora = client_for(world.cora)
    denosumab = stopped_denosumab(cora, ann)
    admin = Client()
    admin.force_login(world.admin)
    with at_local(STOP_DAY):
        follow_on = create_schedule(cora, ann, "alendronate", STOP_DAY)
        patch_schedule(cora, ann, denosumab, status="stopped")
        injection_watch()
        assert worklist(cora) == []
        response = admin.post(f"/admin/medications/schedule/{follow_on}/delete/", {"post": "yes"})
        assert response.status_code == 302
        assert worklist(cora) == [("denosumab_stopped", "high")]


def test_dose_records_cannot_be_edited_or_deleted_behind_the_injection_watch(
    world: World, ann: Patient, client_for
) -> None:
    """A dose edited or deleted in the admin would leave the due date and its alerts stale (class 2's sibling)."""
    stopped_denosumab(client_for(world.cora), ann)
    dose = DoseRecord.objects.get(patient=ann)
    admin = Client()
    admin.force_login(world.admin)
    assert admin.get(f"/admin/medications/doserecord/{dose.id}/change/").status_code == 200  # still viewable
    response = admin.post(f"/admin/medications/doserecord/{dose.id}/change/", {"status": "skipped"})
    assert response.status_code == 403
    assert admin.post(f"/admin/medications/doserecord/{dose.id}/delete/", {"post": "yes"}).status_code == 403
    assert DoseRecord.objects.get(pk=dose.pk).status == "taken"


def stopped_finding(client: Any, schedule_id: str) -> list[str]:
    rows = client.get("/api/v1/reviews/").json()["results"]
    (row,) = [r for r in rows if str(r["id"]) == schedule_id]
    return [f["code"] for f in row["findings"] if f["code"] == "denosumab_stopped_without_follow_on"]


@pytest.mark.parametrize(
    ("follow_on", "expected"),
    [
        ({"code": "zoledronic_acid", "starts": date(2026, 8, 2)}, []),  # planned while denosumab still protects
        ({"code": "zoledronic_acid", "starts": date(2026, 8, 3)}, ["denosumab_stopped_without_follow_on"]),
        (
            {"code": "alendronate", "starts": date(2026, 2, 2), "ends": "2026-02-23"},
            ["denosumab_stopped_without_follow_on"],
        ),
    ],
)
def test_the_pharmacists_finding_judges_cover_as_the_alert_does(
    world: World, ann: Patient, client_for, follow_on: dict[str, Any], expected: list[str]
) -> None:
    cora = client_for(world.cora)
    denosumab = stopped_denosumab(cora, ann)
    with at_local(date(2026, 2, 1)):
        extra = {"ends_on": follow_on["ends"]} if "ends" in follow_on else {}
        create_schedule(cora, ann, follow_on["code"], follow_on["starts"], **extra)
    with at_local(STOP_DAY):
        patch_schedule(cora, ann, denosumab, status="stopped")
        injection_watch()
        assert stopped_finding(client_for(world.phil), denosumab) == expected
        assert bool(worklist(cora)) == bool(expected)


def test_an_open_ai_stopped_alert_does_not_hide_the_denosumab_stopped_alert(
    world: World, ann: Patient, client_for
) -> None:
    """Issue 15 review: the cancer treatment's stop (`ai_stopped`, T1) is another problem than the bone's (D5
    `stopped`): with one open, stopping denosumab without a follow-on still raises its own alert."""
    cora = client_for(world.cora)
    denosumab = stopped_denosumab(cora, ann)
    with at_local(STOP_DAY):
        stop = cora.post(
            f"/api/v1/patients/{ann.id}/ai-course/stop/",
            {"stopped_on": STOP_DAY.isoformat(), "reason": "own_decision"},
            format="json",
        )
        assert stop.status_code == 200, stop.content
        assert worklist(cora) == [("ai_stopped", "high")]
        patch_schedule(cora, ann, denosumab, status="stopped")
        injection_watch()
        assert sorted(worklist(cora)) == [("ai_stopped", "high"), ("denosumab_stopped", "high")]
