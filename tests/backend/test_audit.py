"""The audit log: who read or changed which patient's data. Written by requests, read by admins only."""

from __future__ import annotations

import pytest
from django.test import Client

from backend.models import AuditEvent
from tests.conftest import World

PATIENTS = "/api/v1/patients/"
AUDIT = "/api/v1/audit-events/"


def dxa_body(**overrides: object) -> dict[str, object]:
    return {"measured_on": "2025-01-10", "site": "lumbar_spine", "t_score": "-1.2", **overrides}


def test_a_coordinator_reading_a_patient_is_recorded(world: World, client_for) -> None:
    response = client_for(world.cora).get(f"{PATIENTS}{world.ann.id}/")
    assert response.status_code == 200

    event = AuditEvent.objects.get()
    assert event.actor_id == world.cora.id
    assert event.actor_role == "coordinator"
    assert event.patient_id == world.ann.id
    assert event.action == "read"
    assert event.resource == "patient"
    assert event.method == "GET"
    assert event.path == f"{PATIENTS}{world.ann.id}/"
    assert event.at is not None


def test_recording_a_dxa_result_is_recorded_with_its_id(world: World, client_for) -> None:
    response = client_for(world.phil).post(f"{PATIENTS}{world.ann.id}/bone-density/", dxa_body(), format="json")
    assert response.status_code == 201, response.content

    event = AuditEvent.objects.get()
    assert event.actor_id == world.phil.id
    assert event.actor_role == "pharmacist"
    assert event.patient_id == world.ann.id
    assert event.action == "create"
    assert event.resource == "bone_density"
    assert event.object_id == response.json()["id"]
    assert event.method == "POST"


def test_recording_a_lab_is_recorded_with_its_id(world: World, client_for) -> None:
    body = {"kind": "egfr", "value": "72", "unit": "mL/min/1.73m2", "measured_on": "2025-01-10"}
    response = client_for(world.cora).post(f"{PATIENTS}{world.ann.id}/labs/", body, format="json")
    assert response.status_code == 201, response.content
    event = AuditEvent.objects.get()
    assert (event.action, event.resource, event.object_id) == ("create", "lab", response.json()["id"])


def test_a_profile_change_is_recorded_as_an_update(world: World, client_for) -> None:
    response = client_for(world.cora).patch(f"{PATIENTS}{world.ann.id}/", {"smoker": "former"}, format="json")
    assert response.status_code == 200, response.content
    event = AuditEvent.objects.get()
    assert (event.actor_id, event.action, event.resource, event.patient_id) == (
        world.cora.id,
        "update",
        "patient",
        world.ann.id,
    )


def test_a_patient_reading_her_own_data_is_recorded(world: World, client_for) -> None:
    client = client_for(world.ann.user)
    assert client.get(f"{PATIENTS}{world.ann.id}/").status_code == 200
    assert client.get(f"{PATIENTS}{world.ann.id}/bone-health/").status_code == 200

    events = list(
        AuditEvent.objects.order_by("id").values_list("actor_id", "actor_role", "patient_id", "action", "resource")
    )
    assert events == [
        (world.ann.user.id, "patient", world.ann.id, "read", "patient"),
        (world.ann.user.id, "patient", world.ann.id, "read", "bone_health"),
    ]


def test_the_patient_list_records_one_event_per_patient_on_the_page(world: World, client_for) -> None:
    response = client_for(world.phil).get(PATIENTS)  # the pharmacist sees Ann and Bea
    assert response.status_code == 200
    listed = {row["id"] for row in response.json()["results"]}
    assert listed == {str(world.ann.id), str(world.bea.id)}

    events = AuditEvent.objects.all()
    assert events.count() == 2
    assert {str(e.patient_id) for e in events} == listed
    assert {(e.actor_id, e.action, e.resource) for e in events} == {(world.phil.id, "list", "patient")}


def test_the_patient_list_records_only_the_patients_on_the_page(world: World, client_for) -> None:
    response = client_for(world.admin).get(PATIENTS, {"page_size": 1})
    assert response.status_code == 200
    shown = [row["id"] for row in response.json()["results"]]
    assert len(shown) == 1
    assert response.json()["count"] == 3
    assert [str(p) for p in AuditEvent.objects.values_list("patient_id", flat=True)] == shown


def test_an_empty_patient_list_records_nothing(world: World, client_for) -> None:
    response = client_for(world.cody).get(PATIENTS)
    assert response.status_code == 200
    assert response.json()["results"] == []
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize(
    ("who", "method", "path", "body", "status"),
    [
        ("cora", "post", "bone-density/", dxa_body(t_score="12"), 400),
        (
            "cora",
            "post",
            "labs/",
            {"kind": "egfr", "value": "5000", "unit": "mL/min/1.73m2", "measured_on": "2025-01-10"},
            400,
        ),
        ("cora", "patch", "", {"timezone": "Mars/Olympus"}, 400),
        ("ann", "patch", "", {"smoker": "current"}, 400),
        ("cora", "get", "labs/?kind=cholesterol", None, 400),
        ("ann", "post", "bone-density/", dxa_body(), 403),
        ("phil", "patch", "", {"smoker": "current"}, 403),
        ("cody", "get", "", None, 404),
        ("zed", "post", "bone-density/", dxa_body(), 404),
    ],
    ids=[
        "dxa_invalid",
        "lab_invalid",
        "patch_invalid",
        "patch_refused_field",
        "lab_filter_invalid",
        "patient_posts_dxa",
        "pharmacist_patches",
        "coordinator_not_assigned",
        "other_organisation",
    ],
)
def test_a_failed_request_records_no_read_or_write(
    world: World, client_for, who: str, method: str, path: str, body: object, status: int
) -> None:
    actor = world.ann.user if who == "ann" else getattr(world, who)
    client = client_for(actor)
    url = f"{PATIENTS}{world.ann.id}/{path}"
    response = client.get(url) if method == "get" else getattr(client, method)(url, body, format="json")
    assert response.status_code == status, response.content
    if status == 404:  # a refused lookup is logged as such: the id asked for, nothing about the patient
        assert list(AuditEvent.objects.values_list("actor_id", "action", "patient_id", "object_id")) == [
            (actor.id, "denied", None, str(world.ann.id))
        ]
    else:
        assert not AuditEvent.objects.exists()


def test_a_failed_enrolment_records_nothing(world: World, client_for) -> None:
    body = {"email": "nora@example.org", "password": "12345678", "birth_date": "1962-03-04", "timezone": "UTC"}
    response = client_for(world.cora).post(PATIENTS, body, format="json")
    assert response.status_code == 400
    assert not AuditEvent.objects.exists()


def test_an_enrolment_is_recorded_as_a_create(world: World, client_for) -> None:
    body = {
        "email": "nora@example.org",
        "password": "Calcium-and-sunlight-42",
        "birth_date": "1962-03-04",
        "timezone": "UTC",
    }
    response = client_for(world.cora).post(PATIENTS, body, format="json")
    assert response.status_code == 201, response.content
    event = AuditEvent.objects.get()
    assert (str(event.patient_id), event.actor_id, event.action, event.resource) == (
        response.json()["id"],
        world.cora.id,
        "create",
        "patient",
    )


# --- reading the log ------------------------------------------------------------------------------------------


def test_admin_reads_the_events_of_one_patient_newest_first(world: World, client_for) -> None:
    client_for(world.cora).get(f"{PATIENTS}{world.ann.id}/")
    created = client_for(world.phil).post(f"{PATIENTS}{world.ann.id}/bone-density/", dxa_body(), format="json")
    client_for(world.zed).get(f"{PATIENTS}{world.zoe.id}/")  # another patient: filtered out
    assert AuditEvent.objects.count() == 3

    response = client_for(world.admin).get(AUDIT, {"patient": str(world.ann.id)})
    assert response.status_code == 200, response.content
    rows = response.json()["results"]
    assert response.json()["count"] == 2
    assert [(r["action"], r["resource"]) for r in rows] == [("create", "bone_density"), ("read", "patient")]
    newest, oldest = rows
    assert newest["actor"] == str(world.phil.id)
    assert newest["actor_role"] == "pharmacist"
    assert newest["patient_id"] == str(world.ann.id)
    assert newest["object_id"] == created.json()["id"]
    assert newest["method"] == "POST"
    assert newest["path"] == f"{PATIENTS}{world.ann.id}/bone-density/"
    assert newest["at"]
    assert oldest["actor"] == str(world.cora.id)

    # Reading the log is not itself an event about the patient.
    assert AuditEvent.objects.count() == 3


def test_admin_filters_the_log_by_actor(world: World, client_for) -> None:
    client_for(world.cora).get(f"{PATIENTS}{world.ann.id}/")
    client_for(world.phil).get(f"{PATIENTS}{world.bea.id}/")
    response = client_for(world.admin).get(AUDIT, {"actor": str(world.phil.id)})
    assert response.status_code == 200
    assert [(r["actor"], r["patient_id"]) for r in response.json()["results"]] == [
        (str(world.phil.id), str(world.bea.id))
    ]


def test_admin_bad_filter_is_400(world: World, client_for) -> None:
    response = client_for(world.admin).get(AUDIT, {"patient": "not-a-uuid"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert "patient" in response.json()["error"]["fields"]


@pytest.mark.parametrize("who", ["cora", "phil", "ann"], ids=["coordinator", "pharmacist", "patient"])
def test_only_admins_read_the_log(world: World, client_for, who: str) -> None:
    client_for(world.cora).get(f"{PATIENTS}{world.ann.id}/")
    actor = world.ann.user if who == "ann" else getattr(world, who)
    for params in ({}, {"patient": str(world.ann.id)}):
        response = client_for(actor).get(AUDIT, params)
        assert response.status_code == 403, response.content
        assert response.json()["error"]["code"] == "permission_denied"


def test_anonymous_cannot_read_the_log(world: World, api) -> None:
    assert api.get(AUDIT).status_code == 401


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_the_log_cannot_be_written_over_the_api(world: World, client_for, method: str) -> None:
    client_for(world.cora).get(f"{PATIENTS}{world.ann.id}/")
    before = list(AuditEvent.objects.values())
    response = getattr(client_for(world.admin), method)(AUDIT, {"action": "delete"}, format="json")
    assert response.status_code == 405
    assert list(AuditEvent.objects.values()) == before


# --- Django admin ---------------------------------------------------------------------------------------------


def test_django_admin_changelist_loads_and_offers_no_add(world: World, client_for) -> None:
    client_for(world.cora).get(f"{PATIENTS}{world.ann.id}/")
    event = AuditEvent.objects.get()
    browser = Client()
    browser.force_login(world.admin)

    changelist = browser.get("/admin/backend/auditevent/")
    assert changelist.status_code == 200
    assert str(world.ann.id) in changelist.content.decode()
    assert b"/admin/backend/auditevent/add/" not in changelist.content

    filtered = browser.get("/admin/backend/auditevent/", {"action": "read", "q": "cora@example.org"})
    assert filtered.status_code == 200

    assert browser.get("/admin/backend/auditevent/add/").status_code == 403
    # The detail page is view-only, and nothing can be changed or deleted through the admin.
    detail = browser.get(f"/admin/backend/auditevent/{event.pk}/change/")
    assert detail.status_code == 200
    browser.post(f"/admin/backend/auditevent/{event.pk}/change/", {"action": "delete"})
    assert browser.get(f"/admin/backend/auditevent/{event.pk}/delete/").status_code == 403
    event.refresh_from_db()
    assert event.action == "read"
    assert AuditEvent.objects.count() == 1


def test_django_admin_is_closed_to_staff_without_admin_rights(world: World) -> None:
    browser = Client()
    browser.force_login(world.cora)
    response = browser.get("/admin/backend/auditevent/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
