"""Query counts per endpoint stay constant as rows grow (no N+1)."""

from collections.abc import Callable

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import World
from tests.factories import BoneDensityFactory, CareTeamFactory, LabFactory, PatientFactory


def count_queries(call: Callable[[], object]) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = call()
    assert getattr(response, "status_code", 200) == 200
    return len(ctx.captured_queries)


def grow_patients(world: World, n: int) -> None:
    for _ in range(n):
        CareTeamFactory.create(patient=PatientFactory.create(organisation=world.org_a), staff=world.cora)


@pytest.mark.parametrize("who", ["cora", "phil", "admin"])
def test_patient_list_queries_do_not_grow(world: World, client_for, who: str) -> None:
    client = client_for(getattr(world, who))
    small = count_queries(lambda: client.get("/api/v1/patients/"))
    grow_patients(world, 15)
    large = count_queries(lambda: client.get("/api/v1/patients/"))
    assert large == small
    assert small <= 4  # count, page, audit insert: nothing per patient


def test_patient_detail_and_bone_health_are_a_handful_of_queries(world: World, client_for) -> None:
    client = client_for(world.cora)
    for _ in range(10):
        BoneDensityFactory.create(patient=world.ann)
    assert count_queries(lambda: client.get(f"/api/v1/patients/{world.ann.id}/")) <= 4
    assert count_queries(lambda: client.get(f"/api/v1/patients/{world.ann.id}/bone-health/")) <= 5


@pytest.mark.parametrize(("path", "factory"), [("bone-density", BoneDensityFactory), ("labs", LabFactory)])
def test_result_lists_do_not_grow(world: World, client_for, path: str, factory) -> None:
    client = client_for(world.cora)
    url = f"/api/v1/patients/{world.ann.id}/{path}/"
    factory.create(patient=world.ann)
    small = count_queries(lambda: client.get(url))
    for _ in range(20):
        factory.create(patient=world.ann)
    assert count_queries(lambda: client.get(url)) == small


def test_care_team_and_staff_lists_do_not_grow(world: World, client_for) -> None:
    client = client_for(world.admin)
    small = (
        count_queries(lambda: client.get("/api/v1/care-team/")),
        count_queries(lambda: client.get("/api/v1/staff/")),
    )
    grow_patients(world, 10)
    large = (
        count_queries(lambda: client.get("/api/v1/care-team/")),
        count_queries(lambda: client.get("/api/v1/staff/")),
    )
    assert large == small


def test_review_queue_queries_do_not_grow_with_patients(world: World, client_for) -> None:
    """Issue 14 (9): each item carries labs, other schedules, supplement plans and decisions, in a fixed number of
    queries whatever the number of patients on the page."""
    from datetime import time
    from decimal import Decimal

    from tests.factories import make_schedule
    from tests.supplements.factories import make_plan

    def add_patient() -> None:
        patient = PatientFactory.create(organisation=world.org_a)
        CareTeamFactory.create(patient=patient, staff=world.cora)
        for kind, value in (("crcl", "48"), ("egfr", "52"), ("serum_calcium", "9.4"), ("vitamin_d_25oh", "30")):
            LabFactory.create(patient=patient, kind=kind, value=Decimal(value))
        make_plan(patient, times_of_day=[time(8, 0)])
        make_schedule(patient, "letrozole")
        schedule = make_schedule(patient, "alendronate")
        client_for(world.phil).post(
            f"/api/v1/reviews/{schedule.id}/", {"decision": "request_changes", "note": "Time?"}, format="json"
        )
        from apps.medications.services import schedule_update

        schedule_update(actor=world.cora, schedule=schedule, local_time=time(6, 30))

    client = client_for(world.phil)
    for _ in range(2):
        add_patient()
    small = count_queries(lambda: client.get("/api/v1/reviews/"))
    for _ in range(6):
        add_patient()
    response = client.get("/api/v1/reviews/")
    assert len(response.json()["results"]) == 16
    assert all(
        row["decisions"] and row["labs"]["crcl"]
        for row in response.json()["results"]
        if row["medication_code"] == "alendronate"
    )
    assert count_queries(lambda: client.get("/api/v1/reviews/")) == small
    assert count_queries(lambda: client.get("/api/v1/reviews/?severity=none&severity=low")) <= small + 4


def test_appointment_list_with_readiness_does_not_grow(world: World, client_for) -> None:
    from tests.appointments.factories import make_appointment
    from tests.factories import make_schedule

    schedule = make_schedule(world.ann, "denosumab")
    client = client_for(world.cora)
    url = f"/api/v1/patients/{world.ann.id}/appointments/"
    make_appointment(world.ann, schedule=schedule)
    LabFactory.create(patient=world.ann)
    small = count_queries(lambda: client.get(url))
    for _ in range(10):
        make_appointment(world.ann, schedule=schedule)
        make_appointment(world.ann, kind="lab")
    assert len(client.get(url).json()["results"]) == 21
    assert count_queries(lambda: client.get(url)) == small <= 12


def test_alert_list_and_contact_history_do_not_grow(world: World, client_for) -> None:
    """Issue 14: the alert list with last contacts, filters and search, and an alert's contact attempts."""
    import uuid
    from datetime import date, timedelta
    from functools import partial

    from apps.alerts.services import alert_raise, contact_attempt_record

    def raise_with_contacts(patient, n: int):
        alert = alert_raise(patient=patient, kind="t", severity="high", message="m", episode=uuid.uuid4().hex)
        assert alert is not None
        for i in range(n):
            contact_attempt_record(
                alert=alert,
                actor=world.cora,
                channel="phone",
                outcome="no_answer",
                follow_up_on=date.today() + timedelta(days=2) if i % 2 else None,
            )
        return alert

    client = client_for(world.cora)
    first = raise_with_contacts(world.ann, 1)
    urls = [
        "/api/v1/alerts/",
        "/api/v1/alerts/?q=archer&waiting=false&level=low&sort=name",
        f"/api/v1/alerts/{first.id}/contacts/",
    ]

    def counts() -> list[int]:
        return [count_queries(partial(client.get, url)) for url in urls]

    small = counts()
    for _ in range(6):
        patient = PatientFactory.create(organisation=world.org_a, user__full_name="Ann Archer-Twin")
        CareTeamFactory.create(patient=patient, staff=world.cora)
        raise_with_contacts(patient, 3)
    for _ in range(6):
        contact_attempt_record(alert=first, actor=world.cora, channel="sms", outcome="left_message")
    assert counts() == small
    assert max(small) <= 4  # count, page (last contact and waiting in the same query), audit insert


@pytest.mark.parametrize("who", ["ann", "cora"])
def test_check_in_list_and_trend_do_not_grow_with_her_check_ins(world: World, client_for, who: str) -> None:
    """Issue 15: the list is a page; the trend judges her whole history from one query."""
    from datetime import timedelta

    from django.utils import timezone

    from tests.joint_pain.factories import make_check_in

    client = client_for(world.ann.user if who == "ann" else world.cora)
    base = f"/api/v1/patients/{world.ann.id}/check-ins/"
    now = timezone.now()
    for weeks_ago in (30, 29):
        make_check_in(world.ann, now - timedelta(weeks=weeks_ago), 2)
    small = [count_queries(lambda: client.get(base)), count_queries(lambda: client.get(f"{base}trend/"))]
    for weeks_ago in range(28, 0, -1):
        make_check_in(world.ann, now - timedelta(weeks=weeks_ago), weeks_ago % 8)
    large = [count_queries(lambda: client.get(base)), count_queries(lambda: client.get(f"{base}trend/"))]
    assert client.get(f"{base}trend/").json()["points"][-1]["worst_pain"] == 1
    assert large == small
    assert small[1] <= 3  # the trend: patient in scope, check-ins, audit insert


def test_ai_course_stop_and_resume_are_a_handful_of_queries(world: World, client_for) -> None:
    """Issue 15: recording a stop (its alert, her AI schedules stopped) and a restart do not grow with her records."""
    from tests.factories import make_schedule

    client = client_for(world.ann.user)
    stop_url = f"/api/v1/patients/{world.ann.id}/ai-course/stop/"
    resume_url = f"/api/v1/patients/{world.ann.id}/ai-course/resume/"
    body = {"stopped_on": "2026-01-10", "reason": "joint_pain"}

    def stop() -> object:
        return client.post(stop_url, body, format="json")

    stop()  # warm: the first request of a session reads what later ones have cached
    client.post(resume_url)
    small = count_queries(stop)
    count_queries(lambda: client.post(resume_url))
    for _ in range(10):
        BoneDensityFactory.create(patient=world.ann)
        LabFactory.create(patient=world.ann)
    make_schedule(world.ann, "alendronate")  # a bone medicine: not touched by the stop
    assert count_queries(stop) == small
    assert count_queries(lambda: client.post(resume_url)) <= 12
    assert count_queries(lambda: client.get(f"/api/v1/patients/{world.ann.id}/")) <= 4  # the course: no query
