"""The booking list (DOMAIN D5 due_soon: "appears on the coordinator's booking list"): her patients' injection and
infusion schedules due soon, due, late or critical with no future appointment, soonest due first; scoped."""

from datetime import timedelta

from django.utils import timezone

from apps.alerts.jobs import injection_watch
from apps.appointments.services import appointment_cancel
from tests.appointments.factories import make_appointment
from tests.conftest import World
from tests.factories import CareTeamFactory, PatientFactory, make_schedule
from tests.test_query_counts import count_queries

URL = "/api/v1/booking-list/"


def _due_in(patient, days: int, code: str = "denosumab"):
    return make_schedule(patient, code, starts_on=timezone.localdate() + timedelta(days=days))


def test_due_schedules_without_a_booking_soonest_first(world: World, client_for) -> None:
    later = _due_in(world.ann, 20)  # due soon (within 28 days)
    sooner = _due_in(world.ann, 3, code="zoledronic_acid")
    _due_in(world.ann, 90)  # scheduled: nothing to book yet
    make_schedule(world.ann)  # an oral bisphosphonate: never on this list
    _due_in(world.zoe, 2)  # another organisation
    injection_watch()
    rows = client_for(world.cora).get(URL).json()["results"]
    assert [(r["schedule"], r["kind"], r["injection_state"]) for r in rows] == [
        (str(sooner.id), "infusion", "due_soon"),
        (str(later.id), "injection", "due_soon"),
    ]
    assert rows[0]["book"] == f"/api/v1/patients/{world.ann.id}/appointments/"
    assert rows[0]["patient_name"] == "Ann Archer"

    # Booked: it leaves the list; cancelled: it comes back.
    appointment = make_appointment(world.ann, schedule=later)
    assert [r["schedule"] for r in client_for(world.cora).get(URL).json()["results"]] == [str(sooner.id)]
    appointment_cancel(actor=world.cora, appointment=appointment, reason="She is away")
    assert len(client_for(world.cora).get(URL).json()["results"]) == 2


def test_scoped_to_her_patients_and_staff_only(world: World, client_for) -> None:
    _due_in(world.ann, 5)
    _due_in(world.bea, 5)
    _due_in(world.zoe, 5)
    injection_watch()
    names = {
        who: sorted(r["patient_name"] for r in client_for(getattr(world, who)).get(URL).json()["results"])
        for who in ("cora", "cody", "phil", "zed")
    }
    assert names == {
        "cora": ["Ann Archer"],
        "cody": [],
        "phil": ["Ann Archer", "Bea Baker"],
        "zed": ["Zoe Zane"],
    }
    assert client_for(world.ann.user).get(URL).status_code == 403


def test_booking_list_queries_do_not_grow(world: World, client_for) -> None:
    _due_in(world.ann, 5)
    injection_watch()
    client = client_for(world.cora)
    small = count_queries(lambda: client.get(URL))
    for _ in range(8):
        patient = PatientFactory.create(organisation=world.org_a)
        CareTeamFactory.create(patient=patient, staff=world.cora)
        _due_in(patient, 6)
    injection_watch()
    assert len(client.get(URL).json()["results"]) == 9
    assert count_queries(lambda: client.get(URL)) == small <= 4
