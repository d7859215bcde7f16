"""The review queue page shows what the pharmacist needs to judge (issue 14, point 9): labs with dates, her other
active medicines and supplement plans, previous decisions; a severity filter; several schedules verified at once."""

from datetime import date, time
from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.medications.models import ReviewDecision, Schedule
from apps.medications.services import schedule_update
from backend.models import AuditEvent
from tests.conftest import World
from tests.factories import CareTeamFactory, LabFactory, PatientFactory, make_schedule
from tests.supplements.factories import make_plan


def card(html: str, schedule: Schedule) -> str:
    start = html.index(f'data-schedule="{schedule.pk}"')
    end = html.find("</article>", start)
    return html[start:end]


def test_each_card_shows_labs_medicines_plans_and_decisions(world: World, console_for) -> None:
    LabFactory.create(patient=world.ann, kind="egfr", value=Decimal("28"), measured_on=date(2026, 2, 1))
    LabFactory.create(
        patient=world.ann, kind="serum_calcium", value=Decimal("2.31"), unit="mmol/L", measured_on=date(2026, 2, 3)
    )
    make_schedule(world.ann, "letrozole")
    make_plan(world.ann, supplement="calcium_citrate", amount=Decimal("500"), times_of_day=[time(8, 0)])
    denosumab = make_schedule(world.ann, "denosumab")
    phil = console_for(world.phil)
    phil.post(
        f"/console/reviews/{denosumab.pk}/",
        {f"{denosumab.pk}-decision": "request_changes", f"{denosumab.pk}-note": "Add vitamin D first."},
    )
    schedule_update(actor=world.cora, schedule=denosumab, local_time=time(9, 0))

    html = card(phil.get("/console/reviews/").content.decode(), denosumab)
    assert "eGFR" in html and "28 mL/min/1.73m2" in html and "1 Feb 2026" in html
    assert "2.31 mmol/L" in html and "3 Feb 2026" in html
    assert "Creatinine clearance" in html and "none on record" in html
    assert "rule-D6" in html  # the rule that reads the lab, linked
    assert "Letrozole" in html
    assert "Calcium citrate 500 mg at 08:00" in html
    assert "Changes requested" in html and "Add vitamin D first." in html


def test_severity_filter(world: World, console_for) -> None:
    make_schedule(world.ann, "alendronate")
    flagged = make_schedule(world.ann, "denosumab")
    clean = make_schedule(world.bea, "letrozole")
    phil = console_for(world.phil)
    high = phil.get("/console/reviews/?severity=high").content.decode()
    assert f'data-schedule="{flagged.pk}"' in high and f'data-schedule="{clean.pk}"' not in high
    none = phil.get("/console/reviews/?severity=none").content.decode()
    assert f'data-schedule="{clean.pk}"' in none and f'data-schedule="{flagged.pk}"' not in none
    # Only schedules with no finding can be ticked for verifying together.
    everything = phil.get("/console/reviews/").content.decode()
    assert 'form="bulk-verify"' in card(everything, clean)
    assert 'form="bulk-verify"' not in card(everything, flagged)


def test_verify_several_at_once(world: World, console_for) -> None:
    first, second = make_schedule(world.ann, "letrozole"), make_schedule(world.bea, "exemestane")
    response = console_for(world.phil).post(
        "/console/reviews/verify/", {"schedules": [str(first.pk), str(second.pk)], "note": "Usual doses."}
    )
    assert response.status_code == 302
    for schedule in (first, second):
        schedule.refresh_from_db()
        assert schedule.review_status == "verified"
        assert ReviewDecision.objects.get(schedule=schedule).note == "Usual doses."
        assert AuditEvent.objects.filter(resource="review", action="update", object_id=str(schedule.pk)).exists()


def test_verify_several_refused_when_one_has_a_finding(world: World, console_for) -> None:
    clean = make_schedule(world.bea, "letrozole")
    make_schedule(world.ann, "alendronate")
    flagged = make_schedule(world.ann, "denosumab")
    response = console_for(world.phil).post("/console/reviews/verify/", {"schedules": [str(clean.pk), str(flagged.pk)]})
    assert response.status_code == 400
    assert "Nothing was verified" in response.content.decode()
    assert "Denosumab for Ann Archer" in response.content.decode()
    assert not ReviewDecision.objects.exists()
    assert not AuditEvent.objects.filter(resource="review", action="update").exists()


def test_verify_several_out_of_scope_is_404_and_nothing_written(world: World, console_for) -> None:
    ours, theirs = make_schedule(world.zoe, "letrozole"), make_schedule(world.ann, "letrozole")
    response = console_for(world.pia).post("/console/reviews/verify/", {"schedules": [str(ours.pk), str(theirs.pk)]})
    assert response.status_code == 404
    assert not ReviewDecision.objects.exists()
    assert AuditEvent.objects.filter(action="denied", object_id=str(theirs.pk)).exists()


def test_queue_page_queries_do_not_grow_with_patients(world: World, console_for) -> None:
    def add_patient() -> None:
        patient = PatientFactory.create(organisation=world.org_a)
        CareTeamFactory.create(patient=patient, staff=world.cora)
        LabFactory.create(patient=patient, kind="crcl", value=Decimal("48"))
        make_plan(patient, times_of_day=[time(8, 0)])
        make_schedule(patient, "letrozole")

    phil = console_for(world.phil)
    add_patient()
    phil.get("/console/reviews/")  # sessions and the like warmed up
    with CaptureQueriesContext(connection) as small:
        assert phil.get("/console/reviews/").status_code == 200
    for _ in range(6):
        add_patient()
    with CaptureQueriesContext(connection) as large:
        assert phil.get("/console/reviews/").status_code == 200
    assert len(large.captured_queries) == len(small.captured_queries)
