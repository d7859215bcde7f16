"""Appointments over REST: book, list, reschedule, cancel with a reason; schedules must be hers and of the right
route; times carry an offset; the patient reads hers, pharmacists read, only the care team writes; audited."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.appointments.models import Appointment
from backend.models import AuditEvent
from tests.appointments.factories import make_appointment
from tests.conftest import World
from tests.factories import make_schedule

URL = "/api/v1/patients/{}/appointments/"


def _in(days: float) -> str:
    return (timezone.now() + timedelta(days=days)).replace(microsecond=0).isoformat()


@pytest.fixture
def denosumab(world: World):
    return make_schedule(world.ann, "denosumab")


def test_coordinator_books_an_injection_and_the_patient_reads_it(world: World, client_for, denosumab) -> None:
    body = {"kind": "injection", "schedule": str(denosumab.id), "starts_at": _in(5), "location": "Room 4"}
    response = client_for(world.cora).post(URL.format(world.ann.id), body, format="json")
    assert response.status_code == 201, response.content
    created = response.json()
    assert (created["kind"], created["status"], created["medication_name"]) == ("injection", "booked", "Denosumab")
    assert created["readiness"]["ready"] is False  # nothing on record yet: the checklist says what is missing
    assert {item["code"] for item in created["readiness"]["items"]} == {
        "serum_calcium",
        "calcium_vitamin_d",
        "renal_function",
        "dental_check",
    }
    assert AuditEvent.objects.filter(resource="appointment", action="create", patient_id=world.ann.id).exists()

    mine = client_for(world.ann.user).get(URL.format(world.ann.id))
    assert mine.status_code == 200
    assert [row["id"] for row in mine.json()["results"]] == [created["id"]]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"starts_at": "2026-12-30T10:30:00"}, "starts_at"),  # naive: no offset
        ({"starts_at": "2026-12-30"}, "starts_at"),
        ({"schedule": None}, "schedule"),  # an injection names its schedule
        ({"kind": "dxa"}, "schedule"),  # a DXA names none
        ({"kind": "infusion"}, "schedule"),  # denosumab is not an infusion
        ({"starts_at": "2020-01-01T10:00:00Z"}, "starts_at"),  # in the past
        ({"kind": "surgery"}, "kind"),
        ({"colour": "red"}, "colour"),  # unknown field
    ],
)
def test_bad_bookings_are_400_and_write_nothing(world: World, client_for, denosumab, changes, field) -> None:
    body = {"kind": "injection", "schedule": str(denosumab.id), "starts_at": _in(5), **changes}
    response = client_for(world.cora).post(URL.format(world.ann.id), body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]
    assert not Appointment.objects.exists()


def test_another_patients_schedule_is_refused(world: World, client_for) -> None:
    theirs = make_schedule(world.bea, "denosumab")
    body = {"kind": "injection", "schedule": str(theirs.id), "starts_at": _in(5)}
    response = client_for(world.cora).post(URL.format(world.ann.id), body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["schedule"] == ["No such schedule for this patient."]


def test_patient_and_pharmacist_cannot_book(world: World, client_for, denosumab) -> None:
    body = {"kind": "visit", "starts_at": _in(5)}
    for who in (world.ann.user, world.phil):
        assert client_for(who).post(URL.format(world.ann.id), body, format="json").status_code == 403
    assert client_for(world.phil).get(URL.format(world.ann.id)).status_code == 200


def test_reschedule_and_cancel_with_a_reason_which_stays_listed(world: World, client_for) -> None:
    appointment = make_appointment(world.ann)
    cora = client_for(world.cora)
    detail = f"{URL.format(world.ann.id)}{appointment.id}/"
    new_time = _in(12)
    moved = cora.patch(detail, {"starts_at": new_time, "location": "Room 9"}, format="json")
    assert moved.status_code == 200, moved.content
    assert moved.json()["location"] == "Room 9"
    assert moved.json()["starts_at"].startswith(new_time[:16])
    assert cora.patch(detail, {"starts_at": "2026-12-30T10:30"}, format="json").status_code == 400

    assert cora.post(f"{detail}cancel/", {"reason": "  "}, format="json").status_code == 400
    cancelled = cora.post(f"{detail}cancel/", {"reason": "She moved to another clinic"}, format="json")
    assert cancelled.status_code == 200
    assert (cancelled.json()["status"], cancelled.json()["cancel_reason"]) == (
        "cancelled",
        "She moved to another clinic",
    )
    assert cancelled.json()["readiness"] is None
    listed = cora.get(URL.format(world.ann.id)).json()["results"]
    assert [(row["status"], row["cancel_reason"]) for row in listed] == [("cancelled", "She moved to another clinic")]
    assert cora.get(URL.format(world.ann.id), {"status": "booked"}).json()["results"] == []
    # A cancelled appointment does not change any more.
    assert cora.patch(detail, {"note": "x"}, format="json").status_code == 400
    assert cora.post(f"{detail}cancel/", {"reason": "again"}, format="json").status_code == 400


def test_another_organisations_appointment_is_404(world: World, client_for) -> None:
    theirs = make_appointment(world.zoe)
    response = client_for(world.cora).get(f"{URL.format(world.ann.id)}{theirs.id}/")
    assert response.status_code == 404
    response = client_for(world.cora).post(
        f"{URL.format(world.ann.id)}{theirs.id}/cancel/", {"reason": "x"}, format="json"
    )
    assert response.status_code == 404
    assert Appointment.objects.get(pk=theirs.pk).status == "booked"


def test_dental_checks_are_recorded_by_staff(world: World, client_for) -> None:
    url = f"/api/v1/patients/{world.ann.id}/dental-checks/"
    today = timezone.localdate().isoformat()
    assert client_for(world.ann.user).post(url, {"checked_on": today}, format="json").status_code == 403
    response = client_for(world.cora).post(url, {"checked_on": today, "note": "No issues"}, format="json")
    assert response.status_code == 201, response.content
    future = (timezone.localdate() + timedelta(days=3)).isoformat()
    assert client_for(world.cora).post(url, {"checked_on": future}, format="json").status_code == 400
    assert [row["note"] for row in client_for(world.ann.user).get(url).json()["results"]] == ["No issues"]
