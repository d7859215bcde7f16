"""Organisations, staff and care-team endpoints (admin and coordinators), scoped by organisation."""

import pytest

from apps.accounts.models import CareTeamAssignment, Organisation, User
from apps.accounts.services import LAST_COORDINATOR
from backend.models import AuditEvent
from backend.roles import Role
from tests.conftest import World
from tests.factories import UserFactory

CARE_TEAM = "/api/v1/care-team/"


def test_admin_creates_an_organisation(world: World, client_for) -> None:
    response = client_for(world.admin).post("/api/v1/organisations/", {"name": "East Clinic"}, format="json")
    assert response.status_code == 201
    assert Organisation.objects.filter(name="East Clinic").exists()


def test_duplicate_organisation_name_is_refused_whatever_the_case(world: World, client_for) -> None:
    response = client_for(world.admin).post("/api/v1/organisations/", {"name": "north CLINIC"}, format="json")
    assert response.status_code == 400
    assert "name" in response.json()["error"]["fields"]
    assert Organisation.objects.count() == 2


@pytest.mark.parametrize("who", ["cora", "phil"])
def test_staff_cannot_create_organisations_and_see_only_their_own(world: World, client_for, who: str) -> None:
    client = client_for(getattr(world, who))
    assert client.post("/api/v1/organisations/", {"name": "Rogue"}, format="json").status_code == 403
    assert [row["id"] for row in client.get("/api/v1/organisations/").json()] == [str(world.org_a.id)]


def test_patient_sees_no_organisations_or_staff(world: World, client_for) -> None:
    client = client_for(world.ann.user)
    assert client.get("/api/v1/organisations/").json() == []
    assert client.get("/api/v1/staff/").status_code == 403


def test_admin_creates_staff_and_staff_lists_are_per_organisation(world: World, client_for) -> None:
    created = client_for(world.admin).post(
        "/api/v1/staff/",
        {
            "email": "Rita@Example.org",
            "password": "Osteo-Protect-77",
            "role": "pharmacist",
            "organisation": str(world.org_b.id),
            "full_name": "Rita Rowe",
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    assert created.json()["email"] == "rita@example.org"
    south = {row["email"] for row in client_for(world.zed).get("/api/v1/staff/").json()}
    north = {row["email"] for row in client_for(world.cora).get("/api/v1/staff/").json()}
    assert south == {"zed@example.org", "pia@example.org", "rita@example.org"}
    assert north == {"cora@example.org", "cody@example.org", "phil@example.org"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"role": "admin"}, "role"),
        ({"role": "patient"}, "role"),
        ({"organisation": "00000000-0000-0000-0000-000000000001"}, "organisation"),
        ({"email": "cora@example.org"}, "email"),
        ({"email": "not-an-email"}, "email"),
        ({"salary": 1}, "salary"),
    ],
)
def test_bad_staff_input_is_refused(world: World, client_for, body: dict, field: str) -> None:
    payload = {
        "email": "x@example.org",
        "password": "Osteo-Protect-77",
        "role": "coordinator",
        "organisation": str(world.org_a.id),
        **body,
    }
    before = User.objects.count()
    response = client_for(world.admin).post("/api/v1/staff/", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert User.objects.count() == before


def test_coordinator_cannot_create_staff(world: World, client_for) -> None:
    response = client_for(world.cora).post(
        "/api/v1/staff/",
        {
            "email": "x@example.org",
            "password": "Osteo-Protect-77",
            "role": "coordinator",
            "organisation": str(world.org_a.id),
        },
        format="json",
    )
    assert response.status_code == 403


def test_admin_assigns_a_coordinator_and_the_patient_comes_into_scope(world: World, client_for) -> None:
    cody = client_for(world.cody)
    assert cody.get(f"/api/v1/patients/{world.bea.id}/").status_code == 404
    body = {"patient": str(world.bea.id), "staff": str(world.cody.id)}
    first = client_for(world.admin).post(CARE_TEAM, body, format="json")
    assert first.status_code == 201
    assert first.json()["self_assigned"] is False
    again = client_for(world.admin).post(CARE_TEAM, body, format="json")
    assert again.status_code == 200  # idempotent
    assert CareTeamAssignment.objects.filter(patient=world.bea, staff=world.cody).count() == 1
    assert cody.get(f"/api/v1/patients/{world.bea.id}/").status_code == 200

    assert (
        client_for(world.admin).post(CARE_TEAM, {**body, "staff": str(world.cora.id)}, format="json").status_code == 201
    )
    assert client_for(world.admin).delete(CARE_TEAM, body, format="json").status_code == 204
    assert cody.get(f"/api/v1/patients/{world.bea.id}/").status_code == 404
    assert client_for(world.admin).delete(CARE_TEAM, body, format="json").status_code == 404


@pytest.mark.parametrize(
    ("who", "patient", "staff", "status", "field"),
    [
        ("zed", "bea", "zed", 400, "patient"),  # another organisation's patient does not exist for him
        ("cora", "zoe", "cora", 400, "patient"),
        ("cora", "bea", "zed", 400, "staff"),  # staff of another organisation
        ("admin", "bea", "zed", 400, "staff"),  # even an admin cannot cross organisations in a care team
        ("cora", "bea", "ann", 400, "staff"),  # a patient is not staff
        ("phil", "bea", "phil", 403, None),  # pharmacists do not manage care teams
        ("ann", "ann", "cora", 403, None),
    ],
)
def test_care_team_refusals(world: World, client_for, who, patient, staff, status, field) -> None:
    def ident(name: str) -> str:
        value = getattr(world, name)
        return str(value.user.id if name == "ann" and name == staff else value.id)

    before = CareTeamAssignment.objects.count()
    actor = getattr(world, who)
    actor = actor.user if who == "ann" else actor
    response = client_for(actor).post(CARE_TEAM, {"patient": ident(patient), "staff": ident(staff)}, format="json")
    assert response.status_code == status, response.content
    if field:
        assert field in response.json()["error"]["fields"]
    assert CareTeamAssignment.objects.count() == before


def test_care_team_list_is_scoped(world: World, client_for) -> None:
    rows = client_for(world.zed).get(CARE_TEAM).json()
    assert {(row["patient"], row["staff"]) for row in rows} == {(str(world.zoe.id), str(world.zed.id))}


def test_unassign_with_query_parameters(world: World, client_for) -> None:
    zara = UserFactory.create(organisation=world.org_b, role=Role.COORDINATOR)
    CareTeamAssignment.objects.create(patient=world.zoe, staff=zara, assigned_by=world.admin)  # Zed is not the last
    response = client_for(world.zed).delete(f"{CARE_TEAM}?patient={world.zoe.id}&staff={world.zed.id}")
    assert response.status_code == 204
    assert not CareTeamAssignment.objects.filter(patient=world.zoe, staff=world.zed).exists()


# --- who may change a care team (issue 12, finding 10) ---------------------------------------------------------------
def team(patient) -> set[str]:
    return set(CareTeamAssignment.objects.filter(patient=patient).values_list("staff__email", flat=True))


@pytest.mark.parametrize(
    ("who", "staff"),
    [("cora", "cody"), ("cora", "phil"), ("cody", "cora")],
    ids=["coordinator_adds_a_colleague", "coordinator_adds_a_pharmacist", "unassigned_coordinator_adds_the_assigned"],
)
def test_a_coordinator_cannot_add_anyone_but_herself(world: World, client_for, who: str, staff: str) -> None:
    before = team(world.ann)
    body = {"patient": str(world.ann.id), "staff": str(getattr(world, staff).id)}
    response = client_for(getattr(world, who)).post(CARE_TEAM, body, format="json")
    assert response.status_code == 403, response.content
    assert response.json()["error"]["code"] == "permission_denied"
    assert "administrator" in response.json()["error"]["message"]
    assert team(world.ann) == before


def test_a_coordinator_cannot_remove_the_assigned_coordinator(world: World, client_for) -> None:
    # Cody adds himself (allowed, seen by Cora), then tries to push Cora out: refused, she stays.
    body = {"patient": str(world.ann.id), "staff": str(world.cora.id)}
    assert (
        client_for(world.cody).post(CARE_TEAM, {**body, "staff": str(world.cody.id)}, format="json").status_code == 201
    )
    response = client_for(world.cody).delete(CARE_TEAM, body, format="json")
    assert response.status_code == 403
    assert team(world.ann) == {"cora@example.org", "cody@example.org"}
    assert client_for(world.cora).get(f"/api/v1/patients/{world.ann.id}/").status_code == 200


def test_a_coordinators_self_assignment_is_audited_and_shown_to_the_assigned_coordinator(
    world: World, client_for
) -> None:
    response = client_for(world.cody).post(
        CARE_TEAM, {"patient": str(world.ann.id), "staff": str(world.cody.id)}, format="json"
    )
    assert response.status_code == 201
    assert client_for(world.cody).get(f"/api/v1/patients/{world.ann.id}/").status_code == 200  # now in his scope

    rows = client_for(world.cora).get(CARE_TEAM).json()  # what Cora, already assigned, sees
    his = [row for row in rows if row["staff"] == str(world.cody.id)]
    assert [(row["patient"], row["assigned_by"], row["self_assigned"]) for row in his] == [
        (str(world.ann.id), str(world.cody.id), True)
    ]
    mine = [row for row in rows if row["staff"] == str(world.cora.id)]
    assert [row["self_assigned"] for row in mine] == [False]  # the world's fixture row has no assigner
    assert AuditEvent.objects.filter(
        actor=world.cody, action="create", resource="care_team", patient_id=world.ann.id
    ).exists()


def test_the_last_coordinator_cannot_be_removed_by_anyone(world: World, client_for) -> None:
    body = {"patient": str(world.ann.id), "staff": str(world.cora.id)}
    CareTeamAssignment.objects.create(patient=world.ann, staff=world.phil, assigned_by=world.admin)  # a pharmacist
    for who in ("cora", "admin"):  # herself, or the admin
        response = client_for(getattr(world, who)).delete(CARE_TEAM, body, format="json")
        assert response.status_code == 400, response.content
        assert response.json()["error"]["fields"] == {"staff": [LAST_COORDINATOR]}
    assert team(world.ann) == {"cora@example.org", "phil@example.org"}

    # With a second coordinator she may leave (herself, on the boundary: one coordinator remains).
    assert (
        client_for(world.cody).post(CARE_TEAM, {**body, "staff": str(world.cody.id)}, format="json").status_code == 201
    )
    assert client_for(world.cora).delete(CARE_TEAM, body, format="json").status_code == 204
    assert team(world.ann) == {"cody@example.org", "phil@example.org"}


def test_an_admin_may_remove_a_pharmacist_and_a_coordinator_who_is_not_the_last(world: World, client_for) -> None:
    admin = client_for(world.admin)
    for staff in ("phil", "cody"):
        assert (
            admin.post(
                CARE_TEAM, {"patient": str(world.ann.id), "staff": str(getattr(world, staff).id)}, format="json"
            ).status_code
            == 201
        )
    for staff in ("phil", "cora"):
        body = {"patient": str(world.ann.id), "staff": str(getattr(world, staff).id)}
        assert admin.delete(CARE_TEAM, body, format="json").status_code == 204
    assert team(world.ann) == {"cody@example.org"}


def test_reading_the_care_team_list_is_audited_per_patient(world: World, client_for) -> None:
    rows = client_for(world.phil).get(CARE_TEAM).json()
    assert {row["patient"] for row in rows} == {str(world.ann.id)}
    events = AuditEvent.objects.filter(actor=world.phil, resource="care_team")
    assert [(e.action, e.patient_id, e.method) for e in events] == [("list", world.ann.id, "GET")]
