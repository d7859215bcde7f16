"""The denosumab off-ramp (issue 15 part 4; DOMAIN D7 with D5 `stopped`) through the API as the care team uses it:
GET /api/v1/patients/{id}/off-ramp/ shows the follow-on's target date, the follow-on found and whether it starts in
time, and agrees with the one `stopped` alert on every boundary. Time travel in the patient's own zone."""

from datetime import date, timedelta
from typing import Any

import pytest

from apps.accounts.models import Patient
from apps.alerts.jobs import injection_watch
from backend.models import AuditEvent
from tests.alerts.test_stopped_follow_on import (
    START,
    STOP_DAY,
    at_local,
    create_schedule,
    patch_schedule,
    stopped_alerts,
    stopped_denosumab,
    worklist,
)
from tests.conftest import World
from tests.test_query_counts import count_queries

# Given 2026-01-05 (stopped_denosumab): follow-on due by 2026-07-05 (D7), protected to 2026-08-02 (D4/D5: 28 days).
TARGET = date(2026, 7, 5)
PROTECTED = date(2026, 8, 2)


@pytest.fixture
def ann(world: World) -> Patient:
    world.ann.profile.timezone = "America/Los_Angeles"
    world.ann.profile.save()
    return world.ann


def off_ramp(client: Any, patient: Patient) -> list[dict[str, Any]]:
    response = client.get(f"/api/v1/patients/{patient.id}/off-ramp/")
    assert response.status_code == 200, response.content
    return list(response.json())


def test_stopped_denosumab_with_zoledronic_acid_in_time(world: World, ann: Patient, client_for) -> None:
    cora = client_for(world.cora)
    denosumab = stopped_denosumab(cora, ann)
    with at_local(STOP_DAY):
        zoledronic = create_schedule(cora, ann, "zoledronic_acid", date(2026, 7, 10), dose="4 mg")
        create_schedule(cora, ann, "letrozole", START)  # not an anti-resorptive: never a follow-on
        patch_schedule(cora, ann, denosumab, status="stopped")
        injection_watch()
        (ramp,) = off_ramp(cora, ann)
        assert worklist(cora) == []
    assert ramp == {
        "schedule": denosumab,
        "medication_code": "denosumab",
        "schedule_status": "stopped",
        "ends_on": None,
        "stopped": True,
        "stops_on": None,
        "last_given": "2026-01-05",
        "last_injection_on": "2026-01-05",
        "target_on": "2026-07-05",
        "protected_until": "2026-08-02",
        "follow_on": {
            "schedule": zoledronic,
            "medication_code": "zoledronic_acid",
            "medication_name": "Zoledronic acid",
            "starts_on": "2026-07-10",
            "ends_on": None,
        },
        "follow_ons": [
            {
                "schedule": zoledronic,
                "medication_code": "zoledronic_acid",
                "medication_name": "Zoledronic acid",
                "starts_on": "2026-07-10",
                "ends_on": None,
            }
        ],
        "follow_on_found": True,
        "in_time": True,
        "status": "covered",
        "rule": "D7",
        "alert_rule": "D5",
    }
    assert AuditEvent.objects.filter(resource="off_ramp", patient_id=ann.pk, action="read").exists()


@pytest.mark.parametrize(
    ("starts_on", "in_time", "status", "alerts"),
    [
        (PROTECTED - timedelta(days=1), True, "covered", []),
        (PROTECTED, True, "covered", []),  # the last day the stopped denosumab protects her
        (PROTECTED + timedelta(days=1), False, "needs_follow_on", [("denosumab_stopped", "high")]),
    ],
)
def test_the_off_ramp_and_the_stopped_alert_agree_on_the_last_protected_day(
    world: World, ann: Patient, client_for, starts_on: date, in_time: bool, status: str, alerts: list[Any]
) -> None:
    cora = client_for(world.cora)
    denosumab = stopped_denosumab(cora, ann)
    with at_local(STOP_DAY):
        create_schedule(cora, ann, "zoledronic_acid", starts_on, dose="4 mg")
        patch_schedule(cora, ann, denosumab, status="stopped")
        injection_watch()
        (ramp,) = off_ramp(cora, ann)
        assert (ramp["in_time"], ramp["status"], ramp["follow_on"]["starts_on"]) == (
            in_time,
            status,
            starts_on.isoformat(),
        )
        assert worklist(cora) == alerts


def test_stopped_without_follow_on_needs_one_then_lapses_with_one_alert(world: World, ann: Patient, client_for):
    cora = client_for(world.cora)
    denosumab = stopped_denosumab(cora, ann)
    with at_local(STOP_DAY):
        patch_schedule(cora, ann, denosumab, status="stopped")
        injection_watch()
        (ramp,) = off_ramp(cora, ann)
        assert (ramp["status"], ramp["follow_on"], ramp["follow_on_found"], ramp["in_time"]) == (
            "needs_follow_on",
            None,
            False,
            None,
        )
        assert worklist(cora) == [("denosumab_stopped", "high")]
    with at_local(PROTECTED, 23, 59):
        injection_watch()
        assert off_ramp(cora, ann)[0]["status"] == "needs_follow_on"
    with at_local(PROTECTED + timedelta(days=1), 0, 0):
        injection_watch()
        assert off_ramp(cora, ann)[0]["status"] == "lapsed"
        assert worklist(cora) == [("denosumab_stopped", "high")]  # the same alert, not a second kind
    assert len(stopped_alerts(ann)) == 1


def test_a_planned_end_reached_without_follow_on_raises_the_stopped_alert_the_day_after(
    world: World, ann: Patient, client_for
) -> None:
    """The AI course ends and the team plans to stop denosumab: ends_on before the next injection."""
    cora = client_for(world.cora)
    denosumab = stopped_denosumab(cora, ann)
    ends_on = date(2026, 6, 30)
    with at_local(STOP_DAY):
        patch_schedule(cora, ann, denosumab, ends_on=ends_on.isoformat())
        injection_watch()
        (ramp,) = off_ramp(cora, ann)
        assert (ramp["stopped"], ramp["stops_on"], ramp["target_on"], ramp["status"]) == (
            False,
            "2026-07-01",
            TARGET.isoformat(),
            "needs_follow_on",
        )
        assert worklist(cora) == []  # planned: no alert before the stop
    with at_local(ends_on, 23, 59):
        injection_watch()
        assert worklist(cora) == []
    with at_local(ends_on + timedelta(days=1), 0, 0):  # her midnight in Los Angeles: the watch's next check
        assert injection_watch().alerts_raised == 1
        assert worklist(cora) == [("denosumab_stopped", "high")]
        (ramp,) = off_ramp(cora, ann)
        assert (ramp["stopped"], ramp["status"]) == (True, "needs_follow_on")
    with at_local(date(2026, 7, 6)):
        create_schedule(cora, ann, "zoledronic_acid", date(2026, 7, 20), dose="4 mg")
        assert worklist(cora) == []  # resolved at once: the follow-on starts in time
        assert off_ramp(cora, ann)[0]["status"] == "covered"


def test_a_planned_end_with_a_follow_on_in_time_is_planned_and_never_alerts(world: World, ann: Patient, client_for):
    cora = client_for(world.cora)
    denosumab = stopped_denosumab(cora, ann)
    with at_local(STOP_DAY):
        patch_schedule(cora, ann, denosumab, ends_on="2026-06-30")
        create_schedule(cora, ann, "zoledronic_acid", TARGET, dose="4 mg")
        (ramp,) = off_ramp(cora, ann)
        assert (ramp["status"], ramp["in_time"]) == ("planned", True)
    with at_local(date(2026, 7, 1), 0, 0):
        injection_watch()
        assert worklist(cora) == []
        assert off_ramp(cora, ann)[0]["status"] == "covered"


def test_a_planned_end_years_ahead_counts_the_injections_still_to_come(world: World, ann: Patient, client_for):
    cora = client_for(world.cora)
    denosumab = stopped_denosumab(cora, ann)
    with at_local(STOP_DAY):
        patch_schedule(cora, ann, denosumab, ends_on="2027-03-01")  # 2026-07-05 and 2027-01-05 still given
        (ramp,) = off_ramp(cora, ann)
    assert (ramp["last_given"], ramp["last_injection_on"], ramp["target_on"]) == (
        "2026-01-05",
        "2027-01-05",
        "2027-07-05",
    )


def test_stopped_with_no_injection_counts_from_its_first_due_date(world: World, ann: Patient, client_for) -> None:
    cora = client_for(world.cora)
    with at_local(START):
        denosumab = create_schedule(cora, ann, "denosumab", date(2026, 2, 10))
        patch_schedule(cora, ann, denosumab, status="stopped")
        injection_watch()
        (ramp,) = off_ramp(cora, ann)
        assert (ramp["last_given"], ramp["target_on"], ramp["protected_until"], ramp["status"]) == (
            None,
            "2026-02-10",
            "2026-03-10",
            "needs_follow_on",
        )
        assert worklist(cora) == [("denosumab_stopped", "high")]


def test_only_denosumab_that_stops_or_ends_is_listed(world: World, ann: Patient, client_for) -> None:
    cora = client_for(world.cora)
    with at_local(START):
        create_schedule(cora, ann, "denosumab", START)  # active, no planned end
        zoledronic = create_schedule(cora, ann, "zoledronic_acid", START, dose="4 mg")
        patch_schedule(cora, ann, zoledronic, status="stopped")  # D5/Z1 stopped, but no D7 off-ramp
        assert off_ramp(cora, ann) == []


@pytest.mark.parametrize(("who", "code"), [("cora", 200), ("phil", 200), ("admin", 200), ("cody", 404), ("zed", 404),
                                           ("pia", 404)])  # fmt: skip
def test_scope_per_role(world: World, ann: Patient, client_for, who: str, code: int) -> None:
    stopped_denosumab(client_for(world.cora), ann)
    response = client_for(getattr(world, who)).get(f"/api/v1/patients/{ann.id}/off-ramp/")
    assert response.status_code == code
    if code == 404:
        assert set(response.json()) == {"error"}


def test_the_patient_reads_her_own_off_ramp_and_nobody_elses(world: World, ann: Patient, client_for) -> None:
    stopped_denosumab(client_for(world.cora), ann)
    assert client_for(ann.user).get(f"/api/v1/patients/{ann.id}/off-ramp/").status_code == 200
    assert client_for(world.bea.user).get(f"/api/v1/patients/{ann.id}/off-ramp/").status_code == 404


def test_queries_do_not_grow_with_schedules(world: World, ann: Patient, client_for) -> None:
    cora = client_for(world.cora)
    denosumab = stopped_denosumab(cora, ann)
    url = f"/api/v1/patients/{ann.id}/off-ramp/"
    with at_local(STOP_DAY):
        patch_schedule(cora, ann, denosumab, status="stopped")
        create_schedule(cora, ann, "zoledronic_acid", date(2026, 7, 10), dose="4 mg")
        small = count_queries(lambda: cora.get(url))
        for n in range(3):
            other = create_schedule(cora, ann, "denosumab", START + timedelta(days=n))
            patch_schedule(cora, ann, other, ends_on=(STOP_DAY + timedelta(days=30 * (n + 1))).isoformat())
            create_schedule(cora, ann, "alendronate", STOP_DAY + timedelta(days=n))
        assert len(off_ramp(cora, ann)) == 4
        assert count_queries(lambda: cora.get(url)) == small
    assert small <= 6


def test_the_off_ramp_is_in_the_openapi_schema(world: World, client_for) -> None:
    schema = client_for(world.cora).get("/api/schema/?format=json")
    assert schema.status_code == 200, schema.status_code
    operation = schema.json()["paths"]["/api/v1/patients/{patient_id}/off-ramp/"]["get"]
    assert "D7" in operation["summary"]
