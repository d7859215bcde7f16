"""The aromatase inhibitor on the console (issue 15): its own 90-day adherence and planned course on the patient
page, an "AI adherence" column and filter on the patient list (and the API's list), its alerts named in the worklist's
kind filter; query counts that do not grow."""

import re
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.accounts.models import Patient
from apps.alerts.jobs import low_adherence_watch
from apps.medications.models import Schedule
from apps.medications.services import adherence_deferred
from apps.profiles.models import PatientProfile
from tests.conftest import World
from tests.factories import CareTeamFactory, PatientFactory, make_dose, make_schedule

LONDON = ZoneInfo("Europe/London")
TODAY = date(2026, 6, 15)
NOW = datetime.combine(TODAY, time(12), tzinfo=LONDON)
STARTS = TODAY - timedelta(days=100)


@pytest.fixture(autouse=True)
def _today() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


def letrozole_taken_for(patient: Patient, days: int) -> Schedule:
    """A daily letrozole since STARTS, taken on its first day and on the `days` days before today: days/90."""
    schedule = make_schedule(patient, "letrozole", starts_on=STARTS)
    with adherence_deferred():
        for day in [STARTS, *(TODAY - timedelta(days=k) for k in range(1, days + 1))]:
            make_dose(patient, schedule, taken_at=datetime.combine(day, time(8), tzinfo=LONDON))
    return schedule


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_patient_page_shows_the_ai_adherence_and_course(world: World, console_for) -> None:
    letrozole_taken_for(world.ann, 69)  # 69 of 90 days: 76.6 %
    PatientProfile.objects.filter(pk=world.ann.pk).update(ai_planned_years=5)
    page = console_for(world.cora).get(f"/console/patients/{world.ann.pk}/").content.decode()
    card = text_of(page.split('id="profile-h"')[1].split("</section>")[0])
    assert "Aromatase inhibitor Letrozole 2.5 mg, since 1 Mar 2024" in card
    assert "AI adherence (90 days) Letrozole: 76.6%" in card
    assert "her cancer treatment is slipping ( P1 )" in card
    assert "Planned course 5 years, to 1 Mar 2029 2.2 years completed, 2.8 remaining ( T1 )" in card
    assert "AI stopped" not in card


def test_the_patient_page_shows_a_recorded_stop_and_nothing_planned(world: World, console_for, client_for) -> None:
    response = client_for(world.ann.user).post(
        f"/api/v1/patients/{world.ann.id}/ai-course/stop/",
        {"stopped_on": "2026-06-10", "reason": "own_decision"},
        format="json",
    )
    assert response.status_code == 200
    card = text_of(
        console_for(world.cora).get(f"/console/patients/{world.ann.pk}/").content.decode().split('id="profile-h"')[1]
    )
    assert "AI adherence (90 days) no aromatase-inhibitor schedule" in card
    assert "Planned course not recorded 2.2 years completed ( T1 )" in card
    assert "AI stopped on 10 Jun 2026 : her own decision" in card


def test_the_patient_list_has_an_ai_adherence_column_and_filter(world: World, console_for) -> None:
    letrozole_taken_for(world.ann, 69)  # 0.766
    bone = make_schedule(world.bea, "alendronate", starts_on=STARTS)  # a bone medicine taken once: low, not the AI
    make_dose(world.bea, bone, taken_at=datetime.combine(STARTS, time(8), tzinfo=LONDON))
    low_adherence_watch()
    cora = console_for(world.phil)  # the pharmacist sees both of org A's patients
    listing = cora.get("/console/patients/").content.decode()
    assert "AI adherence (90 days)" in listing
    rows = {
        name: text_of(row) for row in listing.split("<tr>")[2:] for name in ("Ann Archer", "Bea Baker") if name in row
    }
    assert "76.6%" in rows["Ann Archer"]
    assert "no AI schedule" in rows["Bea Baker"]

    def listed(query: str) -> set[str]:
        response = cora.get(f"/console/patients/?{query}")
        assert response.status_code == 200
        return {name for name in ("Ann Archer", "Bea Baker") if name in response.content.decode()}

    assert listed("ai_adherence_below=77") == {"Ann Archer"}
    assert listed("ai_adherence_below=76") == set()  # 76.6 % is not below 76 %
    assert listed("adherence_below=80") == {"Ann Archer", "Bea Baker"}  # any medicine
    assert cora.get("/console/patients/?ai_adherence_below=101").status_code == 400


def test_the_api_list_filters_on_ai_adherence(world: World, client_for) -> None:
    letrozole_taken_for(world.ann, 69)  # 0.766
    make_schedule(world.bea, "alendronate", starts_on=STARTS)
    low_adherence_watch()
    phil = client_for(world.phil)

    def listed(threshold: str) -> set[str]:
        response = phil.get(f"/api/v1/patients/?ai_adherence_below={threshold}")
        assert response.status_code == 200, response.content
        return {row["email"] for row in response.json()["results"]}

    assert listed("0.767") == {"ann@example.org"}
    assert listed("0.766") == set()  # strictly below
    assert listed("1") == {"ann@example.org"}  # Bea has no AI schedule
    for bad in ("1.1", "-0.1", "80", "x"):
        response = phil.get(f"/api/v1/patients/?ai_adherence_below={bad}")
        assert response.status_code == 400, bad
        assert "ai_adherence_below" in response.json()["error"]["fields"]


def test_the_worklist_names_the_ai_alert_kinds(world: World, console_for, client_for) -> None:
    letrozole_taken_for(world.ann, 40)
    low_adherence_watch()
    client_for(world.ann.user).post(
        f"/api/v1/patients/{world.ann.id}/ai-course/stop/",
        {"stopped_on": "2026-06-15", "reason": "joint_pain"},
        format="json",
    )
    page = console_for(world.cora).get("/console/worklist/").content.decode()
    assert '<option value="ai_stopped">Aromatase inhibitor stopped</option>' in page
    assert '<option value="ai_adherence_low">Aromatase inhibitor adherence low</option>' in page
    filtered = console_for(world.cora).get("/console/worklist/?kind=ai_stopped").content.decode()
    assert "stopped on 15 June 2026" in filtered and "Her cancer treatment is slipping" not in filtered


def _queries(client: Any, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_the_lists_with_the_ai_filter_do_not_grow(world: World, console_for, client_for) -> None:
    letrozole_taken_for(world.ann, 60)
    low_adherence_watch()
    console, api = console_for(world.cora), client_for(world.cora)
    urls = ("/console/patients/?ai_adherence_below=90", "/console/patients/")
    small = [_queries(console, u) for u in urls] + [_queries(api, "/api/v1/patients/?ai_adherence_below=0.9")]
    for _ in range(6):
        patient = PatientFactory.create(organisation=world.org_a)
        CareTeamFactory.create(patient=patient, staff=world.cora)
        letrozole_taken_for(patient, 50)
    low_adherence_watch()
    large = [_queries(console, u) for u in urls] + [_queries(api, "/api/v1/patients/?ai_adherence_below=0.9")]
    assert large == small
    page = _queries(console, f"/console/patients/{world.ann.pk}/")
    letrozole_taken_for(world.ann, 10)  # a second AI schedule adds no query to the patient page's AI lines
    assert _queries(console, f"/console/patients/{world.ann.pk}/") <= page + 2
